import type { AccountCursors } from '../../src/adapters/types.js';

/** In-memory AccountCursors (our interface), for adapters built outside the app. */
export function memoryCursors(initial: Record<string, string> = {}): AccountCursors & {
  readonly values: Map<string, string>;
} {
  const values = new Map(Object.entries(initial));
  return { values, get: (key) => values.get(key), set: (key, value) => void values.set(key, value) };
}
