import type { AccountCursors, MessageLookup } from '../../src/adapters/types.js';

/** In-memory AccountCursors (our interface), for adapters built outside the app. */
export function memoryCursors(initial: Record<string, string> = {}): AccountCursors & {
  readonly values: Map<string, string>;
} {
  const values = new Map(Object.entries(initial));
  return { values, get: (key) => values.get(key), set: (key, value) => void values.set(key, value) };
}

/** An in-memory message map lookup (MessageLookup) that knows the given network ids. */
export function memoryMessages(
  known: Iterable<string> = [],
): MessageLookup & { readonly known: Set<string> } {
  const ids = new Set(known);
  return { known: ids, knows: (networkId) => ids.has(networkId) };
}
