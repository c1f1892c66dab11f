import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
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

export interface LogEntry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose lines are kept, parsed, for assertions. */
export function capturingLogger(): {
  logger: Logger;
  entries: LogEntry[];
  at: (level: 'error' | 'warn' | 'info') => LogEntry[];
} {
  const entries: LogEntry[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => entries.push(JSON.parse(line) as LogEntry) },
  );
  const levels = { error: 50, warn: 40, info: 30 } as const;
  return { logger, entries, at: (level) => entries.filter((entry) => entry.level === levels[level]) };
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
