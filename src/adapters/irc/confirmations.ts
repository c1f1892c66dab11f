import type { RenderedLine } from './split.js';

/** A line written to the socket, for its channel. */
export interface SentLine {
  readonly channel: string;
  readonly line: RenderedLine;
}

/** What became of the unconfirmed lines when the connection closed. */
export interface CloseSettlement<T extends SentLine> {
  /** The close shows the server read them. */
  readonly delivered: T[];
  /** They may be lost: their pieces are sent again after the reconnect. */
  readonly lost: T[];
}

/** Under a steady stream (never idle), confirm at least every this many lines. */
export const ACK_EVERY_LINES = 20;
const TOKEN_PREFIX = 'kr-ack-';
/** Added to twice the round-trip time when deciding which lines a closing server may have dropped. */
const SHUTDOWN_SLACK_MS = 5;
/** Round-trip estimate before the first PONG: a distant server. */
const INITIAL_RTT_MS = 250;

/**
 * Which unconfirmed lines may be lost after a disconnect:
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
 * What is unconfirmed when the connection drops is reported lost, and the core sends its piece
 * again after the reconnect: at worst a duplicate, never a loss.
 */
export class UnconfirmedLines<T extends SentLine = SentLine> {
  private lines: { readonly id: number; readonly sent: T; readonly writtenAt: number }[] = [];
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

  added(sent: T): void {
    this.lastId += 1;
    this.sinceAck += 1;
    this.lines.push({ id: this.lastId, sent, writtenAt: this.now() });
  }

  /** The oldest unconfirmed line that passes `test` (an echo-message echo is matched to its line). */
  find(test: (sent: T) => boolean): T | undefined {
    return this.lines.find((entry) => test(entry.sent))?.sent;
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

  /** A PONG arrived: the lines it confirms, or undefined when the token was not ours. */
  confirm(token: string): T[] | undefined {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const id = Number(token.slice(TOKEN_PREFIX.length));
    if (!Number.isInteger(id)) return undefined;
    const confirmed = this.lines.filter((entry) => entry.id <= id).map((entry) => entry.sent);
    this.lines = this.lines.filter((entry) => entry.id > id);
    if (this.pendingAck !== undefined && id >= this.pendingAck) {
      const sample = this.now() - this.ackSentAt;
      this.srttMs = this.srttMs === undefined ? sample : this.srttMs + (sample - this.srttMs) / 8;
      this.pendingAck = undefined;
    }
    return confirmed;
  }

  /**
   * The connection is gone: which unconfirmed lines the close shows as read by the server, and
   * which may be lost, oldest first. `failed` are lines whose write failed (always lost).
   */
  settleOnClose(policy: ReplayPolicy, failed: ReadonlySet<T>): CloseSettlement<T> {
    const cutoff = policy.kind === 'since' ? policy.at - 2 * this.rttMs - SHUTDOWN_SLACK_MS : 0;
    const delivered: T[] = [];
    const lost: T[] = [];
    for (const entry of this.lines) {
      const mayBeLost =
        failed.has(entry.sent) ||
        policy.kind === 'all' ||
        (policy.kind === 'since' && entry.writtenAt >= cutoff);
      (mayBeLost ? lost : delivered).push(entry.sent);
    }
    this.lines = [];
    this.pendingAck = undefined;
    this.sinceAck = 0;
    return { delivered, lost };
  }
}
