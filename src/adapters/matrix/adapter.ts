/**
 * The Matrix adapter (issue 4): one bot account in its configured rooms. Wiring and supervision
 * only; the parts live next door: session-manager (token lifecycle), client (the authenticated
 * request path and the SDK client on top of it), sync-loop, rooms, sender, inbound/outbound mapping.
 */
import type { MatrixAccountConfig } from '../../config/matrix.js';
import type { AdapterCapabilities, AdapterDetails, SendResult, WireListener } from '../../core/adapter.js';
import type { OutboundPiece } from '../../core/message.js';
import { superviseConnection, type AttemptContext, type AttemptEnd } from '../../core/supervisor.js';
import type { MediaDownload, MediaSource } from '../../media/types.js';
import { BaseAdapter } from '../base-adapter.js';
import type { AccountCursors, AdapterDeps } from '../types.js';
import { MatrixApi, type RelayClient } from './client.js';
import { MatrixE2ee } from './e2ee.js';
import { sessionFile, syncStateFile } from './files.js';
import { fillTimelineGaps } from './gap-fill.js';
import { MatrixMedia } from './media.js';
import { ReceiveEvents } from './receive.js';
import { MAX_TEXT_BYTES } from './outbound.js';
import { Rooms } from './rooms.js';
import { MatrixSender } from './sender.js';
import { MatrixAuthFailure, SessionManager } from './session-manager.js';
import { SessionStore } from './session-store.js';
import { dispatchSyncEvents } from './sync-events.js';
import { runSyncLoop, type BatchMode, type SyncProgress } from './sync-loop.js';
import { SyncStore } from './sync-store.js';
import { errorMessage } from '../../core/errors.js';
import { isObject, objectValues, eventsOf, type Json } from './json.js';

/** Waits after a failed sync or start (full jitter, core/backoff.ts). */
const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };

const FIRST_START_KEY = 'first_started_at';

/** When the account first ever started, kept in the store; set now on the very first start. */
function firstStart(cursors: AccountCursors): number {
  const kept = Number(cursors.get(FIRST_START_KEY));
  if (Number.isFinite(kept) && kept > 0) return kept;
  const now = Date.now();
  cursors.set(FIRST_START_KEY, String(now));
  return now;
}

export class MatrixAdapter extends BaseAdapter implements MediaSource {
  readonly protocol = 'matrix' as const;
  readonly capabilities: AdapterCapabilities = {
    formatting: 'html',
    maxMessageBytes: MAX_TEXT_BYTES,
    multiline: true,
    // One event at a time per room: the homeserver orders a room's events as it receives them.
    inFlight: 1,
    // m.replace, redactions and m.in_reply_to (issue 8); clients may not show a reply's original,
    // so the core keeps the mention in the text ('linked').
    edits: true,
    deletes: true,
    replies: 'linked',
  };
  private readonly abort = new AbortController();
  private readonly sessions: SessionManager;
  private readonly api: MatrixApi;
  private readonly rooms: Rooms;
  private readonly sender: MatrixSender;
  private readonly receive: ReceiveEvents;
  private readonly media: MatrixMedia;
  private client: RelayClient | undefined;
  private e2ee: MatrixE2ee | undefined;
  private syncStore: SyncStore | undefined;
  private running: Promise<void> | undefined;
  /** When this account first ever started (ms); the first sync's events before it are history. */
  private firstStartedAt = Date.now();
  /** Between the first good sync of an attempt and its end: a renewal then shows in the status. */
  private live = false;
  /** The last attempt ended on a failed sync: the next one keeps the session and the joins. */
  private resumeSync = false;
  private readonly syncProgress: SyncProgress = { mode: undefined, fatalInARow: 0 };
  /** Set while an attempt runs: ends it as `failed` (a human must act). */
  private endAttempt: ((reason: string) => void) | undefined;

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
      // Renewals while connected show in the status; before that the attempt is `connecting` anyway.
      onRenewing: (errcode) => {
        if (this.live) this.setStatus('connecting', `access token rejected (${errcode}), renewing it`);
      },
      // Shown at once, not only when the sync loop notices: the attempt ends as `failed`.
      onFailed: (reason) => {
        if (this.endAttempt !== undefined) this.endAttempt(reason);
        else this.setStatus('failed', reason);
      },
      onSession: (_session, how) => {
        if (!this.live) return; // the attempt joins the rooms itself
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
    this.receive = new ReceiveEvents({
      account,
      settings,
      api: this.api,
      rooms: this.rooms,
      log: this.log,
      messages: deps.messages,
      media: deps.media,
      ownUserId: () => this.sessions.current?.userId,
      firstStartedAt: () => this.firstStartedAt,
      emitMessage: (message) => this.emitMessage(message),
      emitDeletion: (deletion) => this.emit('deletion', deletion),
    });
    this.media = new MatrixMedia(this.api, this.log);
  }

  /**
   * MediaSource (src/media/types.ts): the file mxc://{server}/{mediaId}, streamed with this
   * account's token, for the relay's media proxy (media.ts says which endpoint).
   */
  download(server: string, mediaId: string, signal: AbortSignal): Promise<MediaDownload | undefined> {
    return this.media.download(server, mediaId, signal);
  }

  /** Password logins attempted so far (tests, metrics). */
  get loginAttempts(): number {
    return this.sessions.loginAttempts;
  }

  /** Loads the SDK (a missing crypto module with encryption on rejects here) and starts connecting. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so a loader error is a rejection, as the contract says
  async start(): Promise<void> {
    if (this.running !== undefined) return;
    this.firstStartedAt = firstStart(this.deps.cursors);
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
    this.running = superviseConnection({
      log: this.log,
      signal: this.abort.signal,
      attempt: (context) => this.connectOnce(context),
      setState: (state, reason) => this.applyStatus(state, reason),
      backoff: RECONNECT_BACKOFF,
      retryFailedMs: this.settings.retry_failed_seconds * 1000,
    });
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

  /** One attempt: session, joins, then sync until a sync fails; classifies how it ended. */
  private async connectOnce(context: AttemptContext): Promise<AttemptEnd> {
    const local = new AbortController();
    let failure: string | undefined;
    this.endAttempt = (reason) => {
      failure ??= reason;
      local.abort(new Error(reason));
    };
    try {
      const end = await this.syncOnce(context, AbortSignal.any([context.signal, local.signal]));
      if (context.signal.aborted) return { kind: 'stopped' };
      if (failure !== undefined) return this.failed(failure);
      // Only stop() ends a sync loop quietly; anything else is worth another attempt.
      return end.kind === 'stopped' ? { kind: 'transient', reason: 'the sync loop ended' } : end;
    } catch (error) {
      if (context.signal.aborted) return { kind: 'stopped' };
      if (error instanceof MatrixAuthFailure) return this.failed(error.message, error);
      if (failure !== undefined) return this.failed(failure);
      const reason = errorMessage(error);
      return { kind: 'transient', reason, err: error };
    } finally {
      this.endAttempt = undefined;
      this.live = false;
    }
  }

  /** A human must act: the next attempt starts over with a login, not a resumed sync. */
  private failed(reason: string, err?: unknown): AttemptEnd {
    this.resumeSync = false;
    return err === undefined ? { kind: 'failed', reason } : { kind: 'failed', reason, err };
  }

  private async syncOnce(context: AttemptContext, signal: AbortSignal): Promise<AttemptEnd> {
    const current = this.sessions.current;
    const resume = this.resumeSync && current !== undefined;
    this.resumeSync = false;
    const session = resume ? current : await this.sessions.establish();
    if (!resume) {
      const client = this.client;
      if (client?.crypto !== undefined && !client.crypto.isReady)
        await client.crypto.prepare(await client.getJoinedRooms());
      await this.rooms.joinAll();
      this.syncProgress.mode = undefined;
      this.syncProgress.fatalInARow = 0;
    }
    const end = await runSyncLoop({
      api: this.api,
      store: this.syncStore as SyncStore,
      log: this.log,
      userId: session.userId,
      timeoutMs: this.settings.sync_timeout_seconds * 1000,
      signal,
      progress: this.syncProgress,
      handleBatch: (response, mode, since) => this.handleBatch(response, mode, since),
      onHealthy: () => {
        this.live = true;
        context.connected();
      },
    });
    if (end.kind === 'stopped') return { kind: 'stopped' };
    // A failed sync keeps the session: the next attempt syncs on from where this one stopped.
    this.resumeSync = true;
    return {
      kind: 'transient',
      reason: end.reason,
      err: end.err,
      ...(end.retryAfterMs === undefined ? {} : { notBeforeMs: end.retryAfterMs }),
    };
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
      onMessage: (roomId: string, event: Json) => this.receive.onEvent(roomId, event, mode),
      onUndecryptable: (roomId: string) => this.log.warn({ roomId }, 'could not decrypt a Matrix message'),
    };
    await dispatchSyncEvents(response, handlers, own === undefined ? undefined : this.e2ee?.forSync(own));
  }

  /** Status page: whether the session renews itself with a refresh token (issue 10 §2). */
  details(): AdapterDetails {
    const session = this.sessions.current;
    return session === undefined ? {} : { hasRefreshToken: session.refreshToken !== undefined };
  }
}
