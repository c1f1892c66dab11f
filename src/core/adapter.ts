/**
 * The one adapter contract (house style: matterbridge's four verbs, typed). The core owns it and
 * talks to every network through it only; adapters implement it.
 */
import type { ChatDeletion, ChatMessage, OutboundPiece, Protocol } from './message.js';

export type AdapterState = 'connecting' | 'connected' | 'disconnected' | 'failed';

export interface AdapterStatus {
  readonly state: AdapterState;
  readonly since: Date;
  /** Why the adapter is in this state (disconnect reason, auth error); never a secret. */
  readonly reason?: string;
}

/** What the core needs to know to split and pace messages for a network (core/pieces.ts). */
export interface AdapterCapabilities {
  /** The markup the network shows: 'irc' (mIRC codes), 'html' (Matrix), 'plain'. */
  readonly formatting: 'irc' | 'html' | 'plain';
  /** Longest piece, prefix included, in UTF-8 bytes; the core splits every message to fit it. */
  readonly maxMessageBytes: number;
  /** False: every line of a message becomes a piece of its own (IRC has no multi-line message). */
  readonly multiline: boolean;
  /** Most pieces one message may become; the rest is cut and the last piece ends with cutMarker. */
  readonly maxPieces?: number;
  readonly cutMarker?: string;
  /**
   * Pieces the core may hand over before the first of them is confirmed. The adapter writes them
   * in call order; 1 means strictly one at a time.
   */
  readonly inFlight: number;
  /** Edits applied in place: the adapter sends pieces with `replaces` (Matrix m.replace). */
  readonly edits: boolean;
  /** Deletions: the adapter removes its own message for a piece with `redacts` (Matrix redaction). */
  readonly deletes?: boolean;
  /**
   * Replies to a message the network has an id for (piece.replyTo). 'native': the network shows
   * the original with the reply (Kosmi), so the core leaves the mention out. 'linked': the reply
   * is linked but clients may not show it (Matrix m.in_reply_to, IRC +draft/reply), so the
   * mention stays in the text. Absent: the core never sets replyTo.
   */
  readonly replies?: 'native' | 'linked';
}

/** What the status page shows about an account's credentials; never a credential. */
export interface AdapterDetails {
  /** When the token in use expires (Kosmi). */
  readonly tokenExpiresAt?: Date;
  /** Whether the session holds a refresh token, so it renews without the password (Matrix). */
  readonly hasRefreshToken?: boolean;
}

export interface AdapterEvents {
  message: (message: ChatMessage) => void;
  /** A message removed on the network (Matrix redaction). */
  deletion: (deletion: ChatDeletion) => void;
  status: (status: AdapterStatus) => void;
}

/**
 * Thrown by send(). `retryable` errors keep the piece at the head of its queue and it is sent
 * again once the adapter is connected; the others are logged and the piece is dropped.
 */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  /** The network asked us to wait this long before the next try (Matrix 429 retry_after_ms). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryable: boolean; cause?: unknown; retryAfterMs?: number }) {
    super(message, { cause: options.cause });
    this.name = 'DeliveryError';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** What a confirmed piece became on its network. */
export interface SendResult {
  /** The text of each line or body exactly as it went on the wire. */
  readonly wire: readonly string[];
  /** The network's id for it where there is one (Matrix event id, Kosmi message id, IRC msgid). */
  readonly networkId?: string;
}

/**
 * Called by the adapter with each line or body the moment it puts it on the wire, before the
 * network confirms it: another relay account in the same channel can read it back before the
 * confirmation arrives, and the core must already know it is ours (echo memory).
 */
export type WireListener = (text: string) => void;

export interface ChatAdapter {
  /** 'irc.libera', 'kosmi.main', ... */
  readonly account: string;
  readonly protocol: Protocol;
  readonly capabilities: AdapterCapabilities;
  /** The channels this adapter must join (from the gateways). */
  readonly channels: readonly string[];
  /**
   * Begins connecting and returns without waiting for the connection: a network that is down
   * must not stop the daemon from starting. Rejects only on a fatal local error (bad setup).
   * Reconnects by itself until stop().
   */
  start(): Promise<void>;
  /** Closes within deadlineMs (QUIT on IRC, close frames); never reconnects afterwards. */
  stop(deadlineMs: number): Promise<void>;
  /**
   * Delivers one piece. Resolves once the destination confirmed it (IRC: a PONG after the line;
   * Matrix: the event id; Kosmi: the mutation's ok). Idempotent on piece.id: a piece already
   * confirmed, or on its way, is not sent again. Throws DeliveryError.
   */
  send(piece: OutboundPiece, onWire: WireListener): Promise<SendResult>;
  status(): AdapterStatus;
  /** Optional: credential facts for the status page. */
  details?(): AdapterDetails;
  /**
   * Optional (SIGHUP reload): takes the account's new settings and channels on the running
   * connection (IRC: ignore lists, JOIN/PART). Returns false, changing nothing, when they need a
   * new connection; the app then stops this adapter and starts a new one. The settings are those
   * of the protocol the adapter was created for (the app passes its own account's section).
   */
  reconfigure?(settings: object, channels: readonly string[]): boolean;
  on<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this;
  off<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this;
}
