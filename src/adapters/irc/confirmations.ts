import type { RenderedLine } from './split.js';

/** A line written to the socket, for its channel. */
export interface SentLine {
  readonly channel: string;
  readonly line: RenderedLine;
}

/** Under a steady stream (never idle), confirm at least every this many lines. */
export const ACK_EVERY_LINES = 20;
/** After a disconnect at most this many unconfirmed lines are sent again. */
export const MAX_REPLAY_LINES = 200;
const TOKEN_PREFIX = 'kr-ack-';
/** Added to twice the round-trip time when deciding which lines a closing server may have dropped. */
const SHUTDOWN_SLACK_MS = 5;
/** Round-trip estimate before the first PONG: a distant server. */
const INITIAL_RTT_MS = 250;

/**
 * Which unconfirmed lines to send again after a disconnect:
 * - 'all': the close says nothing (reset, ping timeout): every unconfirmed line;
 * - 'failed-writes': a clean close (FIN) without ERROR: the server read everything on the wire;
 * - 'since': the server announced its close with ERROR at `at` (ms): lines written up to about one
 *   round trip before it had reached and been relayed by the server; later ones may not have.
 */
export type ReplayPolicy =
  | { readonly kind: 'all' }
  | { readonly kind: 'failed-writes' }
  | { readonly kind: 'since'; readonly at: number };

/**
 * Lines the server has not yet confirmed. A line written to the socket is not yet a line the
 * server processed: when the server goes down (SIGTERM, crash) the lines still in its receive
 * buffer are gone, and socket.write() reported success for them. IRC processes a client's lines
 * in order, so a PONG to our `PING :kr-ack-N` confirms every line up to N (RFC 2812 §3.7.2).
 * What is unconfirmed when the connection drops is sent again after the reconnect: at worst a
 * duplicate, never a loss.
 */
export class UnconfirmedLines {
  private lines: { readonly id: number; readonly sent: SentLine; readonly writtenAt: number }[] = [];
  private lastId = 0;
  private pendingAck: number | undefined;
  private ackSentAt = 0;
  private sinceAck = 0;
  /** Smoothed PING->PONG round trip (RFC 6298 style, alpha 1/8). */
  private srttMs: number | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get rttMs(): number {
    return this.srttMs ?? INITIAL_RTT_MS;
  }

  get size(): number {
    return this.lines.length;
  }

  added(sent: SentLine): void {
    this.lastId += 1;
    this.sinceAck += 1;
    this.lines.push({ id: this.lastId, sent, writtenAt: this.now() });
  }

  /** Whether to send an ack PING now: when idle, or after ACK_EVERY_LINES; one at a time. */
  wantsAck(idle: boolean): boolean {
    if (this.lines.length === 0 || this.pendingAck !== undefined) return false;
    return idle || this.sinceAck >= ACK_EVERY_LINES;
  }

  /** The PING token covering everything written so far. */
  startAck(): string {
    this.pendingAck = this.lastId;
    this.ackSentAt = this.now();
    this.sinceAck = 0;
    return `${TOKEN_PREFIX}${this.lastId}`;
  }

  /** A PONG arrived; true when it was one of ours. */
  confirm(token: string): boolean {
    if (!token.startsWith(TOKEN_PREFIX)) return false;
    const id = Number(token.slice(TOKEN_PREFIX.length));
    if (!Number.isInteger(id)) return false;
    this.lines = this.lines.filter((entry) => entry.id > id);
    if (this.pendingAck !== undefined && id >= this.pendingAck) {
      const sample = this.now() - this.ackSentAt;
      this.srttMs = this.srttMs === undefined ? sample : this.srttMs + (sample - this.srttMs) / 8;
      this.pendingAck = undefined;
    }
    return true;
  }

  /**
   * The connection is gone: the unconfirmed lines to send again, oldest first. `failed` are lines
   * whose write failed (always sent again).
   */
  takeForReplay(policy: ReplayPolicy, failed: ReadonlySet<SentLine>): { readonly replay: SentLine[] } {
    const cutoff = policy.kind === 'since' ? policy.at - 2 * this.rttMs - SHUTDOWN_SLACK_MS : 0;
    const replay = this.lines
      .filter((entry) => {
        if (failed.has(entry.sent) || policy.kind === 'all') return true;
        return policy.kind === 'since' && entry.writtenAt >= cutoff;
      })
      .map((entry) => entry.sent);
    this.lines = [];
    this.pendingAck = undefined;
    this.sinceAck = 0;
    return { replay };
  }
}
