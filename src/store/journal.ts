import type { Queries } from './queries.js';
import type {
  CopyRecord,
  EchoRecord,
  MessageCopy,
  MessageRecord,
  PieceRecord,
  StoredPiece,
} from './types.js';

/** A write the store keeps in memory, in order, while relay.db cannot take it. */
export type WriteOp =
  | { readonly kind: 'add-pieces'; readonly pieces: readonly PieceRecord[] }
  | { readonly kind: 'remove-pieces'; readonly ids: readonly string[] }
  | { readonly kind: 'record-message'; readonly message: MessageRecord }
  | { readonly kind: 'record-copy'; readonly copy: CopyRecord }
  | { readonly kind: 'revise-message'; readonly messageId: string; readonly text: string }
  | { readonly kind: 'set-cursor'; readonly account: string; readonly key: string; readonly value: string }
  | { readonly kind: 'add-echo'; readonly echo: EchoRecord }
  | { readonly kind: 'set-secret'; readonly name: string; readonly value: string };

export function applyOp(queries: Queries, op: WriteOp): void {
  switch (op.kind) {
    case 'add-pieces':
      return queries.addPieces(op.pieces);
    case 'remove-pieces':
      return queries.removePieces(op.ids);
    case 'record-message':
      return queries.recordMessage(op.message);
    case 'record-copy':
      return queries.recordCopy(op.copy);
    case 'revise-message':
      return queries.reviseMessage(op.messageId, op.text);
    case 'set-cursor':
      return queries.setCursor(op.account, op.key, op.value);
    case 'add-echo':
      return queries.addEcho(op.echo);
    case 'set-secret':
      return queries.setSecret(op.name, op.value);
    default: {
      const never: never = op;
      throw new Error(`unknown write ${String(never)}`);
    }
  }
}

/*
 * Reads while writes wait in the journal see the file as the journal will leave it, so a caller
 * never reads back less than it wrote. Each helper applies the journal with the same semantics as
 * the SQL in queries.ts (first insert wins, upserts replace).
 */

export function piecesWithJournal(
  stored: readonly StoredPiece[],
  journal: readonly WriteOp[],
): StoredPiece[] {
  const pieces = new Map(stored.map((piece) => [piece.id, piece]));
  let seq = stored.reduce((max, piece) => Math.max(max, piece.seq), 0);
  for (const op of journal) {
    if (op.kind === 'add-pieces') {
      for (const piece of op.pieces)
        if (!pieces.has(piece.id)) pieces.set(piece.id, { ...piece, seq: ++seq });
    } else if (op.kind === 'remove-pieces') {
      for (const id of op.ids) pieces.delete(id);
    }
  }
  return [...pieces.values()].sort((a, b) => a.seq - b.seq);
}

export function journalCursor(journal: readonly WriteOp[], account: string, key: string): string | undefined {
  let value: string | undefined;
  for (const op of journal) {
    if (op.kind === 'set-cursor' && op.account === account && op.key === key) value = op.value;
  }
  return value;
}

/** The message a journaled source id or copy id on `account` belongs to. */
export function journalOwnerId(
  journal: readonly WriteOp[],
  account: string,
  networkId: string,
): string | undefined {
  for (const op of journal) {
    if (
      op.kind === 'record-message' &&
      op.message.account === account &&
      op.message.networkId === networkId
    ) {
      return op.message.messageId;
    }
    if (op.kind === 'record-copy' && op.copy.account === account && op.copy.networkId === networkId) {
      return op.copy.messageId;
    }
  }
  return undefined;
}

export function journalSourceExists(
  journal: readonly WriteOp[],
  account: string,
  networkId: string,
): boolean {
  return journal.some(
    (op) =>
      op.kind === 'record-message' && op.message.account === account && op.message.networkId === networkId,
  );
}

export function journalMessage(journal: readonly WriteOp[], messageId: string): MessageRecord | undefined {
  for (const op of journal)
    if (op.kind === 'record-message' && op.message.messageId === messageId) return op.message;
  return undefined;
}

/** The text of the last journaled revision of a message (an edit), if any. */
export function journalRevision(journal: readonly WriteOp[], messageId: string): string | undefined {
  let text: string | undefined;
  for (const op of journal) if (op.kind === 'revise-message' && op.messageId === messageId) text = op.text;
  return text;
}

export function copiesWithJournal(
  stored: readonly MessageCopy[],
  journal: readonly WriteOp[],
  messageId: string,
): MessageCopy[] {
  const copies = [...stored];
  for (const op of journal) {
    if (op.kind !== 'record-copy' || op.copy.messageId !== messageId) continue;
    const { account, channel, networkId, pieceIndex } = op.copy;
    if (!copies.some((c) => c.account === account && c.networkId === networkId)) {
      copies.push({ account, channel, networkId, pieceIndex });
    }
  }
  return copies;
}

export function journalEchoes(journal: readonly WriteOp[], now: number): EchoRecord[] {
  return journal.flatMap((op) => (op.kind === 'add-echo' && op.echo.expiresAt > now ? [op.echo] : []));
}

export function journalSecret(journal: readonly WriteOp[], name: string): string | undefined {
  for (const op of journal) if (op.kind === 'set-secret' && op.name === name) return op.value;
  return undefined;
}
