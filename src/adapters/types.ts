import type { Logger } from 'pino';
import type { MediaLinks } from '../media/types.js';

/** Small per-account values the store keeps across restarts (inbound positions, first start). */
export interface AccountCursors {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** What app.ts hands every adapter factory. The contract itself lives in core/adapter.ts. */
export interface AdapterDeps {
  readonly logger: Logger;
  readonly dataDir: string;
  /** Channels to join, from the gateways that name this account. */
  readonly channels: readonly string[];
  readonly cursors: AccountCursors;
  /** The message map, read-only, for this account. */
  readonly messages: MessageLookup;
  /** Links that open a file without an account (general.public_url); undefined when that is off. */
  readonly media?: MediaLinks;
}

export interface MessageLookup {
  /**
   * Whether the map knows the message with this id on this account (relayed from it, or one of
   * the relay's copies there). Matrix fetches a reply's original only when it does not.
   */
  knows(networkId: string): boolean;
}
