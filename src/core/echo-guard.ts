/**
 * Recognises text the relay itself put on the wire when any of its accounts reads it back (IRC
 * echo, two relay accounts in one channel, two gateways sharing a channel). A small TTL
 * deduplicator in the manner of mx-puppet-bridge: adapters report every line or body exactly as
 * sent; an incoming message with the same text within the TTL is an echo, consumed once per send.
 */
export const ECHO_TTL_MS = 120_000;
const MAX_ENTRIES = 20_000;

interface Entry {
  count: number;
  expiresAt: number;
}

export class EchoGuard {
  private readonly sent = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number = ECHO_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  remember(text: string): void {
    const key = normalise(text);
    if (key === '') return;
    this.prune();
    const entry = this.sent.get(key);
    const expiresAt = this.now() + this.ttlMs;
    if (entry === undefined) this.sent.set(key, { count: 1, expiresAt });
    else {
      entry.count += 1;
      entry.expiresAt = expiresAt;
    }
  }

  /** True (and consumes one remembered send) when any of the candidate texts was sent by us. */
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
      entry.count -= 1;
      if (entry.count <= 0) this.sent.delete(key);
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
