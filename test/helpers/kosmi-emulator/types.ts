import type { ArchiveFields } from './archive.js';
import type { Connection, EmulatedMessage, EmulatorState } from './state.js';

/** 364 days, the lifetime of both published tokens (docs/kosmi-protocol.md §6.3). */
export const DEFAULT_TOKEN_LIFETIME_S = 31_449_600;

export interface KosmiEmulatorOptions {
  /** Rooms that exist, ids as Kosmi spells them ('@movienight', or a short code). Default ['@movienight']. */
  readonly rooms?: readonly string[];
  readonly users?: readonly { email: string; password: string; displayName: string; username?: string }[];
  readonly tokenLifetimeSeconds?: number;
  /** §2 [R]: a WebSocket upgrade without the app's Origin gets HTTP 403. Default true. */
  readonly requireOrigin?: boolean;
  /** §2: replies arrive interleaved; queries and mutations answer after a random 0-maxMs delay. Default 20. */
  readonly replyJitterMs?: number;
  /** The web page shows its "Login" button. Default true. */
  readonly showLoginButton?: boolean;
  /** The page waits this long before posting the email form (a slow app). Default 0. */
  readonly loginDelayMs?: number;
  /**
   * The page's own anonymous login (§6.1) starts this late; meanwhile the "Login" button is already
   * usable. Default 0 (the token is there before the button shows). Infinity: it never happens.
   */
  readonly anonLoginDelayMs?: number;
  /** Tokens are issued as if the server's clock were this many seconds ahead (negative: behind). */
  readonly clockSkewSeconds?: number;
  /**
   * Messages carry `replyTo` (the relay's guess, §4.5 [relay: I]). false: a schema without it, so
   * a document asking for it fails validation. Default true.
   */
  readonly messageReplies?: boolean;
  /** chatArchive page size (§4.7). Default 50. */
  readonly archivePageSize?: number;
}

/** One connection_init as the emulator saw it: the presented token's jti and the verdict. */
export interface InitRecord {
  readonly jti: string | undefined;
  readonly accepted: boolean;
  /** The close code when the emulator closed the socket instead of acknowledging. */
  readonly closeCode?: number;
}

export interface KosmiEmulator {
  /** http://127.0.0.1:PORT: web_url (the page) and api_url (POST / GraphQL) alike. */
  readonly url: string;
  readonly webUrl: string;
  readonly apiUrl: string;
  readonly wsUrl: string;
  readonly logins: { anon: number; email: number; emailRefused: number };
  /** Every connection_init in arrival order (tests assert a rejected token is never presented again). */
  readonly inits: InitRecord[];
  /** The next `count` connection_inits are answered by closing the socket with `code` (§9: close during init). */
  closeNextInits(code: number, count?: number): void;
  readonly state: EmulatorState;
  /** Posts as a named (created on demand) user, as if typed in the web app; `replyTo`: a message id it answers. */
  postAs(roomId: string, name: string, body: string, replyTo?: string): EmulatedMessage;
  /** Room messages, optionally only those of one user id (the relay's: pass its sub). */
  messages(roomId: string, userId?: string): EmulatedMessage[];
  /** Connections that are authenticated, joined `roomId` and subscribed to its newMessage. */
  listeners(roomId: string): Connection[];
  connections(): Connection[];
  issueToken(sub: string, lifetimeSeconds?: number): Promise<string>;
  /** Terminates every socket without a close frame (the client sees 1006). Returns how many. */
  dropAllSockets(): number;
  /** Stops reading every socket: no pongs, no replies, no close (a silent dead peer). */
  freezeSockets(): void;
  /** Revokes every token issued so far; open connections are closed with 4403 when asked to. */
  revokeAllTokens(options?: { closeConnections?: boolean }): void;
  /** While on, every connection_init is refused with 4403, whatever the token. */
  rejectAllTokens(on: boolean): void;
  setTokenLifetime(seconds: number): void;
  setShowLoginButton(show: boolean): void;
  setLoginDelayMs(ms: number): void;
  setAnonLoginDelayMs(ms: number): void;
  setClockSkew(seconds: number): void;
  /** Pushes a newMessage event of any shape to the room's subscribers (malformed-frame tests). */
  injectRaw(roomId: string, newMessage: unknown): void;
  /** Sends roomDisconnect to every subscriber of the room. */
  disconnectRoom(roomId: string): void;
  /** chatArchive leaves out message ids or times from now on ('full' again to stop). */
  setArchiveFields(fields: ArchiveFields): void;
  /** While on, SendMessage2 is refused at validation (an unknown-argument error), as an old server would. */
  rejectSendMessage2(on: boolean): void;
  /** Ends every newMessage subscription of the room: a `complete` frame, or an `error` frame. */
  endMessageSubscriptions(roomId: string, how: 'complete' | 'error'): number;
  /** Writes `text` as one WebSocket frame to every authenticated connection (malformed or huge frames). */
  sendRawFrame(text: string): number;
  /** How many chatArchive queries were answered. */
  readonly archiveQueries: { count: number };
  close(): Promise<void>;
}
