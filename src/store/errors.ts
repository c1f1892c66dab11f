/**
 * A second kosmi-relay already owns the data dir (it holds the SQLite lock on relay.db). The
 * message is for the operator, as is: main.ts prints it and exits.
 */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  constructor(
    readonly dataDir: string,
    /** From relay.pid; undefined when the file is missing or unreadable. */
    readonly pid: number | undefined,
  ) {
    super(
      `data dir ${dataDir} is in use by another kosmi-relay (pid ${pid ?? 'unknown'}); ` +
        'stop it first, or give this one another data_dir',
    );
  }
}

/** relay.db cannot be opened or created at all (permissions, a directory in its place, a newer schema). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the relay store ${path}: ${reason}`, options);
  }
}

/** SQLite primary result codes we act on (https://sqlite.org/rescode.html). */
export const SQLITE_BUSY = 5;
export const SQLITE_LOCKED = 6;
export const SQLITE_CORRUPT = 11;
export const SQLITE_NOTADB = 26;

/** The primary result code of an error thrown by node:sqlite, if it is one. */
export function sqliteCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  const code = error.errcode;
  // Extended codes carry the primary code in the low byte (SQLITE_IOERR_WRITE = 778 -> 10).
  return typeof code === 'number' ? code & 0xff : undefined;
}

/**
 * Whether a failed write may succeed later, so it is kept and retried: anything but an error in
 * the statement or its values (a constraint, a type mismatch, a value too big), which no retry can
 * fix. Disk full, I/O errors, read-only, cannot-open, locked and a replaced file all heal.
 */
export function isRetryableWriteError(error: unknown): boolean {
  const code = sqliteCode(error);
  if (code === undefined) return typeof error === 'object' && error !== null && 'code' in error; // fs errors
  const NEVER_HEALS = [
    1 /* ERROR */, 18 /* TOOBIG */, 19 /* CONSTRAINT */, 20 /* MISMATCH */, 21 /* MISUSE */, 25 /* RANGE */,
  ];
  return !NEVER_HEALS.includes(code);
}
