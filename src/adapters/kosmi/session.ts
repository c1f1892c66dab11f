import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import type { Logger } from 'pino';
import {
  CURRENT_USER,
  JOIN_ROOM,
  ROOM_DISCONNECT,
  WITHOUT_REPLIES,
  WITH_REPLIES,
  operationId,
  type ReadDocuments,
} from './documents.js';
import { KosmiSender } from './sender.js';
import {
  AUTH_ERROR,
  CLOSE_BAD_RESPONSE,
  CLOSE_TOO_BIG,
  SessionError,
  checkJoin,
  parseResult,
  VALIDATION_ERROR,
  codeOf,
  describe,
  type GqlResult,
  type SessionEnd,
} from './session-end.js';
import { kosmiSocketClass } from './socket.js';
import { currentUserData, describeIssues, newMessageData, type WireMessage } from './wire.js';

export interface SessionOptions {
  readonly wsUrl: string;
  readonly webUrl: string;
  readonly userAgent: string;
  readonly appVersion: string;
  readonly token: string;
  readonly rooms: readonly string[];
  readonly channelId: string;
  readonly pingIntervalMs: number;
  readonly readTimeoutMs: number;
  /** A bigger frame closes the socket (ws maxPayload, close 1009) and the session ends. */
  readonly maxFrameBytes: number;
  /** §4.6: SendMessage2 first ("auto", falling back to v1 for this session), or one of them only. */
  readonly sendOperation: 'auto' | 'v2' | 'v1';
  readonly log: Logger;
  readonly onMessage: (roomId: string, message: WireMessage) => void;
  /** Kosmi ended a room's newMessage subscription and the session subscribed again. */
  readonly onResubscribed?: (roomId: string) => void;
  /** Called once, synchronously, when the session ends (before `ended` resolves). */
  readonly onEnd?: (end: SessionEnd) => void;
}

const CONNECT_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 20_000;
/** How long a retired session may finish the sends it has in flight. */
const RETIRE_GRACE_MS = 5_000;
/** More resubscriptions than this within RESUBSCRIBE_WINDOW_MS end the session instead (backoff). */
const MAX_RESUBSCRIBES = 5;
const RESUBSCRIBE_WINDOW_MS = 60_000;

/**
 * One connection to Kosmi, from the socket to the subscriptions (docs/kosmi-protocol.md §3.1). It never
 * reconnects: it ends once, and the adapter builds a new session (§9: state never survives a
 * reconnect). graphql-ws's own retries are off; its one reader loop dispatches replies by id, so
 * interleaved replies (§2) are handled.
 */
export class KosmiSession {
  readonly ended: Promise<SessionEnd>;
  userId: string | undefined;
  private finish!: (end: SessionEnd) => void;
  private finished: SessionEnd | undefined;
  private readonly client: Client;
  private opened = false;
  private acked = false;
  private lastError: string | undefined;
  private watchdogFired = false;
  private counter = 0;
  private oversized = false;
  private resubscribes: number[] = [];
  /** §4.5 [relay: I]: the reply link is asked for until Kosmi refuses it at validation. */
  private reads: ReadDocuments = WITH_REPLIES;
  /** Aborted when the session ends: sends stop waiting for their echo. */
  private readonly over = new AbortController();
  private readonly sender: KosmiSender;

  constructor(private readonly options: SessionOptions) {
    this.ended = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.sender = new KosmiSender({
      channelId: options.channelId,
      sendOperation: options.sendOperation,
      log: options.log,
      signal: this.over.signal,
      request: (document, variables) => this.request(document, variables),
      end: (end) => this.end(end),
    });
    const origin = new URL(options.webUrl).origin;
    this.client = createClient({
      url: options.wsUrl,
      webSocketImpl: kosmiSocketClass({
        origin,
        userAgent: options.userAgent,
        pingIntervalMs: options.pingIntervalMs,
        readTimeoutMs: options.readTimeoutMs,
        maxPayloadBytes: options.maxFrameBytes,
        onOversized: () => {
          this.oversized = true;
          options.log.warn(
            { maxFrameBytes: options.maxFrameBytes },
            'Kosmi sent a frame bigger than the limit; closing the socket',
          );
        },
        onDead: (silentMs) => {
          this.watchdogFired = true;
          options.log.warn({ silentMs }, 'nothing read from Kosmi for too long; dropping the socket');
        },
      }),
      lazy: false,
      retryAttempts: 0,
      shouldRetry: () => false,
      keepAlive: 0, // WebSocket ping frames instead, as the old relay did (§2)
      connectionAckWaitTimeout: CONNECT_TIMEOUT_MS,
      // §2: exactly these four fields. The logger redacts `payload` and `token`.
      connectionParams: () => ({
        token: options.token,
        ua: Buffer.from(options.userAgent, 'utf8').toString('base64'),
        v: options.appVersion,
        r: '',
      }),
      generateID: (payload: SubscribePayload) => operationId(payload.operationName, ++this.counter),
      onNonLazyError: () => undefined, // every end also arrives as the `closed` event below
      on: {
        opened: () => {
          this.opened = true;
        },
        connected: () => {
          this.acked = true;
        },
        error: (error) => {
          this.lastError = error instanceof Error ? error.message : 'socket error';
        },
        closed: (event) => this.onClosed(event),
      },
    });
  }

  /** Connects, learns its own user id, joins every room, subscribes. Throws SessionError. */
  async open(signal: AbortSignal): Promise<{ userId: string }> {
    const onAbort = (): void => this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // §3.1 order: currentUser, joinRoom (before any subscription), roomDisconnect, newMessage.
      // currentUser and the joins are sent back to back; their replies may interleave (§2).
      const [user, ...joins] = await Promise.all([
        this.request(CURRENT_USER, {}),
        ...this.options.rooms.map((roomId) => this.request(JOIN_ROOM, { id: roomId })),
      ]);
      const me = parseResult(currentUserData, user, 'currentUser');
      this.userId = me.currentUser.id;
      joins.forEach((result, index) => checkJoin(result, this.options.rooms[index] ?? ''));
      for (const roomId of this.options.rooms) {
        this.subscribe(ROOM_DISCONNECT, { roomId }, () =>
          this.end({ kind: 'room-disconnect', detail: `Kosmi sent roomDisconnect for ${roomId}` }),
        );
        this.subscribeMessages(roomId);
      }
      if (this.finished !== undefined) throw new SessionError(this.finished);
      return { userId: me.currentUser.id };
    } catch (error) {
      this.close();
      if (error instanceof SessionError) throw error;
      throw new SessionError(this.finished ?? { kind: 'transient', detail: describe(error) });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One page of the room's chat archive (§4.7): the `data` of the reply. Throws on errors. */
  async archive(roomId: string, cursor: string | null): Promise<unknown> {
    const reads = this.reads;
    const result = await this.request(reads.chatArchive, {
      roomId,
      channelId: this.options.channelId,
      cursor,
    });
    const errors = (result.errors ?? []).map((e) => `${e.message}${codeOf(e)}`).join('; ');
    if (errors !== '' && this.refusedReplies(reads, errors)) return this.archive(roomId, cursor);
    if (errors !== '') throw new Error(`RoomChatQuery: ${errors}`);
    return result.data;
  }

  /**
   * §4.5 [relay: I]: Kosmi refused a document asking for the guessed `replyTo` at validation: the
   * session reads messages without it from now on (true: ask again). Replies still go out (§4.6).
   */
  private refusedReplies(reads: ReadDocuments, errors: string): boolean {
    if (reads !== WITH_REPLIES || !VALIDATION_ERROR.test(errors)) return false;
    if (this.reads === WITH_REPLIES) {
      this.reads = WITHOUT_REPLIES;
      this.options.log.warn(
        { reason: errors },
        'Kosmi refused the replyTo field; reading messages without their reply link on this connection',
      );
    }
    return true;
  }

  /** sendMessage (§4.6, sender.ts): resolves with the sent message's Kosmi id when known. */
  send(roomId: string, body: string, replyTo?: string): Promise<string | undefined> {
    return this.sender.send(roomId, body, replyTo);
  }

  get isOpen(): boolean {
    return this.finished === undefined;
  }

  /** Closes now (close frame 1000); idempotent. */
  close(): void {
    this.end({ kind: 'closed-by-us', detail: 'closed by the relay' });
    this.dispose();
  }

  private dispose(): void {
    // dispose() awaits the pending connection, which rejects with the close event when the socket
    // closed during init: that rejection is the end we already handle.
    Promise.resolve(this.client.dispose()).catch(() => undefined);
  }

  /** Lets the sends in flight finish (bounded), then closes: used when a renewed session takes over. */
  async retire(): Promise<void> {
    const until = Date.now() + RETIRE_GRACE_MS;
    while (this.sender.inFlight > 0 && this.finished === undefined && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    this.close();
  }

  private request(
    document: { operationName: string; query: string },
    variables: Record<string, unknown>,
  ): Promise<GqlResult> {
    return new Promise((resolve, reject) => {
      let result: GqlResult | undefined;
      const timer = setTimeout(() => {
        cancel();
        reject(new Error(`${document.operationName}: no answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      const cancel = this.client.subscribe(
        { ...document, variables },
        {
          next: (value) => {
            result = value;
          },
          error: (error: unknown) => {
            clearTimeout(timer);
            if (Array.isArray(error)) resolve({ errors: error as GqlResult['errors'] & object });
            else
              reject(
                error instanceof Error
                  ? error
                  : new Error(this.finished?.detail ?? 'Kosmi connection closed'),
              );
          },
          complete: () => {
            clearTimeout(timer);
            if (result === undefined)
              reject(new Error(`${document.operationName}: completed without a result`));
            else resolve(result);
          },
        },
      );
    });
  }

  private subscribe(
    document: { operationName: string; query: string },
    variables: Record<string, unknown>,
    onNext: (result: GqlResult) => void,
    onEnded?: (detail: string) => void,
  ): void {
    this.client.subscribe(
      { ...document, variables },
      {
        next: onNext,
        error: (error: unknown) => {
          if (!Array.isArray(error)) return; // the socket closed: the `closed` event ends the session
          const detail = (error as { message?: string }[]).map((e) => e.message).join('; ');
          if (/ROOM_NOT_FOUND/.test(detail))
            this.end({ kind: 'fatal', detail: `${document.operationName}: ${detail}` });
          else if (AUTH_ERROR.test(detail))
            this.end({ kind: 'auth-rejected', detail: `${document.operationName}: ${detail}` });
          else if (onEnded !== undefined) onEnded(`error: ${detail}`);
          else this.end({ kind: 'transient', detail: `${document.operationName}: ${detail}` });
        },
        complete: () => {
          const detail = `Kosmi ended the ${document.operationName} subscription`;
          if (onEnded !== undefined) onEnded('complete');
          else this.end({ kind: 'transient', detail });
        },
      },
    );
  }

  /**
   * newMessage for one room. Kosmi ending it (complete, or an error frame) is answered by
   * subscribing again at once; the adapter's backfill covers the gap. A server that keeps ending
   * it ends the session instead, so the reconnect backoff applies.
   */
  private subscribeMessages(roomId: string): void {
    const reads = this.reads;
    this.subscribe(
      reads.newMessage,
      { roomId, channelId: this.options.channelId },
      (result) => this.onNewMessage(roomId, result),
      (how) => {
        // graphql-ws also completes the sinks of a closing socket: let the `closed` event run first.
        setImmediate(() => {
          if (this.finished !== undefined) return;
          if (this.refusedReplies(reads, how)) return this.subscribeMessages(roomId);
          const now = Date.now();
          this.resubscribes = [...this.resubscribes.filter((at) => now - at < RESUBSCRIBE_WINDOW_MS), now];
          if (this.resubscribes.length > MAX_RESUBSCRIBES) {
            this.end({
              kind: 'transient',
              detail: `Kosmi keeps ending the newMessage subscription (${how})`,
            });
            return;
          }
          this.options.log.warn(
            { roomId, how },
            'Kosmi ended the newMessage subscription; subscribing again',
          );
          this.subscribeMessages(roomId);
          this.options.onResubscribed?.(roomId);
        });
      },
    );
  }

  private onNewMessage(roomId: string, result: GqlResult): void {
    if (this.finished !== undefined) return; // closed: the next session's backfill reads it
    const parsed = newMessageData.safeParse(result.data);
    if (!parsed.success || (result.errors?.length ?? 0) > 0) {
      const why = parsed.success
        ? (result.errors ?? []).map((e) => e.message).join('; ')
        : describeIssues(parsed.error);
      this.options.log.warn({ roomId, why }, 'dropped a newMessage frame of unexpected shape');
      return;
    }
    const message = parsed.data.newMessage;
    // One of the relay's own: a send may be waiting for its id. It still goes on to the adapter,
    // which never relays it back (§10) but moves the room's position past it.
    if (message.user.id === this.userId && message.id !== null && message.id !== undefined)
      this.sender.echoed(roomId, message.body, String(message.id));
    this.options.onMessage(roomId, message);
  }

  private onClosed(event: unknown): void {
    const code = typeof event === 'object' && event !== null && 'code' in event ? Number(event.code) : 0;
    const reason =
      typeof event === 'object' && event !== null && 'reason' in event ? String(event.reason) : '';
    const detail = `socket closed (${code}${reason === '' ? '' : ` ${reason}`}${this.lastError === undefined ? '' : `; ${this.lastError}`})`;
    if (code === 4401 || code === 4403) this.end({ kind: 'auth-rejected', detail });
    else if (this.acked && (code === CLOSE_BAD_RESPONSE || code === CLOSE_TOO_BIG || this.oversized))
      this.end({ kind: 'protocol-error', detail: this.oversized ? `frame too big; ${detail}` : detail });
    else if (this.opened && !this.acked && !this.watchdogFired)
      this.end({ kind: 'init-closed', detail: `${detail} before connection_ack` });
    else this.end({ kind: 'transient', detail: this.watchdogFired ? `read timeout; ${detail}` : detail });
  }

  private end(end: SessionEnd): void {
    if (this.finished !== undefined) return;
    this.finished = end;
    this.over.abort();
    this.options.onEnd?.(end);
    this.finish(end);
    if (end.kind !== 'closed-by-us') this.dispose();
  }
}

export { SendOperationRejected, SessionError, type SessionEnd } from './session-end.js';
