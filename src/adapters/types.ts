/**
 * The one adapter contract (house style: matterbridge's four verbs, typed). The core talks to
 * every network through this interface only.
 */
import type { Logger } from 'pino';
import type { ChatMessage, OutboundMessage, Protocol } from '../core/message.js';

export type AdapterState = 'connecting' | 'connected' | 'disconnected' | 'failed';

export interface AdapterStatus {
  readonly state: AdapterState;
  readonly since: Date;
  /** Why the adapter is in this state (disconnect reason, auth error); never a secret. */
  readonly reason?: string;
}

export interface AdapterCapabilities {
  /** The markup the network shows: 'irc' (mIRC codes), 'html' (Matrix), 'plain'. */
  readonly formatting: 'irc' | 'html' | 'plain';
  /** Longest single message body the adapter sends before splitting, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
  readonly edits: boolean;
}

/**
 * What the status page shows about an account's credentials (issue 10 §2); never a credential.
 */
export interface AdapterDetails {
  /** When the token in use expires (Kosmi). */
  readonly tokenExpiresAt?: Date;
  /** Whether the session holds a refresh token, so it renews without the password (Matrix). */
  readonly hasRefreshToken?: boolean;
}

export interface AdapterEvents {
  message: (message: ChatMessage) => void;
  status: (status: AdapterStatus) => void;
}

/**
 * Thrown by send(). `retryable` errors keep the message at the head of its queue and it is sent
 * again once the adapter is connected; the others are logged and the message is dropped.
 */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'DeliveryError';
    this.retryable = options.retryable;
  }
}

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
   * Delivers one message to one channel, in order. Resolves once the network has it (written to
   * the socket, acknowledged by the server). Throws DeliveryError.
   */
  send(message: OutboundMessage): Promise<void>;
  status(): AdapterStatus;
  /** Optional: credential facts for the status page. */
  details?(): AdapterDetails;
  on<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this;
  off<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this;
}

/** What app.ts hands every adapter factory. */
export interface AdapterDeps {
  readonly logger: Logger;
  readonly dataDir: string;
  /** Channels to join, from the gateways that name this account. */
  readonly channels: readonly string[];
  /**
   * Every text the adapter puts on the wire (each line or body, exactly as sent) is reported here,
   * so the core can recognise it if any account of the relay reads it back (echo suppression).
   */
  readonly rememberSent: (text: string) => void;
}
