/**
 * Test fixture: an emulated homeserver with a relay account, a room and a second user, plus a
 * factory for Matrix adapters on a temp data dir whose log lines are captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMatrixAdapter, type MatrixAdapter } from '../../../src/adapters/matrix/index.js';
import type { AdapterStatus, SendResult } from '../../../src/core/adapter.js';
import { matrixAccountSchema, type MatrixAccountConfig } from '../../../src/config/matrix.js';
import type { ChatMessage, OutboundPiece } from '../../../src/core/message.js';
import { FROM_IRC, piece } from '../pieces.js';
import { memoryLogger, type LogLine } from '../memory-logger.js';
import { uniqueName } from '../ports.js';
import { waitFor } from '../wait-for.js';
import { startHomeserver, type MatrixHomeserver } from './index.js';
import { memoryCursors, memoryMessages } from '../memory-cursors.js';
import type { MessageLookup } from '../../../src/adapters/types.js';
import type { MediaLinks } from '../../../src/media/types.js';

export const RELAY_PASSWORD = 'relay-secret-password';

export type { LogLine } from '../memory-logger.js';

export interface RelayHarness {
  readonly adapter: MatrixAdapter;
  readonly received: ChatMessage[];
  readonly statuses: AdapterStatus[];
  /** Every body the adapter reported on the wire (echo memory). */
  readonly remembered: string[];
  /** adapter.send with a WireListener that fills `remembered`. */
  send(piece: OutboundPiece): Promise<SendResult>;
}

export class MatrixFixture {
  /** One log for every adapter of the fixture. */
  private readonly log = memoryLogger('trace');
  readonly lines: LogLine[] = this.log.lines;
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
    options: {
      channels?: string[];
      account?: string;
      /** The message map's lookup (default: knows nothing). */
      messages?: MessageLookup;
      /** The relay's media links (general.public_url); default none. */
      media?: MediaLinks;
    } = {},
  ): RelayHarness {
    const logger = this.log.logger;
    const remembered: string[] = [];
    const adapter = createMatrixAdapter(options.account ?? 'matrix.test', settings, {
      logger,
      dataDir: this.dataDir,
      channels: options.channels ?? [this.alias],
      cursors: memoryCursors(),
      messages: options.messages ?? memoryMessages(),
      ...(options.media === undefined ? {} : { media: options.media }),
    }) as MatrixAdapter;
    const received: ChatMessage[] = [];
    const statuses: AdapterStatus[] = [];
    adapter.on('message', (message) => received.push(message));
    adapter.on('status', (status) => statuses.push(status));
    this.adapters.push(adapter);
    const onWire = (text: string): void => {
      remembered.push(text);
    };
    return { adapter, received, statuses, remembered, send: (piece) => adapter.send(piece, onWire) };
  }

  async started(harness: RelayHarness): Promise<RelayHarness> {
    await harness.adapter.start();
    await waitFor(() => harness.adapter.status().state === 'connected', { what: 'Matrix adapter connected' });
    return harness;
  }

  /** Everything logged, as written. */
  logText(): string {
    return this.log.text();
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

/** What the router hands a Matrix destination for a message from IRC. */
/** A piece from IRC as the router hands it over. */
export function outbound(
  channel: string,
  text: string,
  overrides: Partial<OutboundPiece> = {},
): OutboundPiece {
  return piece(channel, text, { ...FROM_IRC, ...overrides });
}
