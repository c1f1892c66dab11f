import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import {
  SQLITE_BUSY,
  SQLITE_CORRUPT,
  SQLITE_LOCKED,
  SQLITE_NOTADB,
  StoreLockedError,
  StoreOpenError,
  sqliteCode,
} from './errors.js';
import { errorMessage } from '../core/errors.js';
import { readPidFile, writePidFile } from './pid-file.js';
import { migrate } from './schema.js';
import { loadSqlite } from './sqlite.js';

export const DB_FILE = 'relay.db';
export const PID_FILE = 'relay.pid';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Files SQLite keeps beside the database (https://sqlite.org/tempfiles.html). */
export const SIDE_FILE_SUFFIXES = ['-wal', '-shm'] as const;

export interface OpenContext {
  readonly dataDir: string;
  readonly log: Logger;
  readonly now: () => number;
}

/** An open, locked, checked and migrated relay.db, and the identity of the file it opened. */
export interface Connection {
  readonly db: DatabaseSync;
  readonly dev: number;
  readonly ino: number;
}

/** relay.db fails to open as a database or fails its integrity check. */
class CorruptStoreError extends Error {}

/**
 * Opens `<dataDir>/relay.db`: takes the lock, checks the file, applies migrations, writes
 * relay.pid. A corrupt file is moved aside once and a fresh store created in its place.
 */
export function openConnection(context: OpenContext): Connection {
  const file = path.join(context.dataDir, DB_FILE);
  try {
    mkdirSync(context.dataDir, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw new StoreOpenError(file, `cannot create the data dir: ${errorMessage(error)}`, { cause: error });
  }
  try {
    return openChecked(context, file);
  } catch (error) {
    if (!(error instanceof CorruptStoreError)) throw error;
    moveAside(context, file, error.message);
  }
  try {
    return openChecked(context, file);
  } catch (error) {
    if (!(error instanceof CorruptStoreError)) throw error;
    throw new StoreOpenError(file, `a freshly created database fails its check: ${error.message}`);
  }
}

function openChecked(context: OpenContext, file: string): Connection {
  createFile(file);
  const { DatabaseSync } = loadSqlite();
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
  } catch (error) {
    throw new StoreOpenError(file, errorMessage(error), { cause: error });
  }
  try {
    // The lock: in EXCLUSIVE locking mode SQLite keeps its kernel (fcntl) lock on the file from
    // the first write transaction until close, so the empty exclusive transaction takes it now.
    // Any other process then gets SQLITE_BUSY on its first read (https://sqlite.org/pragma.html
    // #pragma_locking_mode). Set before WAL, SQLite also keeps the WAL index in heap memory, so
    // no -shm file exists (https://sqlite.org/wal.html#noshm). The kernel drops the lock when this
    // process dies, however it dies.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    const problems = db
      .prepare('PRAGMA quick_check')
      .all()
      .map((row) => String(row.quick_check));
    if (problems.length !== 1 || problems[0] !== 'ok')
      throw new CorruptStoreError(problems.slice(0, 3).join('; '));
    migrate(db);
    // synchronous = NORMAL: in WAL mode a commit is a write() to relay.db-wal and no fsync (the
    // WAL is synced at checkpoints), so every commit survives the process dying however it dies
    // (kill -9, OOM, crash) and a clean reboot; a power cut may lose the last commits before the
    // checkpoint. FULL (SQLite's default) fsyncs every commit on the event loop: measured here
    // (bench/results/store-cost.md) that was 2-32 ms per commit, three per relayed line, and the
    // relay fell behind at 10 msg/s (https://sqlite.org/pragma.html#pragma_synchronous).
    db.exec('PRAGMA synchronous = NORMAL');
    for (const suffix of ['', ...SIDE_FILE_SUFFIXES]) {
      if (existsSync(file + suffix)) chmodSync(file + suffix, FILE_MODE);
    }
    writePidFile(path.join(context.dataDir, PID_FILE));
    const stat = statSync(file);
    return { db, dev: stat.dev, ino: stat.ino };
  } catch (error) {
    closeQuietly(db);
    const code = sqliteCode(error);
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
      throw new StoreLockedError(context.dataDir, readPidFile(path.join(context.dataDir, PID_FILE)));
    }
    if (code === SQLITE_NOTADB || code === SQLITE_CORRUPT) throw new CorruptStoreError(errorMessage(error));
    if (error instanceof CorruptStoreError || error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(file, errorMessage(error), { cause: error });
  }
}

/** Creates relay.db empty and 0600 when missing, so SQLite never creates it with the umask's mode. */
function createFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StoreOpenError(file, errorMessage(error), { cause: error });
    }
  }
  if (!statSync(file).isFile()) throw new StoreOpenError(file, 'it exists and is not a regular file');
}

export function closeQuietly(db: DatabaseSync): void {
  try {
    db.close();
  } catch {
    // Already closed, or its files are gone: either way nothing is left to release.
  }
}

/** `relay.db.corrupt-20261130T041500Z` (and -wal/-shm beside it), kept for inspection. */
function moveAside(context: OpenContext, file: string, reason: string): void {
  const stamp = new Date(context.now())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let target = `${file}.corrupt-${stamp}`;
  for (let n = 2; existsSync(target); n++) target = `${file}.corrupt-${stamp}.${n}`;
  for (const suffix of ['', ...SIDE_FILE_SUFFIXES]) {
    if (!existsSync(file + suffix)) continue;
    try {
      renameSync(file + suffix, target + suffix);
      chmodSync(target + suffix, FILE_MODE);
    } catch (error) {
      throw new StoreOpenError(
        file,
        `it is corrupt (${reason}) and cannot be moved aside: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }
  context.log.error(
    { path: file, movedTo: target, reason },
    'relay.db is not a usable database: moved it aside and started a fresh store; the messages ' +
      'waiting for delivery and the message map in it are not used; the file is kept for inspection',
  );
}
