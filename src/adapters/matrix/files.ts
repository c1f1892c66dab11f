/**
 * Per-account files in the data dir: the session (secret, 0600) and the sync state. Both are
 * written with core/atomic-file.ts so a crash never leaves a half-written session behind.
 */
import { readFileSync } from 'node:fs';
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
