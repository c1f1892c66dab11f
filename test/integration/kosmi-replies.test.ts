import { afterEach, describe, expect, it } from 'vitest';
import { createKosmiAdapter } from '../../src/adapters/kosmi/index.js';
import type { ChatAdapter } from '../../src/core/adapter.js';
import type { ChatMessage } from '../../src/core/message.js';
import { FROM_IRC, sendText } from '../helpers/pieces.js';
import {
  startKosmiEmulator,
  type KosmiEmulator,
  type KosmiEmulatorOptions,
} from '../helpers/kosmi-emulator/index.js';
import { kosmiSettings, tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryCursors, memoryMessages } from '../helpers/memory-cursors.js';
import { memoryLogger, type MemoryLogger } from '../helpers/memory-logger.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Issue 8 §1: replies from and into Kosmi. Incoming, a message's `replyTo` (docs/kosmi-protocol.md
 * §4.5, the relay's guess) becomes ChatMessage.replyTo; outgoing, piece.replyTo goes out as
 * SendMessage2's `replyToMessageId` (§4.6), and the relay's message id comes from its echo.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Side {
  readonly adapter: ChatAdapter;
  readonly received: ChatMessage[];
  readonly log: MemoryLogger;
}

async function setup(options: KosmiEmulatorOptions = {}): Promise<{
  room: string;
  emulator: KosmiEmulator;
  connect(settings?: Record<string, unknown>): Promise<Side>;
}> {
  const room = `@${uniqueName('replies')}`;
  const emulator = await startKosmiEmulator({ rooms: [room], ...options });
  cleanups.push(() => emulator.close());
  return {
    room,
    emulator,
    async connect(settings = {}) {
      const log = memoryLogger();
      const received: ChatMessage[] = [];
      const adapter = createKosmiAdapter(`kosmi.${uniqueName('acct')}`, kosmiSettings(emulator, settings), {
        logger: log.logger,
        dataDir: tempDataDir(),
        channels: [room],
        cursors: memoryCursors(),
        messages: memoryMessages(),
      });
      adapter.on('message', (m) => received.push(m));
      cleanups.push(() => adapter.stop(2_000));
      const before = emulator.listeners(room).length;
      await adapter.start();
      await waitFor(
        () => adapter.status().state === 'connected' && emulator.listeners(room).length === before + 1,
        { what: 'adapter connected and subscribed' },
      );
      return { adapter, received, log };
    },
  };
}

/**
 * A newMessage `next` frame written straight to the room's subscribers, past the emulator's
 * schema: the shapes a Kosmi whose reply link differs from the relay's guess could send.
 */
function nextFrame(emulator: KosmiEmulator, room: string, newMessage: unknown): void {
  for (const connection of emulator.connections())
    for (const [id, subscribed] of connection.messageSubscriptions)
      if (subscribed === room)
        connection.socket.send(JSON.stringify({ id, type: 'next', payload: { data: { newMessage } } }));
}

const warned = (log: MemoryLogger, msg: string): number =>
  log.lines.filter((l) => l.level === 40 && l.msg === msg).length;

describe('replies from Kosmi (§4.5)', () => {
  it('a reply carries the original’s Kosmi id, author and text; an unknown original only its id', async () => {
    const t = await setup();
    const side = await t.connect();
    const original = t.emulator.postAs(t.room, 'alice', 'movie at eight?');
    const reply = t.emulator.postAs(t.room, 'carol', 'yes, at nine', original.id);
    const stray = t.emulator.postAs(t.room, 'carol', 'to something gone', 'no-such-message');
    await waitFor(() => side.received.length === 3, { what: 'three messages relayed' });

    const [first, second, third] = side.received;
    expect(first?.networkId).toBe(original.id);
    expect(first?.replyTo).toBeUndefined();
    expect(second?.networkId).toBe(reply.id);
    expect(second?.replyTo).toEqual({ networkId: original.id, nick: 'alice', text: 'movie at eight?' });
    expect(third?.networkId).toBe(stray.id);
    expect(third?.replyTo).toEqual({ networkId: 'no-such-message' });
  });

  it('a reply link of unexpected shape is ignored: the message is still relayed, with a warning', async () => {
    const t = await setup();
    const side = await t.connect();
    const user = { id: 'u-dave', displayName: 'dave' };
    const shapes: unknown[] = [
      {},
      { id: '' },
      { id: { nested: true } },
      { id: 'x', body: 42 },
      { id: 'x', user: { displayName: 'no id' } },
      [1, 2],
      true,
      '',
    ];
    shapes.forEach((replyTo, i) =>
      nextFrame(t.emulator, t.room, { id: `bad-${i}`, body: `odd ${i}`, time: 1, user, replyTo }),
    );
    // A bare id is read as the id of the original.
    nextFrame(t.emulator, t.room, { id: 'bare', body: 'bare id', time: 1, user, replyTo: 'orig-1' });
    await waitFor(() => side.received.length === shapes.length + 1, { what: 'every message relayed' });

    expect(side.received.map((m) => m.text)).toEqual([...shapes.map((_, i) => `odd ${i}`), 'bare id']);
    expect(side.received.slice(0, shapes.length).every((m) => m.replyTo === undefined)).toBe(true);
    expect(side.received.at(-1)?.replyTo).toEqual({ networkId: 'orig-1' });
    expect(
      warned(side.log, 'ignored a reply link of unexpected shape; relaying the message without it'),
    ).toBe(shapes.length);
    expect(side.adapter.status().state).toBe('connected');
  });

  it('a Kosmi without replyTo refuses it at validation: messages and backfill go on without the link', async () => {
    const t = await setup({ messageReplies: false });
    const side = await t.connect();
    t.emulator.postAs(t.room, 'alice', 'still arrives');
    await waitFor(() => side.received.some((m) => m.text === 'still arrives'), { what: 'relayed' });
    expect(side.received[0]?.replyTo).toBeUndefined();
    expect(side.adapter.status().state).toBe('connected');
    const refusal =
      'Kosmi refused the replyTo field; reading messages without their reply link on this connection';
    expect(warned(side.log, refusal)).toBe(1);
    expect(
      warned(side.log, 'cannot backfill this room from the chat archive; relaying live messages only'),
    ).toBe(0);
    expect(warned(side.log, 'backfill failed; messages posted while away may be missing')).toBe(0);
  });
});

describe('replies into Kosmi (§4.6)', () => {
  it('declares native replies; a piece with replyTo goes out with replyToMessageId and others see the reply', async () => {
    const t = await setup();
    const relay = await t.connect();
    const watcher = await t.connect();
    expect(relay.adapter.capabilities.replies).toBe('native');

    const original = t.emulator.postAs(t.room, 'alice', 'movie at eight?');
    const [result] = await sendText(relay.adapter, t.room, 'yes, at nine', {
      ...FROM_IRC,
      replyTo: original.id,
    });
    const [plain] = await sendText(relay.adapter, t.room, 'and popcorn', FROM_IRC);

    const stored = t.emulator.messages(t.room);
    const sentReply = stored.find((m) => m.body === '[irc] <bob> yes, at nine');
    const sentPlain = stored.find((m) => m.body === '[irc] <bob> and popcorn');
    expect(sentReply?.replyTo?.id).toBe(original.id);
    expect(sentPlain?.replyTo).toBeNull();
    // SendResult.networkId: the Kosmi id of the relay's own message, so the core can map it.
    expect(result?.networkId).toBe(sentReply?.id);
    expect(plain?.networkId).toBe(sentPlain?.id);

    // Another member of the room sees the relay's message as a reply to alice's.
    await waitFor(() => watcher.received.length === 3, { what: 'the watcher saw all three' });
    expect(watcher.received[1]).toMatchObject({
      text: '[irc] <bob> yes, at nine',
      networkId: sentReply?.id,
      replyTo: { networkId: original.id, nick: 'alice', text: 'movie at eight?' },
    });
    expect(watcher.received[2]?.replyTo).toBeUndefined();
    // The relay never relays its own messages back (§10).
    expect(relay.received.map((m) => m.text)).toEqual(['movie at eight?']);
  });

  it('SendMessage (v1) has no reply argument: the text goes alone; configured v1 declares no replies', async () => {
    const t = await setup();
    t.emulator.rejectSendMessage2(true);
    const auto = await t.connect();
    const original = t.emulator.postAs(t.room, 'alice', 'first');
    await sendText(auto.adapter, t.room, 'answer', { ...FROM_IRC, replyTo: original.id });
    const answer = t.emulator.messages(t.room).find((m) => m.body === '[irc] <bob> answer');
    expect(answer).toBeDefined();
    expect(answer?.replyTo).toBeNull();

    const v1 = await t.connect({ send_operation: 'v1' });
    expect(v1.adapter.capabilities.replies).toBeUndefined();
    const v2 = await t.connect({ send_operation: 'v2' });
    expect(v2.adapter.capabilities.replies).toBe('native');
  });
});
