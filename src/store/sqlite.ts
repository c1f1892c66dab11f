import { createRequire } from 'node:module';

type SqliteModule = typeof import('node:sqlite');

let loaded: SqliteModule | undefined;

/**
 * Loads `node:sqlite` once, without the ExperimentalWarning Node 22 prints for it.
 *
 * Why: Node 22 emits "ExperimentalWarning: SQLite is an experimental feature" when the module is
 * first loaded, and prints it to stderr by default, so every daemon start would log a line that no
 * operator can act on (the API we use is stable across Node 22 and 24; Node 24 no longer warns).
 * A `process.on('warning')` listener cannot stop the print, and `removeAllListeners('warning')`
 * would hide every other warning too. So the module is loaded synchronously here, and for the
 * duration of that one `require` only, `process.emitWarning` drops exactly that warning (type
 * ExperimentalWarning, text naming SQLite) and passes every other warning through. Node's
 * `emitExperimentalWarning` calls the public `process.emitWarning` (lib/internal/util.js); if a
 * release stops doing so the warning reappears, and test/unit/store-process.test.ts fails loudly.
 */
export function loadSqlite(): SqliteModule {
  if (loaded !== undefined) return loaded;
  // Kept as the very function it is, so it is restored as is; it is always called with `process`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = process.emitWarning;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    Reflect.apply(original, process, [warning, ...rest]);
  };
  process.emitWarning = filtered;
  try {
    loaded = createRequire(import.meta.url)('node:sqlite') as SqliteModule;
  } finally {
    process.emitWarning = original;
  }
  return loaded;
}

function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type =
    warning instanceof Error
      ? warning.name
      : typeof typeOrOptions === 'string'
        ? typeOrOptions
        : typeof typeOrOptions === 'object' && typeOrOptions !== null && 'type' in typeOrOptions
          ? typeOrOptions.type
          : undefined;
  const text = warning instanceof Error ? warning.message : warning;
  return type === 'ExperimentalWarning' && /\bSQLite\b/.test(text);
}
