import type { DatabaseSync, SQLOutputValue } from 'node:sqlite';

type Row = Record<string, SQLOutputValue>;

/** Runs `fn` in one transaction: all of it is written, or none of it. */
export function transaction<T>(db: DatabaseSync, fn: () => T, begin = 'BEGIN'): T {
  db.exec(begin);
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back on its own (it does after SQLITE_FULL or an I/O error); the
      // original error below is the one that matters.
    }
    throw error;
  }
}

/** A column that must be TEXT; a read that finds anything else has a damaged row. */
export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column} is not text`);
  return value;
}

export function optionalText(row: Row, column: string): string | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : text(row, column);
}

/** A column that must be INTEGER (within the safe range: timestamps, counters). */
export function integer(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number') throw new TypeError(`column ${column} is not a number`);
  return value;
}
