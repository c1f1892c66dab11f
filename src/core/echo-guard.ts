/**
 * Recognises text the relay itself put on the wire when any of its accounts reads it back (IRC
 * echo, two or more relay accounts in one channel, two gateways sharing a channel). A small TTL
 * deduplicator in the manner of mx-puppet-bridge: adapters report every line or body exactly as
 * sent, the moment they write it (core/adapter.ts WireListener); an incoming message with the same
 * text within the TTL is an echo. An entry is not used up by a read, since every relay account in
 * that channel reads it once. Entries are kept in the store too, so an echo that arrives after a
 * restart is still recognised.
 */
/** Echoes come back within seconds of the write. */
export const ECHO_TTL_MS = 30_000;
const MAX_ENTRIES = 20_000;

interface Entry {
  expiresAt: number;
}

export class EchoGuard {
  private readonly sent = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number = ECHO_TTL_MS,
    private readonly now: () => number = Date.now,
    /** Keeps each entry across a restart (the store). */
    private readonly persist?: (text: string, expiresAt: number) => void,
  ) {}

  /** Entries kept from before a restart. */
  restore(entries: readonly { text: string; expiresAt: number }[]): void {
    for (const entry of entries) this.sent.set(normalise(entry.text), { expiresAt: entry.expiresAt });
  }

  remember(text: string): void {
    const key = normalise(text);
    if (key === '') return;
    this.prune();
    const expiresAt = this.now() + this.ttlMs;
    // Re-inserted so the Map's order stays oldest-first for prune().
    this.sent.delete(key);
    this.sent.set(key, { expiresAt });
    this.persist?.(key, expiresAt);
  }

  /** True when any of the candidate texts was sent by us within the TTL. */
  isEcho(...candidates: readonly (string | undefined)[]): boolean {
    const now = this.now();
    for (const candidate of candidates) {
      if (candidate === undefined) continue;
      const key = normalise(candidate);
      const entry = this.sent.get(key);
      if (entry === undefined) continue;
      if (entry.expiresAt < now) {
        this.sent.delete(key);
        continue;
      }
      return true;
    }
    return false;
  }

  get size(): number {
    return this.sent.size;
  }

  private prune(): void {
    if (this.sent.size < MAX_ENTRIES) return;
    const now = this.now();
    for (const [key, entry] of this.sent) if (entry.expiresAt < now) this.sent.delete(key);
    // Still full: drop the oldest insertions (Map keeps insertion order).
    for (const key of this.sent.keys()) {
      if (this.sent.size < MAX_ENTRIES) break;
      this.sent.delete(key);
    }
  }
}

function normalise(text: string): string {
  return text.trim();
}
