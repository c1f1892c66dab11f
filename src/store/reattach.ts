import { closeSync, existsSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  SIDE_FILE_SUFFIXES,
  closeQuietly,
  openConnection,
  type Connection,
  type OpenContext,
} from './connection.js';
import { errorMessage } from '../core/errors.js';

/**
 * Whether the file at `file` is still the one `conn` opened. SQLite keeps writing to a file removed
 * under it (the inode lives while it is open), and nothing of that would survive a restart; so
 * compare the path's inode with the one opened. (Not fstat: opening and closing a second fd on the
 * file would drop SQLite's POSIX lock, https://sqlite.org/howtocorrupt.html#_posix_advisory_locks_canceled_by_a_separate_thread_doing_close_.)
 */
export function isSameFile(file: string, conn: Connection, context: OpenContext): boolean {
  try {
    const stat = statSync(file);
    return stat.isFile() && stat.ino === conn.ino && stat.dev === conn.dev;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    context.log.debug({ err: error }, 'cannot stat relay.db; assuming it is still ours');
    return true;
  }
}

export type ReattachResult =
  | { readonly kind: 'reopened'; readonly conn: Connection }
  /** Not yet; `conn` is the handle to keep using (undefined once the old one was closed). */
  | { readonly kind: 'waiting'; readonly conn: Connection | undefined; readonly why: string };

/**
 * Puts relay.db back at its path with everything the open (removed) file holds: VACUUM INTO a temp
 * file beside it, close the old handle, rename the copy into place, and open it as at start (lock,
 * check, relay.pid). Never overwrites whatever else sits at the path: it waits until it is free.
 * Every step can be retried: a copy made by an earlier try that got no further is used as is.
 */
export function reattach(file: string, conn: Connection | undefined, context: OpenContext): ReattachResult {
  const temp = `${file}.heal.tmp`;
  let current = conn;
  try {
    if (current !== undefined) {
      if (pathExists(file)) return { kind: 'waiting', conn: current, why: 'something else is at the path' };
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 }); // the whole data dir may be gone
      rmSync(temp, { force: true });
      closeSync(openSync(temp, 'wx', 0o600)); // VACUUM INTO takes an empty file, and keeps its mode
      current.db.prepare('VACUUM INTO ?').run(temp);
      closeQuietly(current.db);
      current = undefined;
    }
    if (existsSync(temp)) {
      if (pathExists(file)) return { kind: 'waiting', conn: current, why: 'something else is at the path' };
      // A -wal left at the path belonged to the closed file; replayed onto the copy it would
      // corrupt it. Everything it held is in the copy.
      for (const suffix of SIDE_FILE_SUFFIXES) rmSync(file + suffix, { force: true });
      renameSync(temp, file);
    }
    return { kind: 'reopened', conn: openConnection(context) };
  } catch (error) {
    if (current !== undefined) rmSync(temp, { force: true }); // the old handle still has it all
    return { kind: 'waiting', conn: current, why: errorMessage(error) };
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
