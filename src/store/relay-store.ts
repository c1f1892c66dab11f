import { closeSync, existsSync, lstatSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  DB_FILE,
  PID_FILE,
  SIDE_FILE_SUFFIXES,
  closeQuietly,
  openConnection,
  type Connection,
} from './connection.js';
import { errorText, isRetryableWriteError } from './errors.js';
import {
  applyOp,
  copiesWithJournal,
  journalCursor,
  journalEchoes,
  journalMessage,
  journalOwnerId,
  journalSecret,
  journalSourceExists,
  piecesWithJournal,
  type WriteOp,
} from './journal.js';
import { removePidFile } from './pid-file.js';
import { Queries } from './queries.js';
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
/** At most one warning per this interval for failed reads (each answers as if empty). */
const READ_WARN_INTERVAL_MS = 60_000;

type Unwritable = 'write-failed' | 'file-removed';

/**
 * The relay's one SQLite store, `<dataDir>/relay.db` (docs/store.md). Synchronous; opened once per
 * daemon, which then owns the data dir exclusively until close().
 *
 * Writes never throw: a write relay.db refuses (disk full, I/O error, the file removed) is kept in
 * an in-memory journal, in order, and retried on a timer until relay.db takes it again; `durable`
 * says whether everything written so far is on disk. Reads never throw either: a failed read is
 * logged (rate-limited) and answers as if nothing were stored. Reads see journaled writes.
 */
export class RelayStore {
  readonly path: string;
  readonly #dataDir: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #onDurableChange: ((durable: boolean) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  #conn: Connection | undefined;
  #queries: Queries | undefined;
  /** Writes relay.db has not taken yet, oldest first. */
  readonly #journal: WriteOp[] = [];
  /** The file at `path` is no longer the one we have open (removed, or something else put there). */
  #detached = false;
  #durable = true;
  #closed = false;
  #readWarnedAt = Number.NEGATIVE_INFINITY;
  #readWarningsSuppressed = 0;
  /** Secrets handed out by this process: the same name always gets the same value. */
  readonly #secrets = new Map<string, string>();

  private constructor(options: StoreOptions, log: Logger, now: () => number, conn: Connection) {
    this.#dataDir = options.dataDir;
    this.path = path.join(options.dataDir, DB_FILE);
    this.#log = log;
    this.#now = now;
    this.#onDurableChange = options.onDurableChange;
    this.#conn = conn;
    this.#queries = new Queries(conn.db);
    // One timer does both jobs: it notices a removed file, and it retries kept writes. unref'd: the
    // store never keeps the process alive on its own.
    this.#timer = setInterval(() => this.#tick(), options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Opens (creating when missing) `<dataDir>/relay.db`: lock, corruption check, migrations.
   * @throws StoreLockedError when another kosmi-relay holds the data dir
   * @throws StoreOpenError when the file cannot be opened or created at all
   */
  static open(options: StoreOptions): RelayStore {
    const log = options.logger.child({ component: 'store' });
    const now = options.now ?? Date.now;
    const conn = openConnection({ dataDir: options.dataDir, log, now });
    const store = new RelayStore(options, log, now, conn);
    log.info({ path: store.path }, 'store open');
    return store;
  }

  /** Whether every write so far is in relay.db on disk. */
  get durable(): boolean {
    return this.#durable;
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
      // Code points, so a cut never splits a surrogate pair.
      text: Array.from(m.text).slice(0, TEXT_KEPT_CHARS).join(''),
      createdAt: m.createdAt,
    };
    this.#write({ kind: 'record-message', message });
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
    return message === undefined ? undefined : { ...message, copies: this.copiesOf(messageId) };
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
    if (!this.#durable || this.#queries === undefined) return 0;
    try {
      return this.#queries.pruneMessageMap(olderThan);
    } catch (error) {
      this.#log.warn({ err: errorText(error) }, 'pruning the message map failed; the next prune retries');
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
    if (this.#durable && this.#queries !== undefined) {
      try {
        this.#queries.deleteExpiredEchoes(now);
      } catch (error) {
        // Expired rows are filtered out below anyway; the next call deletes them.
        this.#log.debug({ err: errorText(error) }, 'deleting expired echoes failed');
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
    this.#tick();
    return this.#durable;
  }

  /** Releases the lock and removes relay.pid. Writes still kept in memory are lost (logged). */
  close(): void {
    if (this.#closed) return;
    if (!this.#durable) this.#tick();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#journal.length > 0) {
      this.#log.error(
        { path: this.path, lostWrites: this.#journal.length },
        'closing the store with writes relay.db never took; they are lost',
      );
    }
    if (this.#conn !== undefined) closeQuietly(this.#conn.db);
    this.#conn = undefined;
    this.#queries = undefined;
    removePidFile(path.join(this.#dataDir, PID_FILE));
  }

  #write(op: WriteOp): void {
    if (this.#closed) {
      this.#log.warn({ write: op.kind }, 'write after the store was closed; ignored');
      return;
    }
    if (this.#journal.length > 0 || this.#detached || this.#queries === undefined) {
      this.#journal.push(op);
      return;
    }
    try {
      applyOp(this.#queries, op);
    } catch (error) {
      if (!isRetryableWriteError(error)) {
        this.#log.error(
          { write: op.kind, err: errorText(error) },
          'relay.db refused a write no retry can fix; dropped',
        );
        return;
      }
      this.#journal.push(op);
      this.#becomeUnwritable('write-failed', error);
    }
  }

  #read<T>(what: string, fallback: T, read: (queries: Queries) => T): T {
    if (this.#queries === undefined) return fallback; // closed, or between files while healing
    try {
      return read(this.#queries);
    } catch (error) {
      const now = this.#now();
      if (now - this.#readWarnedAt < READ_WARN_INTERVAL_MS) {
        this.#readWarningsSuppressed++;
      } else {
        this.#log.warn(
          { read: what, err: errorText(error), suppressedSinceLast: this.#readWarningsSuppressed },
          'relay.db read failed; answering as if nothing were stored',
        );
        this.#readWarnedAt = now;
        this.#readWarningsSuppressed = 0;
      }
      return fallback;
    }
  }

  #tick(): void {
    if (this.#closed) return;
    if (!this.#detached && this.#conn !== undefined && !this.#isOurFile(this.#conn)) {
      this.#detached = true;
      this.#becomeUnwritable('file-removed');
    }
    if ((this.#detached || this.#conn === undefined) && !this.#reattach()) return;
    if (!this.#replay()) return;
    if (!this.#durable) {
      this.#durable = true;
      this.#log.info({ path: this.path }, 'relay.db is writable again; saved every write kept in memory');
      this.#onDurableChange?.(true);
    }
  }

  /**
   * SQLite keeps writing to a file removed under it (the inode lives while open), and nothing
   * would survive a restart; so compare the path's inode with the one we opened.
   */
  #isOurFile(conn: Connection): boolean {
    try {
      const stat = statSync(this.path);
      return stat.isFile() && stat.ino === conn.ino && stat.dev === conn.dev;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.#log.debug({ err: errorText(error) }, 'cannot stat relay.db; assuming it is still ours');
      return true;
    }
  }

  /**
   * Puts relay.db back at its path with everything the open (removed) file holds: VACUUM INTO a
   * temp file beside it, close the old handle, rename the copy into place, open it like at start.
   * Never overwrites whatever else sits at the path: it waits until the path is free.
   */
  #reattach(): boolean {
    const temp = `${this.path}.heal.tmp`;
    try {
      if (this.#conn !== undefined) {
        if (pathExists(this.path)) return false;
        rmSync(temp, { force: true });
        closeSync(openSync(temp, 'wx', 0o600)); // VACUUM INTO takes an empty file, and keeps its mode
        this.#conn.db.prepare('VACUUM INTO ?').run(temp);
        closeQuietly(this.#conn.db);
        this.#conn = undefined;
        this.#queries = undefined;
      }
      if (existsSync(temp)) {
        if (pathExists(this.path)) return false;
        // A -wal left at the path belonged to the closed file; replayed onto the copy it would
        // corrupt it. Everything it held is in the copy.
        for (const suffix of SIDE_FILE_SUFFIXES) rmSync(this.path + suffix, { force: true });
        renameSync(temp, this.path);
      }
      this.#conn = openConnection({ dataDir: this.#dataDir, log: this.#log, now: this.#now });
      this.#queries = new Queries(this.#conn.db);
      this.#detached = false;
      this.#log.info({ path: this.path }, 'recreated relay.db from the open database');
      return true;
    } catch (error) {
      this.#log.debug({ err: errorText(error) }, 'cannot recreate relay.db yet; retrying');
      return false;
    }
  }

  /** Applies kept writes oldest first; stops at the first that fails again. */
  #replay(): boolean {
    const queries = this.#queries;
    if (queries === undefined) return false;
    while (this.#journal.length > 0) {
      const op = this.#journal[0] as WriteOp;
      try {
        applyOp(queries, op);
      } catch (error) {
        if (isRetryableWriteError(error)) {
          this.#log.debug(
            { err: errorText(error), kept: this.#journal.length },
            'relay.db still refuses writes',
          );
          return false;
        }
        this.#log.error(
          { write: op.kind, err: errorText(error) },
          'relay.db refused a write no retry can fix; dropped',
        );
      }
      this.#journal.shift();
    }
    return true;
  }

  #becomeUnwritable(reason: Unwritable, error?: unknown): void {
    if (!this.#durable) return;
    this.#durable = false;
    const fields = { path: this.path, reason, ...(error === undefined ? {} : { err: errorText(error) }) };
    switch (reason) {
      case 'write-failed':
        this.#log.error(
          fields,
          'relay.db refuses writes: keeping them in memory, in order, and retrying; they are lost if the daemon stops first',
        );
        break;
      case 'file-removed':
        this.#log.error(
          fields,
          'relay.db was removed or replaced while open: keeping writes in memory and recreating it as soon as its path is free',
        );
        break;
      default: {
        const never: never = reason;
        throw new Error(`unknown reason ${String(never)}`);
      }
    }
    this.#onDurableChange?.(false);
  }
}

function pathExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false; // ENOENT, or a parent that is gone: either way nothing of ours is in the way
  }
}
