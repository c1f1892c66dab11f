import path from 'node:path';
import type { Logger } from 'pino';
import type { LedgerStore } from '../core/ledger.js';
import { DB_FILE, PID_FILE, openConnection } from './connection.js';
import { DurableWriter } from './durable-writer.js';
import {
  copiesWithJournal,
  journalCursor,
  journalEchoes,
  journalMessage,
  journalRevision,
  journalOwnerId,
  journalSecret,
  journalSourceExists,
  piecesWithJournal,
  type WriteOp,
} from './journal.js';
import { removePidFile } from './pid-file.js';
import type { Queries } from './queries.js';
import {
  TEXT_KEPT_CHARS,
  type CopyRecord,
  type EchoRecord,
  type MappedMessage,
  type MessageCopy,
  type MessageRecord,
  type PieceRecord,
  type StoreOptions,
  type StoredPiece,
} from './types.js';

export const DEFAULT_RETRY_INTERVAL_MS = 5_000;

/** What the map keeps of a message's text: its start, in code points, so no surrogate pair is split. */
const keptText = (text: string): string => Array.from(text).slice(0, TEXT_KEPT_CHARS).join('');
/** At most one warning per this interval for failed reads (each answers as if empty). */
const READ_WARN_INTERVAL_MS = 60_000;

/**
 * The relay's one SQLite store, `<dataDir>/relay.db` (docs/store.md). Synchronous; opened once per
 * daemon, which then owns the data dir exclusively until close().
 *
 * Writes never throw: a write relay.db refuses (disk full, I/O error, the file removed) is kept in
 * an in-memory journal, in order, and retried on a timer until relay.db takes it again; `durable`
 * says whether everything written so far is on disk. Reads never throw either: a failed read is
 * logged (rate-limited) and answers as if nothing were stored. Reads see journaled writes.
 */
/** The relay's store; the core sees it as its LedgerStore (core/ledger.ts). */
export class RelayStore implements LedgerStore {
  readonly path: string;
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #writer: DurableWriter;
  #readWarnedAt = Number.NEGATIVE_INFINITY;
  #readWarningsSuppressed = 0;
  /** Secrets handed out by this process: the same name always gets the same value. */
  readonly #secrets = new Map<string, string>();

  private constructor(dataDir: string, log: Logger, now: () => number, writer: DurableWriter) {
    this.#dataDir = dataDir;
    this.path = path.join(dataDir, DB_FILE);
    this.#log = log;
    this.#now = now;
    this.#writer = writer;
  }

  /**
   * Opens (creating when missing) `<dataDir>/relay.db`: lock, corruption check, migrations.
   * @throws StoreLockedError when another kosmi-relay holds the data dir
   * @throws StoreOpenError when the file cannot be opened or created at all
   */
  static open(options: StoreOptions): RelayStore {
    const log = options.logger.child({ component: 'store' });
    const now = options.now ?? Date.now;
    const context = { dataDir: options.dataDir, log, now };
    const conn = openConnection(context);
    const writer = new DurableWriter({
      path: path.join(options.dataDir, DB_FILE),
      context,
      conn,
      retryIntervalMs: options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS,
      onDurableChange: options.onDurableChange,
    });
    const store = new RelayStore(options.dataDir, log, now, writer);
    log.info({ path: store.path }, 'store open');
    return store;
  }

  /** Whether every write so far is in relay.db on disk. */
  get durable(): boolean {
    return this.#writer.durable;
  }

  // (a) outbox

  addPieces(pieces: readonly PieceRecord[]): void {
    if (pieces.length === 0) return;
    this.#write({
      kind: 'add-pieces',
      pieces: pieces.map(({ id, messageId, account, channel, enqueuedAt, payload }) => ({
        id,
        messageId,
        account,
        channel,
        enqueuedAt,
        payload,
      })),
    });
  }

  removePiece(id: string): void {
    this.removePieces([id]);
  }

  removePieces(ids: readonly string[]): void {
    if (ids.length > 0) this.#write({ kind: 'remove-pieces', ids: [...ids] });
  }

  /** Every piece not yet removed, oldest first. */
  pendingPieces(): StoredPiece[] {
    const stored = this.#read('pending pieces', [], (q) => q.pendingPieces());
    return this.#journal.length === 0 ? stored : piecesWithJournal(stored, this.#journal);
  }

  // (b) message map

  recordMessage(m: MessageRecord): void {
    const message: MessageRecord = {
      messageId: m.messageId,
      account: m.account,
      channel: m.channel,
      ...(m.networkId === undefined ? {} : { networkId: m.networkId }),
      nick: m.nick,
      text: keptText(m.text),
      createdAt: m.createdAt,
    };
    this.#write({ kind: 'record-message', message });
  }

  /** The message's text after an edit (what a later edit is compared with, what a reply quotes). */
  reviseMessage(messageId: string, text: string): void {
    this.#write({ kind: 'revise-message', messageId, text: keptText(text) });
  }

  recordCopy(c: CopyRecord): void {
    const { messageId, account, channel, networkId, pieceIndex, createdAt } = c;
    this.#write({
      kind: 'record-copy',
      copy: { messageId, account, channel, networkId, pieceIndex, createdAt },
    });
  }

  /** Whether a message with this source id on this account was already relayed (restart dedupe). */
  hasSource(account: string, networkId: string): boolean {
    return (
      journalSourceExists(this.#journal, account, networkId) ||
      this.#read('source', false, (q) => q.sourceId(account, networkId) !== undefined)
    );
  }

  /** The message whose source id, or one of whose copies' ids, on `account` is `networkId`. */
  findByNetworkId(account: string, networkId: string): MappedMessage | undefined {
    const messageId =
      this.#read(
        'message id',
        undefined,
        (q) => q.sourceId(account, networkId) ?? q.copyOwnerId(account, networkId),
      ) ?? journalOwnerId(this.#journal, account, networkId);
    if (messageId === undefined) return undefined;
    const message =
      this.#read('message', undefined, (q) => q.message(messageId)) ??
      journalMessage(this.#journal, messageId);
    if (message === undefined) return undefined;
    const text = journalRevision(this.#journal, messageId) ?? message.text;
    return { ...message, text, copies: this.copiesOf(messageId) };
  }

  copiesOf(messageId: string): MessageCopy[] {
    const stored = this.#read('copies', [], (q) => q.copiesOf(messageId));
    return this.#journal.length === 0 ? stored : copiesWithJournal(stored, this.#journal, messageId);
  }

  /**
   * Removes messages and copies created before `olderThan`; returns the rows removed. Indexed on
   * created_at, so a daily call costs only the rows it removes. While the store is not durable it
   * prunes nothing (the next call catches up).
   */
  pruneMessageMap(olderThan: number): number {
    const queries = this.#writer.queries;
    if (!this.#writer.durable || queries === undefined) return 0;
    try {
      return queries.pruneMessageMap(olderThan);
    } catch (error) {
      this.#log.warn({ err: error }, 'pruning the message map failed; the next prune retries');
      return 0;
    }
  }

  // (c) inbound cursors

  getCursor(account: string, key: string): string | undefined {
    return (
      journalCursor(this.#journal, account, key) ??
      this.#read('cursor', undefined, (q) => q.getCursor(account, key))
    );
  }

  setCursor(account: string, key: string, value: string): void {
    this.#write({ kind: 'set-cursor', account, key, value });
  }

  // (d) echo memory

  addEcho(text: string, expiresAt: number): void {
    this.#write({ kind: 'add-echo', echo: { text, expiresAt } });
  }

  /** Echoes that expire after `now`, oldest first; deletes the expired ones. */
  liveEchoes(now: number): EchoRecord[] {
    const queries = this.#writer.queries;
    if (this.#writer.durable && queries !== undefined) {
      try {
        queries.deleteExpiredEchoes(now);
      } catch (error) {
        // Expired rows are filtered out below anyway; the next call deletes them.
        this.#log.debug({ err: error }, 'deleting expired echoes failed');
      }
    }
    const stored = this.#read('echoes', [], (q) => q.liveEchoes(now));
    return this.#journal.length === 0 ? stored : [...stored, ...journalEchoes(this.#journal, now)];
  }

  // (e) secrets

  /** The secret stored under `name`, generated (and stored) on first use. Never logged. */
  secret(name: string, generate: () => string): string {
    const known =
      this.#secrets.get(name) ??
      journalSecret(this.#journal, name) ??
      this.#read('secret', undefined, (q) => q.getSecret(name));
    if (known !== undefined) {
      this.#secrets.set(name, known);
      return known;
    }
    const generated = generate();
    this.#write({ kind: 'set-secret', name, value: generated });
    // Read back rather than trust `generate()`: INSERT OR IGNORE keeps a value already on disk.
    const value =
      journalSecret(this.#journal, name) ??
      this.#read('secret', undefined, (q) => q.getSecret(name)) ??
      generate();
    this.#secrets.set(name, value);
    return value;
  }

  // durability

  /**
   * Checks now what the timer checks every retryIntervalMs: whether relay.db is still the file we
   * have open (recreating it when it vanished) and whether kept writes can be saved. Returns
   * `durable` afterwards. For tests and for a shutdown that wants one last try.
   */
  retryNow(): boolean {
    return this.#writer.retryNow();
  }

  /** Releases the lock and removes relay.pid. Writes still kept in memory are lost (logged). */
  close(): void {
    this.#writer.close();
    removePidFile(path.join(this.#dataDir, PID_FILE));
  }

  #write(op: WriteOp): void {
    this.#writer.write(op);
  }

  get #journal(): readonly WriteOp[] {
    return this.#writer.journal;
  }

  #read<T>(what: string, fallback: T, read: (queries: Queries) => T): T {
    const queries = this.#writer.queries;
    if (queries === undefined) return fallback; // closed, or between files while healing
    try {
      return read(queries);
    } catch (error) {
      const now = this.#now();
      if (now - this.#readWarnedAt < READ_WARN_INTERVAL_MS) {
        this.#readWarningsSuppressed++;
      } else {
        this.#log.warn(
          { read: what, err: error, suppressedSinceLast: this.#readWarningsSuppressed },
          'relay.db read failed; answering as if nothing were stored',
        );
        this.#readWarnedAt = now;
        this.#readWarningsSuppressed = 0;
      }
      return fallback;
    }
  }
}
