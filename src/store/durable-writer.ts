import type { Logger } from 'pino';
import { closeQuietly, type Connection, type OpenContext } from './connection.js';
import { isRetryableWriteError } from './errors.js';
import { applyOp, type WriteOp } from './journal.js';
import { Queries } from './queries.js';
import { isSameFile, reattach } from './reattach.js';

type Unwritable = 'write-failed' | 'file-removed';

/**
 * The write side of the store, and its one retry owner: applies each write to relay.db, or, when
 * relay.db refuses it (disk full, I/O error, the file removed), keeps it in an in-memory journal,
 * in order, and retries on a timer until relay.db takes it again. `durable` says whether everything
 * written so far is on disk; each change is logged once and reported through `onDurableChange`.
 */
export class DurableWriter {
  readonly #path: string;
  readonly #context: OpenContext;
  readonly #log: Logger;
  readonly #onDurableChange: ((durable: boolean) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  #conn: Connection | undefined;
  #queries: Queries | undefined;
  /** Writes relay.db has not taken yet, oldest first. */
  readonly #journal: WriteOp[] = [];
  /** The file at the path is no longer the one we have open (removed, or something else put there). */
  #detached = false;
  #durable = true;
  #closed = false;

  constructor(options: {
    path: string;
    context: OpenContext;
    conn: Connection;
    retryIntervalMs: number;
    onDurableChange: ((durable: boolean) => void) | undefined;
  }) {
    this.#path = options.path;
    this.#context = options.context;
    this.#log = options.context.log;
    this.#onDurableChange = options.onDurableChange;
    this.#conn = options.conn;
    this.#queries = new Queries(options.conn.db);
    // One timer does both jobs: it notices a removed file, and it retries kept writes. unref'd: the
    // store never keeps the process alive on its own.
    this.#timer = setInterval(() => this.#tick(), options.retryIntervalMs);
    this.#timer.unref();
  }

  get durable(): boolean {
    return this.#durable;
  }

  /** The statements of the open connection, for reads; undefined when closed or between files. */
  get queries(): Queries | undefined {
    return this.#queries;
  }

  /** Writes not in relay.db yet, oldest first (reads apply them on top of what they find). */
  get journal(): readonly WriteOp[] {
    return this.#journal;
  }

  retryNow(): boolean {
    this.#tick();
    return this.#durable;
  }

  /** Tries once more to save kept writes, then closes the connection (releasing the lock). */
  close(): void {
    if (this.#closed) return;
    if (!this.#durable) this.#tick();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#journal.length > 0) {
      this.#log.error(
        { path: this.#path, lostWrites: this.#journal.length },
        'closing the store with writes relay.db never took; they are lost',
      );
    }
    if (this.#conn !== undefined) closeQuietly(this.#conn.db);
    this.#conn = undefined;
    this.#queries = undefined;
  }

  write(op: WriteOp): void {
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
        this.#log.error({ write: op.kind, err: error }, 'relay.db refused a write no retry can fix; dropped');
        return;
      }
      this.#journal.push(op);
      this.#becomeUnwritable('write-failed', error);
    }
  }

  #tick(): void {
    if (this.#closed) return;
    if (!this.#detached && this.#conn !== undefined && !isSameFile(this.#path, this.#conn, this.#context)) {
      this.#detached = true;
      this.#becomeUnwritable('file-removed');
    }
    if ((this.#detached || this.#conn === undefined) && !this.#reattach()) return;
    if (!this.#replay()) return;
    if (!this.#durable) {
      this.#durable = true;
      this.#log.info({ path: this.#path }, 'relay.db is writable again; saved every write kept in memory');
      this.#onDurableChange?.(true);
    }
  }

  #reattach(): boolean {
    const result = reattach(this.#path, this.#conn, this.#context);
    switch (result.kind) {
      case 'reopened':
        this.#conn = result.conn;
        this.#queries = new Queries(result.conn.db);
        this.#detached = false;
        this.#log.info({ path: this.#path }, 'recreated relay.db from the open database');
        return true;
      case 'waiting':
        if (result.conn !== this.#conn) {
          this.#conn = result.conn;
          this.#queries = result.conn === undefined ? undefined : new Queries(result.conn.db);
        }
        this.#log.debug({ why: result.why }, 'cannot recreate relay.db yet; retrying');
        return false;
      default: {
        const never: never = result;
        throw new Error(`unknown result ${String(never)}`);
      }
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
          this.#log.debug({ err: error, kept: this.#journal.length }, 'relay.db still refuses writes');
          return false;
        }
        this.#log.error({ write: op.kind, err: error }, 'relay.db refused a write no retry can fix; dropped');
      }
      this.#journal.shift();
    }
    return true;
  }

  #becomeUnwritable(reason: Unwritable, error?: unknown): void {
    if (!this.#durable) return;
    this.#durable = false;
    const fields = { path: this.#path, reason, ...(error === undefined ? {} : { err: error }) };
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
