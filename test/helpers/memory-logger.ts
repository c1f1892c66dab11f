import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../../src/log/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface MemoryLogger {
  readonly logger: Logger;
  /** Every line, parsed, in order. */
  readonly lines: LogLine[];
  /** Everything as written (JSON lines). */
  readonly text: () => string;
  /** The lines at one level. */
  readonly at: (level: 'error' | 'warn' | 'info' | 'debug') => LogLine[];
}

const LEVELS = { error: 50, warn: 40, info: 30, debug: 20 } as const;

/**
 * The one in-memory logger for tests: a real pino logger with the daemon's redaction, whose lines
 * are kept for assertions. KOSMI_TEST_LOG=1 also prints them.
 */
export function memoryLogger(level = 'debug'): MemoryLogger {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const destination = {
    write(chunk: string): void {
      raw.push(chunk);
      for (const line of chunk.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      if (process.env.KOSMI_TEST_LOG === '1') process.stderr.write(chunk);
    },
  };
  const logger = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
  return {
    logger,
    lines,
    text: () => raw.join(''),
    at: (wanted) => lines.filter((line) => line.level === LEVELS[wanted]),
  };
}
