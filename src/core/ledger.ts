/**
 * What the core needs from the store (src/store implements it; the core never sees SQL). Writes
 * never throw: a store that cannot write keeps them in memory and says so (`durable`).
 */
import type { MapEntry } from './conversation.js';

/** Characters of a message's text the map keeps (a reply quotes at most 80 of them). */
export const TEXT_KEPT_CHARS = 200;

export interface PieceRecord {
  /** `<outbound id>.<index>` */
  readonly id: string;
  readonly messageId: string;
  readonly account: string;
  readonly channel: string;
  readonly enqueuedAt: number;
  /** The OutboundPiece as JSON. */
  readonly payload: string;
}

export interface LedgerStore {
  readonly durable: boolean;
  addPieces(pieces: readonly PieceRecord[]): void;
  removePieces(ids: readonly string[]): void;
  /** Every piece not yet confirmed, oldest first. */
  pendingPieces(): readonly PieceRecord[];
  /** A relayed message as its source network has it (the map keeps the start of its text). */
  recordMessage(message: Omit<MapEntry, 'copies'>): void;
  recordCopy(copy: {
    messageId: string;
    account: string;
    channel: string;
    networkId: string;
    pieceIndex: number;
    createdAt: number;
  }): void;
  /** The message whose source id, or one of whose copies' ids, on `account` is `networkId`. */
  findByNetworkId(account: string, networkId: string): MapEntry | undefined;
  /** A message's text after an edit. */
  reviseMessage(messageId: string, text: string): void;
  /** Whether a message with this id on this account was relayed already (read again after a restart). */
  hasSource(account: string, networkId: string): boolean;
  pruneMessageMap(olderThan: number): number;
  addEcho(text: string, expiresAt: number): void;
  liveEchoes(now: number): { text: string; expiresAt: number }[];
}
