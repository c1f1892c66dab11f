import type { MapEntry } from '../../src/core/conversation.js';
import type { LedgerStore, PieceRecord } from '../../src/core/ledger.js';

/** An in-memory LedgerStore (our interface), for core and adapter tests without a database. */
export class MemoryLedger implements LedgerStore {
  durable = true;
  readonly pieces = new Map<string, PieceRecord>();
  readonly messages: Parameters<LedgerStore['recordMessage']>[0][] = [];
  readonly copies: Parameters<LedgerStore['recordCopy']>[0][] = [];
  readonly echoes: { text: string; expiresAt: number }[] = [];

  addPieces(pieces: readonly PieceRecord[]): void {
    for (const piece of pieces) this.pieces.set(piece.id, piece);
  }

  removePieces(ids: readonly string[]): void {
    for (const id of ids) this.pieces.delete(id);
  }

  pendingPieces(): readonly PieceRecord[] {
    return [...this.pieces.values()];
  }

  recordMessage(message: Parameters<LedgerStore['recordMessage']>[0]): void {
    this.messages.push(message);
  }

  recordCopy(copy: Parameters<LedgerStore['recordCopy']>[0]): void {
    this.copies.push(copy);
  }

  findByNetworkId(account: string, networkId: string): MapEntry | undefined {
    const messageId =
      this.messages.find((m) => m.account === account && m.networkId === networkId)?.messageId ??
      this.copies.find((c) => c.account === account && c.networkId === networkId)?.messageId;
    const message = this.messages.find((m) => m.messageId === messageId);
    if (message === undefined) return undefined;
    const copies = this.copies
      .filter((c) => c.messageId === message.messageId)
      .map(({ account: a, channel, networkId: id, pieceIndex }) => ({
        account: a,
        channel,
        networkId: id,
        pieceIndex,
      }));
    return { ...message, copies };
  }

  reviseMessage(messageId: string, text: string): void {
    const index = this.messages.findIndex((m) => m.messageId === messageId);
    const message = this.messages[index];
    if (message !== undefined) this.messages[index] = { ...message, text };
  }

  hasSource(account: string, networkId: string): boolean {
    return this.messages.some((m) => m.account === account && m.networkId === networkId);
  }

  pruneMessageMap(olderThan: number): number {
    const before = this.messages.length;
    this.messages.splice(0, this.messages.length, ...this.messages.filter((m) => m.createdAt >= olderThan));
    return before - this.messages.length;
  }

  addEcho(text: string, expiresAt: number): void {
    this.echoes.push({ text, expiresAt });
  }

  liveEchoes(now: number): { text: string; expiresAt: number }[] {
    return this.echoes.filter((e) => e.expiresAt >= now);
  }
}
