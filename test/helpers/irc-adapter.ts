import { IrcAdapter } from '../../src/adapters/irc/adapter.js';
import type { AdapterState, WireListener } from '../../src/core/adapter.js';
import { ircAccountSchema } from '../../src/config/irc.js';
import type { ChatMessage } from '../../src/core/message.js';
import { memoryLogger } from './memory-logger.js';
import { waitFor } from './wait-for.js';
import { memoryCursors, memoryMessages } from './memory-cursors.js';

/** An IrcAdapter wired to an in-memory log and message list, for integration tests. */
export interface AdapterHarness {
  readonly adapter: IrcAdapter;
  readonly received: ChatMessage[];
  /** Every line the adapter reported on the wire (echo memory). */
  readonly remembered: string[];
  /** The WireListener that fills `remembered`, for send(). */
  readonly onWire: WireListener;
  readonly states: AdapterState[];
  /** Everything the adapter logged, as JSON lines. */
  logText(): string;
  waitForState(state: AdapterState, timeoutMs?: number): Promise<void>;
  waitForMessage(test: (m: ChatMessage) => boolean, timeoutMs?: number): Promise<ChatMessage>;
}

export function makeIrcAdapter(
  settings: Record<string, unknown>,
  channels: readonly string[],
  account = 'irc.test',
): AdapterHarness {
  const log = memoryLogger('trace');
  const logger = log.logger;
  const received: ChatMessage[] = [];
  const remembered: string[] = [];
  const states: AdapterState[] = [];
  const adapter = new IrcAdapter(account, ircAccountSchema.parse(settings), {
    logger,
    dataDir: '/nonexistent',
    channels,
    cursors: memoryCursors(),
    messages: memoryMessages(),
  });
  adapter.on('message', (m) => received.push(m));
  adapter.on('status', (s) => states.push(s.state));
  return {
    adapter,
    received,
    remembered,
    onWire: (text) => {
      remembered.push(text);
    },
    states,
    logText: log.text,
    waitForState: async (state, timeoutMs = 15_000) => {
      await waitFor(() => adapter.status().state === state, { timeoutMs, what: `state ${state}` });
    },
    waitForMessage: (test, timeoutMs = 10_000) =>
      waitFor(() => received.find(test), { timeoutMs, what: 'a relayed message' }),
  };
}
