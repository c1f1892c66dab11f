import { DeliveryError } from '../types.js';
import type { RenderedLine } from './split.js';
import type { TokenBucket } from './token-bucket.js';

/** Writes one line to the current socket; rejects when it did not reach the socket. */
export interface LineSink {
  writeLine(wire: string): Promise<void>;
  isJoined(channel: string): boolean;
}

/**
 * A message for a channel the connection is not in waits this long for the JOIN, then fails
 * retryably (the core retries it, in order): no send() hangs on a channel that never comes.
 */
export const NOT_JOINED_TIMEOUT_MS = 60_000;

interface Item {
  readonly channel: string;
  readonly lines: readonly RenderedLine[];
  next: number;
  readonly resolve: () => void;
  readonly reject: (error: DeliveryError) => void;
  waitTimer?: NodeJS.Timeout;
}

/**
 * The rate-limited send queue in front of the socket (issue 2 §4, flood control). Lines leave in
 * order per channel; a channel that is not joined (yet, or after a kick) holds its own lines back
 * without holding up the others. A message's promise resolves once its last line was written to
 * the socket; when the connection goes, everything not yet written rejects with a retryable
 * DeliveryError, so the core sends it again, in order, after the reconnect.
 */
export class SendQueue {
  private items: Item[] = [];
  private sink: LineSink | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly onWritten: (line: RenderedLine) => void,
    private readonly notJoinedTimeoutMs: number = NOT_JOINED_TIMEOUT_MS,
  ) {}

  get depth(): number {
    return this.items.length;
  }

  enqueue(channel: string, lines: readonly RenderedLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (this.sink === undefined) return Promise.reject(notConnected());
    const sink = this.sink;
    return new Promise((resolve, reject) => {
      const item: Item = { channel, lines, next: 0, resolve, reject };
      if (!sink.isJoined(channel)) {
        item.waitTimer = setTimeout(() => {
          if (item.next > 0 || !this.items.includes(item)) return;
          this.items = this.items.filter((other) => other !== item);
          reject(
            new DeliveryError(`not in ${channel} after ${this.notJoinedTimeoutMs / 1000} s`, {
              retryable: true,
            }),
          );
        }, this.notJoinedTimeoutMs);
      }
      this.items.push(item);
      this.pump();
    });
  }

  /** A connection is ready: start writing. */
  attach(sink: LineSink): void {
    this.sink = sink;
    this.pump();
  }

  /** The connection is gone: everything unwritten fails, retryably. */
  detach(reason: string): void {
    this.sink = undefined;
    this.clearTimer();
    const items = this.items;
    this.items = [];
    for (const item of items) {
      clearTimeout(item.waitTimer);
      item.reject(new DeliveryError(`IRC connection lost (${reason})`, { retryable: true }));
    }
  }

  /** Fails the lines waiting for one channel (it cannot be joined). */
  failChannel(channel: string, error: DeliveryError): void {
    const [failed, kept] = partition(this.items, (item) => item.channel === channel && item.next === 0);
    this.items = kept;
    for (const item of failed) {
      clearTimeout(item.waitTimer);
      item.reject(error);
    }
  }

  /** Something changed (a channel was joined): look again. */
  pump(): void {
    if (this.timer !== undefined) return;
    const sink = this.sink;
    while (sink !== undefined && this.sink === sink) {
      const item = this.items.find((candidate) => sink.isJoined(candidate.channel));
      if (item === undefined) return;
      const waitMs = this.bucket.waitMs();
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      this.bucket.tryTake();
      const line = item.lines[item.next];
      if (line === undefined) break; // cannot happen: finished items leave the list below
      item.next += 1;
      clearTimeout(item.waitTimer);
      const last = item.next === item.lines.length;
      if (last) this.items.splice(this.items.indexOf(item), 1);
      sink.writeLine(line.wire).then(
        () => {
          this.onWritten(line);
          if (last) item.resolve();
        },
        (error: unknown) => {
          this.items = this.items.filter((other) => other !== item);
          item.reject(new DeliveryError('IRC write failed', { retryable: true, cause: error }));
        },
      );
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function notConnected(): DeliveryError {
  return new DeliveryError('IRC account is not connected', { retryable: true });
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
