/**
 * What the core needs from the store (src/store implements it; the core never sees SQL). Writes
 * never throw: a store that cannot write keeps them in memory and says so (`durable`).
 */
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
  recordMessage(message: {
    messageId: string;
    account: string;
    channel: string;
    networkId?: string;
    nick: string;
    text: string;
    createdAt: number;
  }): void;
  recordCopy(copy: {
    messageId: string;
    account: string;
    channel: string;
    networkId: string;
    pieceIndex: number;
    createdAt: number;
  }): void;
  /** Whether a message with this id on this account was relayed already (read again after a restart). */
  hasSource(account: string, networkId: string): boolean;
  pruneMessageMap(olderThan: number): number;
  addEcho(text: string, expiresAt: number): void;
  liveEchoes(now: number): { text: string; expiresAt: number }[];
}
