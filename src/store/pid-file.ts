import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * relay.pid names the process that holds the store, so a second daemon can say who is in the way.
 * It is a label, not the lock: the lock is SQLite's on relay.db, which the kernel drops when the
 * holder dies, so a stale relay.pid left by a killed daemon is simply overwritten by the next one.
 */
export function writePidFile(file: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // the umask only narrows the mode; this also fixes a reused temp file
  renameSync(temp, file);
}

/** The pid in the file, or undefined when it is missing or does not hold one. */
export function readPidFile(file: string): number | undefined {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch {
    return undefined; // missing or unreadable: the caller says "pid unknown"
  }
  const pid = Number.parseInt(content.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Removes the file if it still names this process (never another daemon's). */
export function removePidFile(file: string): void {
  if (readPidFile(file) === process.pid) rmSync(file, { force: true });
}
