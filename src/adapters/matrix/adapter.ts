/**
 * The Matrix adapter (issue 4): one bot account in its configured rooms. Wiring and supervision
 * only; the parts live next door: session-manager (token lifecycle), client (the authenticated
 * request path and the SDK client on top of it), sync-loop, rooms, sender, inbound/outbound mapping.
 */
import { randomUUID } from 'node:crypto';
import type { MatrixAccountConfig } from '../../config/matrix.js';
import { sleep } from '../../core/backoff.js';
import type { AdapterCapabilities, SendResult, WireListener } from '../../core/adapter.js';
import type { OutboundPiece } from '../../core/message.js';
import { BaseAdapter } from '../base-adapter.js';
import type { AdapterDeps } from '../types.js';
import { MatrixApi, type RelayClient } from './client.js';
import { MatrixE2ee } from './e2ee.js';
import { sessionFile, syncStateFile } from './files.js';
import { fillTimelineGaps } from './gap-fill.js';
import { mapRoomMessage } from './inbound.js';
import { MAX_TEXT_BYTES } from './outbound.js';
import { Rooms } from './rooms.js';
import { MatrixSender } from './sender.js';
import { MatrixAuthFailure, SessionManager } from './session-manager.js';
import { SessionStore } from './session-store.js';
import { dispatchSyncEvents } from './sync-events.js';
import { runSyncLoop, type BatchMode } from './sync-loop.js';
import { SyncStore } from './sync-store.js';

/** While failed (a human must act), login retries start at failed_retry_seconds and double up to this. */
const MAX_FAILED_RETRY_MS = 60 * 60_000;
const UNEXPECTED_ERROR_RETRY_MS = 5_000;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const objectValues = (value: unknown): [string, Json][] =>
  isObject(value) ? Object.entries(value).filter((entry): entry is [string, Json] => isObject(entry[1])) : [];
const eventsOf = (section: unknown): unknown[] =>
  isObject(section) && Array.isArray(section.events) ? section.events : [];

export class MatrixAdapter extends BaseAdapter {
  readonly protocol = 'matrix' as const;
  readonly capabilities: AdapterCapabilities = {
    formatting: 'html',
    maxMessageBytes: MAX_TEXT_BYTES,
    multiline: true,
    // One event at a time per room: the homeserver orders a room's events as it receives them.
    inFlight: 1,
    edits: true,
  };
  private readonly abort = new AbortController();
  private readonly sessions: SessionManager;
  private readonly api: MatrixApi;
  private readonly rooms: Rooms;
  private readonly sender: MatrixSender;
  private client: RelayClient | undefined;
  private e2ee: MatrixE2ee | undefined;
  private syncStore: SyncStore | undefined;
  private running: Promise<void> | undefined;
  /** True once the first joins are done: a later login joins the rooms again. */
  private joinedOnce = false;

  constructor(
    account: string,
    private readonly settings: MatrixAccountConfig,
    private readonly deps: AdapterDeps,
  ) {
    super(account, deps.channels, deps.logger);
    const signal = this.abort.signal;
    const homeserver = settings.homeserver.replace(/\/+$/, '');
    this.sessions = new SessionManager({
      accountId: account,
      settings,
      store: new SessionStore(sessionFile(deps.dataDir, account)),
      log: this.log,
      signal,
      onRenewing: (errcode) =>
        this.setStatus('connecting', `access token rejected (${errcode}), renewing it`),
      onFailed: (reason) => this.setStatus('failed', reason),
      onSession: (_session, how) => {
        if (!this.joinedOnce) return;
        if (how === 'login') void this.rooms.joinAll();
        this.setStatus('connected');
      },
    });
    this.api = new MatrixApi(homeserver, this.sessions, signal);
    this.rooms = new Rooms({
      accountId: account,
      channels: deps.channels,
      api: this.api,
      log: this.log,
      encryption: settings.encryption,
    });
    this.sender = new MatrixSender({
      api: this.api,
      rooms: this.rooms,
      log: this.log,
      signal,
      html: settings.html,
      client: () => (settings.encryption ? this.client : undefined),
    });
  }

  /** Password logins attempted so far (tests, metrics). */
  get loginAttempts(): number {
    return this.sessions.loginAttempts;
  }

  /** Loads the SDK (a missing crypto module with encryption on rejects here) and starts connecting. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so a loader error is a rejection, as the contract says
  async start(): Promise<void> {
    if (this.running !== undefined) return;
    this.syncStore = new SyncStore(syncStateFile(this.deps.dataDir, this.account), (reason) =>
      this.log.warn({ reason }, 'ignoring unreadable Matrix sync state; starting without backlog'),
    );
    // matrix-bot-sdk is loaded for end-to-end encryption only (sdk-loader.ts says why).
    this.e2ee = this.settings.encryption
      ? MatrixE2ee.load({
          account: this.account,
          dataDir: this.deps.dataDir,
          logger: this.deps.logger,
          homeserver: this.settings.homeserver,
          api: this.api,
          storage: this.syncStore,
        })
      : undefined;
    this.client = this.e2ee?.client;
    this.setStatus('connecting');
    this.running = this.supervise();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.abort.abort(new Error('stopped'));
    this.sessions.stop();
    this.rooms.stop();
    this.client?.stop();
    if (this.running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.running,
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadlineMs)))),
      ]);
      clearTimeout(timer);
    }
    this.setStatus('disconnected', 'stopped');
  }

  protected deliver(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    return this.sender.send(piece, onWire);
  }

  /** Keeps the account going: session, joins, sync; `failed` with slow retries when a human must act. */
  private async supervise(): Promise<void> {
    const signal = this.abort.signal;
    let failedDelayMs = this.settings.failed_retry_seconds * 1000;
    while (!signal.aborted) {
      try {
        if (this.status().state !== 'failed') this.setStatus('connecting');
        const session = await this.sessions.establish();
        failedDelayMs = this.settings.failed_retry_seconds * 1000;
        const client = this.client;
        if (client?.crypto !== undefined && !client.crypto.isReady)
          await client.crypto.prepare(await client.getJoinedRooms());
        await this.rooms.joinAll();
        this.joinedOnce = true;
        await runSyncLoop({
          api: this.api,
          store: this.syncStore as SyncStore,
          log: this.log,
          userId: session.userId,
          timeoutMs: this.settings.sync_timeout_seconds * 1000,
          signal,
          handleBatch: (response, mode, since) => this.handleBatch(response, mode, since),
          onHealthy: () => this.setStatus('connected'),
          onTrouble: (reason) => this.setStatus('disconnected', reason),
        });
        return;
      } catch (error) {
        if (signal.aborted) return;
        let delayMs = UNEXPECTED_ERROR_RETRY_MS;
        if (error instanceof MatrixAuthFailure) {
          this.setStatus('failed', error.message);
          this.log.warn({ retryInMs: failedDelayMs }, 'will try to log in again later');
          delayMs = failedDelayMs;
          failedDelayMs = Math.min(failedDelayMs * 2, MAX_FAILED_RETRY_MS);
        } else {
          this.log.error({ err: error }, 'Matrix adapter error, starting over');
          this.setStatus('disconnected', error instanceof Error ? error.message : String(error));
        }
        try {
          await sleep(delayMs, signal);
        } catch {
          return;
        }
      }
    }
  }

  private async handleBatch(response: Json, mode: BatchMode, since: string | undefined): Promise<void> {
    if (mode !== 'initial' && since !== undefined) {
      await fillTimelineGaps(response, {
        api: this.api,
        log: this.log,
        since,
        notBefore: mode === 'catchup' ? Date.now() - this.settings.backlog_max_age_seconds * 1000 : 0,
        wanted: (roomId) => this.rooms.channelsOf(roomId).length > 0,
      });
    }
    const rooms = isObject(response.rooms) ? response.rooms : {};
    for (const [roomId, room] of objectValues(rooms.invite))
      this.rooms.onInvite(roomId, eventsOf(room.invite_state));
    const own = this.sessions.current?.userId;
    for (const [roomId, room] of objectValues(rooms.leave)) {
      const mine = eventsOf(room.timeline).filter(
        (e): e is Json => isObject(e) && e.type === 'm.room.member' && e.state_key === own,
      );
      const last = mine.at(-1);
      const membership =
        isObject(last?.content) && typeof last.content.membership === 'string'
          ? last.content.membership
          : 'leave';
      this.rooms.onLeave(roomId, membership);
    }
    // dispatchSyncEvents hands over timeline events; the state section (names, encryption) is read here.
    for (const [roomId, room] of objectValues(rooms.join))
      for (const event of eventsOf(room.state)) this.rooms.observe(roomId, event);
    const handlers = {
      onEvent: (roomId: string, event: unknown) => this.rooms.observe(roomId, event),
      onMessage: (roomId: string, event: Json) => this.onRoomMessage(roomId, event, mode),
      onUndecryptable: (roomId: string) => this.log.warn({ roomId }, 'could not decrypt a Matrix message'),
    };
    await dispatchSyncEvents(response, handlers, own === undefined ? undefined : this.e2ee?.forSync(own));
  }

  private async onRoomMessage(roomId: string, event: unknown, mode: BatchMode): Promise<void> {
    if (!isObject(event) || typeof event.sender !== 'string' || typeof event.event_id !== 'string') return;
    if (event.sender === this.sessions.current?.userId) return; // our own message
    const channels = this.rooms.channelsOf(roomId);
    if (channels.length === 0 || mode === 'initial') return; // not a gateway room, or history from before the first start
    const ts = typeof event.origin_server_ts === 'number' ? event.origin_server_ts : Date.now();
    // unsigned.age is the server's own "how long ago", so these checks do not depend on clock skew.
    const unsigned = isObject(event.unsigned) ? event.unsigned : {};
    const ageMs = typeof unsigned.age === 'number' ? unsigned.age : Date.now() - ts;
    const joinedAt = this.rooms.historyBefore(roomId);
    if (joinedAt !== undefined && Date.now() - ageMs < joinedAt) {
      this.log.debug(
        { eventId: event.event_id },
        'not relaying history from before the relay joined the room',
      );
      return;
    }
    if (mode === 'catchup' && ageMs > this.settings.backlog_max_age_seconds * 1000) {
      this.log.debug(
        { eventId: event.event_id, ageMs },
        'not relaying backlog older than backlog_max_age_seconds',
      );
      return;
    }
    const mapped = mapRoomMessage(event.content, {
      edits: this.settings.edits,
      editMarker: this.settings.edit_marker,
      homeserver: this.settings.homeserver,
    });
    if (!mapped.relay) {
      this.log.debug({ eventId: event.event_id, why: mapped.why }, 'not relaying Matrix event');
      return;
    }
    const nick = await this.rooms.displayName(roomId, event.sender);
    for (const channel of channels) {
      this.log.debug({ eventId: event.event_id, channel }, 'received');
      this.emitMessage({
        id: randomUUID(),
        kind: mapped.kind,
        text: mapped.text,
        sender: { nick, userId: event.sender },
        source: { account: this.account, channel },
        timestamp: new Date(ts),
        ...(mapped.edited ? { edited: true } : {}),
      });
    }
  }
}
