import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { integer, optionalText, text, transaction } from './sql.js';
import type {
  CopyRecord,
  EchoRecord,
  MappedMessage,
  MessageCopy,
  MessageRecord,
  PieceRecord,
  StoredPiece,
} from './types.js';

/**
 * The SQL, and only the SQL: every statement the store runs, prepared once per connection. Writes
 * are idempotent (INSERT OR IGNORE, upserts), so replaying a journal of failed writes can never
 * hit a constraint.
 */
export class Queries {
  readonly #db: DatabaseSync;
  readonly #s: Record<
    | 'addPiece'
    | 'removePiece'
    | 'pendingPieces'
    | 'recordMessage'
    | 'recordCopy'
    | 'reviseMessage'
    | 'sourceByNetworkId'
    | 'copyByNetworkId'
    | 'message'
    | 'copiesOf'
    | 'pruneCopies'
    | 'pruneMessages'
    | 'getCursor'
    | 'setCursor'
    | 'addEcho'
    | 'deleteExpiredEchoes'
    | 'liveEchoes'
    | 'getSecret'
    | 'setSecret',
    StatementSync
  >;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#s = {
      addPiece: p(
        `INSERT OR IGNORE INTO outbox (id, message_id, account, channel, enqueued_at, payload)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      removePiece: p('DELETE FROM outbox WHERE id = ?'),
      pendingPieces: p(
        'SELECT seq, id, message_id, account, channel, enqueued_at, payload FROM outbox ORDER BY seq',
      ),
      recordMessage: p(
        `INSERT OR IGNORE INTO messages (message_id, account, channel, network_id, nick, text, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      reviseMessage: p('UPDATE messages SET text = ? WHERE message_id = ?'),
      recordCopy: p(
        `INSERT OR IGNORE INTO copies (account, network_id, message_id, channel, piece_index, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      sourceByNetworkId: p(
        `SELECT message_id FROM messages WHERE account = ? AND network_id = ? AND network_id IS NOT NULL LIMIT 1`,
      ),
      copyByNetworkId: p('SELECT message_id FROM copies WHERE account = ? AND network_id = ?'),
      message: p(
        'SELECT message_id, account, channel, network_id, nick, text, created_at FROM messages WHERE message_id = ?',
      ),
      copiesOf: p(
        'SELECT account, channel, network_id, piece_index FROM copies WHERE message_id = ? ORDER BY piece_index, account, network_id',
      ),
      pruneCopies: p(
        `DELETE FROM copies WHERE created_at < ?
           OR message_id IN (SELECT message_id FROM messages WHERE created_at < ?)`,
      ),
      pruneMessages: p('DELETE FROM messages WHERE created_at < ?'),
      getCursor: p('SELECT value FROM cursors WHERE account = ? AND key = ?'),
      setCursor: p(
        `INSERT INTO cursors (account, key, value) VALUES (?, ?, ?)
         ON CONFLICT (account, key) DO UPDATE SET value = excluded.value`,
      ),
      addEcho: p('INSERT INTO echoes (text, expires_at) VALUES (?, ?)'),
      deleteExpiredEchoes: p('DELETE FROM echoes WHERE expires_at <= ?'),
      liveEchoes: p('SELECT text, expires_at FROM echoes WHERE expires_at > ? ORDER BY id'),
      getSecret: p('SELECT value FROM secrets WHERE name = ?'),
      setSecret: p('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
    };
  }

  addPieces(pieces: readonly PieceRecord[]): void {
    transaction(this.#db, () => {
      for (const piece of pieces) {
        this.#s.addPiece.run(
          piece.id,
          piece.messageId,
          piece.account,
          piece.channel,
          piece.enqueuedAt,
          piece.payload,
        );
      }
    });
  }

  removePieces(ids: readonly string[]): void {
    transaction(this.#db, () => {
      for (const id of ids) this.#s.removePiece.run(id);
    });
  }

  pendingPieces(): StoredPiece[] {
    return this.#s.pendingPieces.all().map((row) => ({
      seq: integer(row, 'seq'),
      id: text(row, 'id'),
      messageId: text(row, 'message_id'),
      account: text(row, 'account'),
      channel: text(row, 'channel'),
      enqueuedAt: integer(row, 'enqueued_at'),
      payload: text(row, 'payload'),
    }));
  }

  recordMessage(m: MessageRecord): void {
    this.#s.recordMessage.run(
      m.messageId,
      m.account,
      m.channel,
      m.networkId ?? null,
      m.nick,
      m.text,
      m.createdAt,
    );
  }

  reviseMessage(messageId: string, text: string): void {
    this.#s.reviseMessage.run(text, messageId);
  }

  recordCopy(c: CopyRecord): void {
    this.#s.recordCopy.run(c.account, c.networkId, c.messageId, c.channel, c.pieceIndex, c.createdAt);
  }

  /** The message whose source id on `account` is `networkId`. */
  sourceId(account: string, networkId: string): string | undefined {
    const row = this.#s.sourceByNetworkId.get(account, networkId);
    return row === undefined ? undefined : text(row, 'message_id');
  }

  /** The message that has a copy with id `networkId` on `account`. */
  copyOwnerId(account: string, networkId: string): string | undefined {
    const row = this.#s.copyByNetworkId.get(account, networkId);
    return row === undefined ? undefined : text(row, 'message_id');
  }

  message(messageId: string): Omit<MappedMessage, 'copies'> | undefined {
    const row = this.#s.message.get(messageId);
    if (row === undefined) return undefined;
    const networkId = optionalText(row, 'network_id');
    return {
      messageId: text(row, 'message_id'),
      account: text(row, 'account'),
      channel: text(row, 'channel'),
      ...(networkId === undefined ? {} : { networkId }),
      nick: text(row, 'nick'),
      text: text(row, 'text'),
      createdAt: integer(row, 'created_at'),
    };
  }

  copiesOf(messageId: string): MessageCopy[] {
    return this.#s.copiesOf.all(messageId).map((row) => ({
      account: text(row, 'account'),
      channel: text(row, 'channel'),
      networkId: text(row, 'network_id'),
      pieceIndex: integer(row, 'piece_index'),
    }));
  }

  pruneMessageMap(olderThan: number): number {
    return transaction(this.#db, () => {
      const copies = this.#s.pruneCopies.run(olderThan, olderThan).changes;
      const messages = this.#s.pruneMessages.run(olderThan).changes;
      return Number(copies) + Number(messages);
    });
  }

  getCursor(account: string, key: string): string | undefined {
    const row = this.#s.getCursor.get(account, key);
    return row === undefined ? undefined : text(row, 'value');
  }

  setCursor(account: string, key: string, value: string): void {
    this.#s.setCursor.run(account, key, value);
  }

  addEcho(echo: EchoRecord): void {
    this.#s.addEcho.run(echo.text, echo.expiresAt);
  }

  deleteExpiredEchoes(now: number): void {
    this.#s.deleteExpiredEchoes.run(now);
  }

  liveEchoes(now: number): EchoRecord[] {
    return this.#s.liveEchoes
      .all(now)
      .map((row) => ({ text: text(row, 'text'), expiresAt: integer(row, 'expires_at') }));
  }

  getSecret(name: string): string | undefined {
    const row = this.#s.getSecret.get(name);
    return row === undefined ? undefined : text(row, 'value');
  }

  setSecret(name: string, value: string): void {
    this.#s.setSecret.run(name, value);
  }
}
