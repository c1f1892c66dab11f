/**
 * Test fixture: an emulated homeserver with a relay account, a room and a second user, plus a
 * factory for Matrix adapters on a temp data dir whose log lines are captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createMatrixAdapter, type MatrixAdapter } from '../../../src/adapters/matrix/index.js';
import type { AdapterStatus } from '../../../src/adapters/types.js';
import { matrixAccountSchema, type MatrixAccountConfig } from '../../../src/config/matrix.js';
import type { ChatMessage, OutboundMessage } from '../../../src/core/message.js';
import { REDACT_PATHS } from '../../../src/log/logger.js';
import { uniqueName } from '../ports.js';
import { waitFor } from '../wait-for.js';
import { startHomeserver, type MatrixHomeserver } from './index.js';

export const RELAY_PASSWORD = 'relay-secret-password';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RelayHarness {
  readonly adapter: MatrixAdapter;
  readonly received: ChatMessage[];
  readonly statuses: AdapterStatus[];
  readonly remembered: string[];
}

export class MatrixFixture {
  readonly lines: LogLine[] = [];
  readonly rawLog: string[] = [];
  readonly adapters: MatrixAdapter[] = [];
  relayUserId = '';
  aliceId = '';
  alias = '';
  roomId = '';

  private constructor(
    readonly hs: MatrixHomeserver,
    readonly dataDir: string,
  ) {}

  static async create(options: { roomPublic?: boolean } = {}): Promise<MatrixFixture> {
    const hs = await startHomeserver();
    const fixture = new MatrixFixture(hs, mkdtempSync(path.join(tmpdir(), 'kr-matrix-')));
    fixture.relayUserId = hs.registerUser(uniqueName('relay'), RELAY_PASSWORD, 'Relay Bot');
    fixture.aliceId = hs.registerUser(uniqueName('alice'), 'alice-pw', 'Alice Liddell');
    fixture.alias = `#${uniqueName('room')}:${hs.serverName}`;
    fixture.roomId = hs.createRoom({
      creator: fixture.aliceId,
      alias: fixture.alias,
      public: options.roomPublic ?? true,
    });
    return fixture;
  }

  settings(overrides: Partial<Record<keyof MatrixAccountConfig, unknown>> = {}): MatrixAccountConfig {
    return matrixAccountSchema.parse({
      homeserver: this.hs.url,
      user_id: this.relayUserId,
      password: RELAY_PASSWORD,
      sync_timeout_seconds: 5,
      retry_failed_seconds: 1,
      ...overrides,
    });
  }

  adapter(
    settings: MatrixAccountConfig,
    options: { channels?: string[]; account?: string } = {},
  ): RelayHarness {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        const text = chunk.toString('utf8');
        this.rawLog.push(text);
        for (const line of text.split('\n'))
          if (line.trim() !== '') this.lines.push(JSON.parse(line) as LogLine);
        callback();
      },
    });
    const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
    const remembered: string[] = [];
    const adapter = createMatrixAdapter(options.account ?? 'matrix.test', settings, {
      logger,
      dataDir: this.dataDir,
      channels: options.channels ?? [this.alias],
      rememberSent: (text) => remembered.push(text),
    }) as MatrixAdapter;
    const received: ChatMessage[] = [];
    const statuses: AdapterStatus[] = [];
    adapter.on('message', (message) => received.push(message));
    adapter.on('status', (status) => statuses.push(status));
    this.adapters.push(adapter);
    return { adapter, received, statuses, remembered };
  }

  async started(harness: RelayHarness): Promise<RelayHarness> {
    await harness.adapter.start();
    await waitFor(() => harness.adapter.status().state === 'connected', { what: 'Matrix adapter connected' });
    return harness;
  }

  logged(text: string | RegExp): LogLine[] {
    return this.lines.filter((line) =>
      typeof text === 'string' ? line.msg.includes(text) : text.test(line.msg),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.adapters.map((a) => a.stop(2_000)));
    await this.hs.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

let sequence = 0;
/** An outbound message as the router hands it over. */
export function outbound(
  channel: string,
  text: string,
  overrides: Partial<OutboundMessage> = {},
): OutboundMessage {
  sequence += 1;
  return {
    id: `test-${process.pid}-${sequence}-${Math.random().toString(36).slice(2)}`,
    kind: 'text',
    text,
    nick: 'bob',
    prefix: '[irc] <bob> ',
    origin: { account: 'irc.test', channel: '#test', protocol: 'irc', gateway: 'gw' },
    channel,
    timestamp: new Date(),
    ...overrides,
  };
}
