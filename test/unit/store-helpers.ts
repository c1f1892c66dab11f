import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PieceRecord } from '../../src/store/index.js';

/** Unique temp dirs for one test file, removed by `cleanup()` (call it in afterEach). */
export function tempDirs(): { make: () => string; cleanup: () => void } {
  const dirs: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'kr-store-'));
      dirs.push(dir);
      return dir;
    },
    cleanup: () => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })),
  };
}

export function piece(messageId: string, index: number, extra: Partial<PieceRecord> = {}): PieceRecord {
  return {
    id: `${messageId}.${index}`,
    messageId,
    account: 'irc.libera',
    channel: '#relay',
    enqueuedAt: 1_700_000_000_000 + index,
    payload: JSON.stringify({ text: `${messageId} piece ${index}` }),
    ...extra,
  };
}
