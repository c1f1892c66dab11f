/**
 * Per-account files in the data dir: the session (secret, 0600) and the sync state. Both are
 * written atomically (temp file in the same directory, fsync, rename) so a crash never leaves a
 * half-written session behind.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function sessionFile(dataDir: string, accountId: string): string {
  return path.join(dataDir, `${accountId}.session.json`);
}

export function syncStateFile(dataDir: string, accountId: string): string {
  return path.join(dataDir, `${accountId}.sync.json`);
}

export function cryptoStoreDir(dataDir: string, accountId: string): string {
  return path.join(dataDir, `${accountId}.crypto`);
}

/**
 * Writes text to file atomically with the given mode (the temp file is created with it). `durable`
 * also fsyncs before the rename, for files that must survive a power loss (the session); without
 * it the write is still atomic against a crash of the process.
 */
export function writeFileAtomic(file: string, text: string, mode: number, durable = true): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    if (durable) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, file);
}

/** The parsed JSON of a file, or undefined when it does not exist. Throws on unreadable JSON. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as unknown;
}
