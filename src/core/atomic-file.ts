import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes text to a file atomically: a temp file in the same directory, created exclusively with
 * `mode` (0600 for secrets), then renamed over the target, so a crash leaves the old file or the
 * new one, never half of one. `durable` also fsyncs the file before the rename and the directory
 * after it, for files that must survive a power loss (token caches, sessions). The one
 * implementation for the Kosmi token cache and the Matrix session and sync files.
 */
export function writeFileAtomic(
  file: string,
  text: string,
  options: { mode: number; durable?: boolean },
): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', options.mode);
  try {
    writeSync(fd, text);
    if (options.durable !== false) fsyncSync(fd);
    closeSync(fd);
    chmodSync(temp, options.mode); // openSync's mode is narrowed by the umask; never wider than asked
    renameSync(temp, file);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed on the success path before the failing step
    }
    rmSync(temp, { force: true });
    throw error;
  }
  if (options.durable !== false) syncDir(dir);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
