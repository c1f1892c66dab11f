import type { MapEntry } from '../core/conversation.js';
import type { PieceRecord } from '../core/ledger.js';
import type { Logger } from 'pino';

export interface StoreOptions {
  /** relay.db and relay.pid live here; created 0700 when missing. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Clock for timestamps in file names and log rate limits; Date.now by default. */
  readonly now?: () => number;
  /** How often a failed or detached store retries, and how often it checks the file is still there. */
  readonly retryIntervalMs?: number;
  /** Called on every change of `durable`, after the log line that explains it. */
  readonly onDurableChange?: (durable: boolean) => void;
}

/** One outbound piece, kept until its destination confirmed it: the core's record (core/ledger.ts). */
export type { PieceRecord } from '../core/ledger.js';

/** `seq` orders pieces by insertion; for a piece not yet on disk (store not durable) it is provisional. */
export interface StoredPiece extends PieceRecord {
  readonly seq: number;
}

/**
 * A relayed message as seen on its source network: its id there when the network gives one, and
 * only the first TEXT_KEPT_CHARS characters of its text (for reply quotes and edit diffs).
 */
export type MessageRecord = Omit<MapEntry, 'copies'>;

/** One delivered copy of a relayed message on a destination. */
export interface CopyRecord {
  readonly messageId: string;
  readonly account: string;
  readonly channel: string;
  readonly networkId: string;
  readonly pieceIndex: number;
  readonly createdAt: number;
}

/** A relayed message with its copies, as the core reads it (core/conversation.ts). */
export type MappedMessage = MapEntry;
export type MessageCopy = MapEntry['copies'][number];

export interface EchoRecord {
  readonly text: string;
  readonly expiresAt: number;
}

/** Characters of a message's text kept in the message map (the core's figure). */
export { TEXT_KEPT_CHARS } from '../core/ledger.js';
