import type { KosmiAccountConfig } from '../../config/kosmi.js';
import { kosmiRoomId } from '../../config/channels.js';
import { LoginFailedError } from '../../auth/errors.js';
import type { KosmiTokenManager, TokenInfo } from '../../auth/token-manager.js';
import {
  DeliveryError,
  type AdapterCapabilities,
  type AdapterDetails,
  type SendResult,
  type WireListener,
} from '../../core/adapter.js';
import { sleep, type BackoffOptions } from '../../core/backoff.js';
import type { OutboundPiece } from '../../core/message.js';
import { superviseConnection, type AttemptContext, type AttemptEnd } from '../../core/supervisor.js';
import { TokenBucket } from '../../core/token-bucket.js';
import { BaseAdapter } from '../base-adapter.js';
import type { AdapterDeps } from '../types.js';
import { KosmiInbound } from './inbound.js';
import { KosmiSession, SessionError, type SessionEnd } from './session.js';
import { messageTime, replyOf, senderName, type WireMessage } from './wire.js';
import { DAY_MS } from '../../core/time.js';

/** A renewal that failed is tried again after this long (the current token still works). */
const RENEW_RETRY_MS = 60_000;
/** Never renew more often than this, whatever a token's lifetime (no login loop). */
const MIN_RENEW_DELAY_MS = 2_000;
/**
 * The largest WebSocket frame read from Kosmi (ws maxPayload). ws buffers a whole frame before
 * graphql-ws parses it, and a parsed frame costs many times its size: a 2 MB frame grew the process
 * by ~50 MB. A RoomChatQuery page of 50 messages of max_message_bytes is ~60 KB.
 */
const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * The Kosmi bridge: owns the reconnect loop (graphql-ws's own retries are off), the token check
 * before every connect, renewals ahead of expiry, echo dropping, splitting and throttling.
 */
export class KosmiAdapter extends BaseAdapter {
  readonly protocol = 'kosmi' as const;
  readonly capabilities: AdapterCapabilities;
  private readonly rooms = new Map<string, string>();
  private readonly stopper = new AbortController();
  private readonly backoff: BackoffOptions;
  private readonly limiter: TokenBucket;
  private readonly inbound: KosmiInbound;
  private session: KosmiSession | undefined;
  private loop: Promise<void> | undefined;
  private counter = 0;
  /** Token rejections in a row: the first renews the token at once, the second is `failed`. */
  private rejections = 0;
  /** The supervisor's attempt in progress. */
  private attempt: AttemptContext | undefined;

  constructor(
    account: string,
    private readonly settings: KosmiAccountConfig,
    private readonly deps: AdapterDeps,
    private readonly tokens: KosmiTokenManager,
  ) {
    super(account, deps.channels, deps.logger);
    // docs/kosmi-protocol.md §9: no length limit is documented, so the limit is max_message_bytes; "* "
    // in front of an action's text is kept out of it.
    this.capabilities = {
      formatting: 'plain',
      maxMessageBytes: settings.max_message_bytes - ACTION_MARK.length,
      multiline: true,
      inFlight: 1,
      // Kosmi edits and deletions are not known (§4.8): a Matrix edit arrives as a new message.
      edits: false,
      // §4.6: SendMessage2 carries replyToMessageId and Kosmi shows the original with the reply.
      // SendMessage (v1) has no such argument: configured to v1, the mention stays in the text.
      ...(settings.send_operation === 'v1' ? {} : { replies: 'native' as const }),
    };
    this.backoff = { initialMs: 1_000, maxMs: settings.reconnect_max_seconds * 1000, stableAfterMs: 60_000 };
    // docs/kosmi-protocol.md §9: no rate limit is documented, so the bridge throttles itself.
    this.limiter = new TokenBucket(settings.send_burst, settings.send_rate_per_second);
    this.inbound = new KosmiInbound({
      cursors: deps.cursors,
      log: this.log,
      maxAgeMs: settings.backlog_max_age_seconds * 1000,
      emit: (roomId, message, backfilled) => this.emitFrom(roomId, message, backfilled),
    });
    for (const channel of deps.channels) {
      const roomId = kosmiRoomId(channel);
      if (roomId === undefined) throw new Error(`${account}: "${channel}" is not a Kosmi room`);
      this.rooms.set(roomId, channel);
    }
  }

  start(): Promise<void> {
    this.loop ??= superviseConnection({
      log: this.log,
      signal: this.stopper.signal,
      attempt: (context) => this.connectOnce(context),
      setState: (state, reason) => this.applyStatus(state, reason),
      backoff: this.backoff,
      retryFailedMs: this.settings.retry_failed_seconds * 1000,
    });
    return Promise.resolve();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopper.abort(new Error('stopped'));
    this.session?.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
  }

  protected async deliver(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    const roomId = kosmiRoomId(piece.channel);
    if (roomId === undefined || !this.rooms.has(roomId)) {
      throw new DeliveryError(`${piece.channel} is not a room of ${this.account}`, { retryable: false });
    }
    try {
      await this.limiter.take(this.stopper.signal);
    } catch (error) {
      throw new DeliveryError('Kosmi adapter stopped', { retryable: true, cause: error });
    }
    const session = this.session;
    if (session === undefined || !session.isOpen || this.status().state !== 'connected') {
      throw new DeliveryError('Kosmi is not connected', { retryable: true });
    }
    const body = render(piece);
    onWire(body);
    // The id comes from the message's own echo (sent-echoes.ts); the core maps it, so a Kosmi
    // reply to the relay's copy finds the original.
    const networkId = await session.send(roomId, body, piece.replyTo);
    return { wire: [body], ...(networkId === undefined ? {} : { networkId }) };
  }

  /** One connection: token check (renewed ahead of expiry), session, then as long as it lives. */
  private async connectOnce(context: AttemptContext): Promise<AttemptEnd> {
    this.attempt = context;
    const signal = context.signal;
    let token: TokenInfo;
    try {
      token = await this.tokens.getToken(signal);
    } catch (error) {
      if (signal.aborted) return { kind: 'stopped' };
      const reason = error instanceof Error ? error.message : String(error);
      // A refused login needs a human; anything else (network, Kosmi down) heals by itself.
      return error instanceof LoginFailedError
        ? { kind: 'failed', reason, err: error }
        : { kind: 'transient', reason: `login failed: ${reason}`, err: error };
    }
    let end: SessionEnd & { token?: string };
    try {
      const session = await this.openSession(token, signal);
      this.rejections = 0;
      context.connected();
      this.backfill(session);
      end = await this.whileConnected(session, token, signal);
      this.session = undefined;
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      end = error.end;
    }
    if (signal.aborted) {
      this.session = undefined;
      return { kind: 'stopped' };
    }
    return this.classify(end, token);
  }

  /** The one place that decides retry, renew or failed for a Kosmi session that ended. */
  private async classify(ended: SessionEnd & { token?: string }, token: TokenInfo): Promise<AttemptEnd> {
    let end = ended;
    // A socket that opened and closed before connection_ack is an auth failure the first time
    // (issue 3 §2: a close during init invalidates the cache and renews the token once;
    // docs/kosmi-protocol.md §9 [I]: treat any close during init as an auth failure), so a rejected
    // token is never presented again. A socket that never opened (refused, no upgrade) is a
    // network problem: session.ts reports it as 'transient', never 'init-closed'.
    if (end.kind === 'init-closed') {
      end = { kind: 'auth-rejected', detail: `${end.detail}: taken as a token rejection` };
    }
    switch (end.kind) {
      case 'auth-rejected':
        // Never retry with a token the server rejected: drop it, renew once, then slow down.
        await this.tokens.invalidate(end.token ?? token.token);
        if (++this.rejections >= 2) {
          return {
            kind: 'failed',
            reason: `Kosmi rejected a freshly issued token too (${end.detail}). Check email/password in relay.toml, then delete ${this.tokens.cacheFile} and run "kosmi-relay kosmi-login"`,
          };
        }
        this.log.warn({ reason: end.detail }, 'Kosmi rejected the token; renewing it');
        return { kind: 'retry-now', reason: end.detail };
      case 'fatal':
        return { kind: 'failed', reason: end.detail };
      case 'protocol-error':
        // The token is fine (no login): connect again at once; the backfill covers the gap.
        this.log.warn({ reason: end.detail }, 'Kosmi broke the protocol; reconnecting at once');
        return { kind: 'retry-now', reason: end.detail };
      case 'room-disconnect':
      case 'transient':
      case 'closed-by-us':
        return { kind: 'transient', reason: end.detail };
    }
  }

  /** Stays on the live session; renews the token ahead of its window and swaps sessions (make before break). */
  private async whileConnected(
    first: KosmiSession,
    firstToken: TokenInfo,
    signal: AbortSignal,
  ): Promise<SessionEnd & { token?: string }> {
    let session = first;
    let token = firstToken;
    let renewAt = token.renewAt.getTime();
    for (;;) {
      // Checked at least daily (issue 3 §3), and exactly when the renewal is due.
      const waitMs = Math.min(DAY_MS, Math.max(MIN_RENEW_DELAY_MS, renewAt - Date.now()));
      const timer = new AbortController();
      const woke = await Promise.race([
        session.ended.then((end) => ({ end })),
        sleep(waitMs, AbortSignal.any([signal, timer.signal])).then(
          () => ({ end: undefined }),
          () => ({ end: undefined }),
        ),
      ]);
      timer.abort();
      if (woke.end !== undefined) return { ...woke.end, token: token.token };
      if (signal.aborted) return { kind: 'closed-by-us', detail: 'stopped' };
      if (Date.now() < renewAt) continue;
      this.log.info(
        { expiresAt: token.expiresAt.toISOString() },
        'renewing the Kosmi token ahead of its expiry',
      );
      let fresh: TokenInfo | undefined;
      try {
        fresh = await this.tokens.renew(signal);
        const next = await this.openSession(fresh, signal);
        const old = session;
        session = next;
        token = fresh;
        renewAt = fresh.renewAt.getTime();
        void old.retire();
        this.backfill(next);
        this.log.info('reconnected with the renewed token');
      } catch (error) {
        if (signal.aborted) return { kind: 'closed-by-us', detail: 'stopped' };
        const kind = error instanceof SessionError ? error.end.kind : undefined;
        if ((kind === 'auth-rejected' || kind === 'init-closed') && fresh !== undefined)
          await this.tokens.invalidate(fresh.token);
        renewAt = Date.now() + RENEW_RETRY_MS;
        this.log.warn({ err: error }, 'token renewal failed; keeping the current connection');
      }
    }
  }

  private async openSession(token: TokenInfo, signal: AbortSignal): Promise<KosmiSession> {
    const session = new KosmiSession({
      wsUrl: this.settings.ws_url,
      webUrl: this.settings.web_url,
      userAgent: this.settings.user_agent,
      appVersion: this.settings.app_version,
      token: token.token,
      rooms: [...this.rooms.keys()],
      channelId: this.settings.channel_id,
      pingIntervalMs: this.settings.ping_interval_seconds * 1000,
      readTimeoutMs: this.settings.read_timeout_seconds * 1000,
      maxFrameBytes: MAX_FRAME_BYTES,
      sendOperation: this.settings.send_operation,
      log: this.log,
      onMessage: (roomId, message) => this.inbound.live(roomId, message, session.userId),
      onResubscribed: (roomId) => this.backfillRoom(session, roomId),
      onEnd: (end) => {
        // The live session died: say so at once, so nobody sends into it while the attempt
        // classifies the end (the supervisor logs it, with the wait before the next attempt).
        if (this.session !== session || end.kind === 'closed-by-us') return;
        this.session = undefined;
        this.attempt?.disconnected(end.detail);
      },
    });
    await session.open(signal);
    this.session = session;
    return session;
  }

  /** After every (re)connect: what was posted while the relay was away (inbound.ts, §4.7). */
  private backfill(session: KosmiSession): void {
    for (const roomId of this.rooms.keys()) this.backfillRoom(session, roomId);
  }

  private backfillRoom(session: KosmiSession, roomId: string): void {
    // inbound.backfill never rejects: a failed fetch is logged there and live relaying goes on.
    void this.inbound.backfill(roomId, session.userId, (cursor) => session.archive(roomId, cursor));
  }

  /**
   * One message, once (KosmiInbound dedupes by Kosmi id: two sessions overlap while a renewed
   * token takes over, and a backfill may read what also came live). `networkId` = the Kosmi id,
   * so the core's store.hasSource drops one read again after a restart.
   */
  private emitFrom(roomId: string, message: WireMessage, backfilled: boolean): void {
    const channel = this.rooms.get(roomId);
    if (channel === undefined) return;
    const wireId =
      message.id === undefined || message.id === null || message.id === '' ? undefined : String(message.id);
    const id = `kosmi:${wireId ?? `local-${++this.counter}`}`;
    this.log.debug({ id, roomId, backfilled }, 'message from Kosmi');
    const replyTo = replyOf(message.replyTo);
    if (replyTo === 'malformed')
      this.log.warn(
        { id, roomId },
        'ignored a reply link of unexpected shape; relaying the message without it',
      );
    this.emitMessage({
      id,
      ...(wireId === undefined ? {} : { networkId: wireId }),
      kind: 'text',
      text: message.body,
      sender: { nick: senderName(message.user), userId: message.user.id },
      source: { account: this.account, channel },
      timestamp: messageTime(message.time),
      ...(replyTo === undefined || replyTo === 'malformed' ? {} : { replyTo }),
    });
  }

  /** Status page: when the token expires (issue 10 §2). */
  details(): AdapterDetails {
    const expiresAt = this.tokens.expiresAt;
    return expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt };
  }
}

const ACTION_MARK = '* ';

/** The body sent to Kosmi: the rendered nick prefix, then the text (Kosmi shows plain text). */
export function render(piece: OutboundPiece): string {
  switch (piece.kind) {
    case 'action':
      return `${piece.prefix}${ACTION_MARK}${piece.text}`;
    case 'notice':
    case 'text':
      // An edit's marker is already in the text: the source adapter writes it (Matrix's edit_marker).
      return `${piece.prefix}${piece.text}`;
  }
}
