import { DeliveryError } from '../types.js';
import { MAX_REPLAY_LINES, UnconfirmedLines, type ReplayPolicy, type SentLine } from './confirmations.js';
import { refitLine, type RenderedLine } from './split.js';
import type { TokenBucket } from './token-bucket.js';

/** Writes one line to the current socket; rejects when it did not reach the socket. */
export interface LineSink {
  writeLine(wire: string): Promise<void>;
  isJoined(channel: string): boolean;
  /** Bytes of ":nick!user@host " the server adds to our lines now; lines are fitted to it at write time. */
  readonly sourceBytes?: number;
}

/**
 * A message for a channel the connection is not in waits this long for the JOIN, then fails
 * retryably (the core retries it, in order): no send() hangs on a channel that never comes.
 */
export const NOT_JOINED_TIMEOUT_MS = 60_000;

/** A quiet queue confirms its last lines after this pause (confirmations.ts). */
export const IDLE_ACK_DELAY_MS = 20;

interface Item {
  readonly channel: string;
  /** Mutable: a line that no longer fits the current connection is replaced by its pieces. */
  readonly lines: RenderedLine[];
  next: number;
  readonly resolve: () => void;
  readonly reject: (error: DeliveryError) => void;
  waitTimer?: NodeJS.Timeout;
}

export interface SendQueueEvents {
  /** Every PRIVMSG/NOTICE written (echo suppression). */
  readonly onWritten: (line: RenderedLine) => void;
  /** Unconfirmed lines beyond MAX_REPLAY_LINES were given up after a disconnect. */
  readonly onReplayDropped?: (count: number) => void;
}

/**
 * The rate-limited send queue in front of the socket (issue 2 §4, flood control). Lines leave in
 * order per channel; a channel that is not joined (yet, or after a kick) holds its own lines back
 * without holding up the others. A message's promise resolves once its last line was written to
 * the socket; when the connection goes, everything not yet written rejects with a retryable
 * DeliveryError, so the core sends it again, in order, after the reconnect. Lines written but not
 * confirmed by the server (confirmations.ts) are written again first after the reconnect.
 */
export class SendQueue {
  private items: Item[] = [];
  private replay: SentLine[] = [];
  private readonly unconfirmed = new UnconfirmedLines();
  private readonly failedWrites = new Set<SentLine>();
  private sink: LineSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleAckTimer: NodeJS.Timeout | undefined;
  private idleAckDue = false;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly events: SendQueueEvents,
    private readonly notJoinedTimeoutMs: number = NOT_JOINED_TIMEOUT_MS,
    private readonly idleAckDelayMs: number = IDLE_ACK_DELAY_MS,
    private readonly maxLineBytes: number = 512,
  ) {}

  /** Lines not yet written: waiting messages' remaining lines plus lines waiting to be sent again. */
  get pendingLines(): number {
    return this.items.reduce((sum, item) => sum + item.lines.length - item.next, 0) + this.replay.length;
  }

  /** Messages waiting plus lines waiting to be sent again. */
  get depth(): number {
    return this.items.length + this.replay.length;
  }

  enqueue(channel: string, lines: readonly RenderedLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const sink = this.sink;
    if (sink === undefined) return Promise.reject(notConnected());
    return new Promise((resolve, reject) => {
      const item: Item = { channel, lines: [...lines], next: 0, resolve, reject };
      if (!sink.isJoined(channel)) {
        item.waitTimer = setTimeout(() => {
          if (item.next > 0 || !this.items.includes(item)) return;
          this.items = this.items.filter((other) => other !== item);
          const seconds = this.notJoinedTimeoutMs / 1000;
          reject(new DeliveryError(`not in ${channel} after ${seconds} s`, { retryable: true }));
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

  /**
   * The connection is gone. Messages not started fail, retryably (the core sends them again).
   * Unconfirmed lines (unless the close shows the server read them all), and the rest of a
   * message already started, wait for the next connection: from its first written line on, a
   * message is the adapter's to deliver.
   */
  detach(reason: string, policy: ReplayPolicy = { kind: 'all' }): void {
    this.sink = undefined;
    this.clearTimer();
    const { replay } = this.unconfirmed.takeForReplay(policy, this.failedWrites);
    this.failedWrites.clear();
    const items = this.items;
    this.items = [];
    const rest: SentLine[] = [];
    for (const item of items) {
      clearTimeout(item.waitTimer);
      if (item.next === 0) {
        item.reject(new DeliveryError(`IRC connection lost (${reason})`, { retryable: true }));
        continue;
      }
      for (const line of item.lines.slice(item.next)) rest.push({ channel: item.channel, line });
      item.resolve();
    }
    const all = [...this.replay, ...replay, ...rest];
    const dropped = Math.max(0, all.length - MAX_REPLAY_LINES);
    this.replay = all.slice(dropped);
    if (dropped > 0) this.events.onReplayDropped?.(dropped);
  }

  /** The server answered an ack PING (PONG :kr-ack-N). True when the token was ours. */
  confirm(token: string): boolean {
    const ours = this.unconfirmed.confirm(token);
    if (ours) this.pump();
    return ours;
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

  /** Something changed (a channel was joined, a PONG came): look again. */
  pump(): void {
    if (this.timer !== undefined) return;
    const sink = this.sink;
    while (sink !== undefined && this.sink === sink) {
      const replayAt = this.replay.findIndex((sent) => sink.isJoined(sent.channel));
      const item =
        replayAt >= 0
          ? undefined
          : this.items.find(
              (c) => sink.isJoined(c.channel) && !this.replay.some((s) => s.channel === c.channel),
            );
      const idle = replayAt < 0 && item === undefined;
      // Idle: confirm after a short pause, so a fast stream is confirmed every ACK_EVERY_LINES
      // lines rather than after each one (every ack is a line the server must parse too).
      const ack = this.unconfirmed.wantsAck(idle) && (!idle || this.idleAckDue);
      if (idle && !ack) {
        if (this.unconfirmed.wantsAck(true)) this.scheduleIdleAck();
        return;
      }
      const waitMs = this.bucket.waitMs();
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      this.bucket.tryTake();
      if (ack) {
        this.idleAckDue = false;
        // A failed PING write means the connection is going; the close handler cleans up.
        sink.writeLine(`PING :${this.unconfirmed.startAck()}`).catch(() => undefined);
      } else if (replayAt >= 0) {
        const [sent] = this.replay.splice(replayAt, 1);
        if (sent !== undefined) {
          const [first, ...more] = this.fit(sink, sent.line);
          this.replay.splice(replayAt, 0, ...more.map((line) => ({ channel: sent.channel, line })));
          if (first !== undefined) void this.write(sink, { channel: sent.channel, line: first }); // never rejects
        }
      } else if (item !== undefined) {
        this.writeItemLine(sink, item);
      }
    }
  }

  /** The line as it must be written on this connection (split.ts refitLine). */
  private fit(sink: LineSink, line: RenderedLine): RenderedLine[] {
    return sink.sourceBytes === undefined ? [line] : refitLine(line, sink.sourceBytes, this.maxLineBytes);
  }

  private writeItemLine(sink: LineSink, item: Item): void {
    const stored = item.lines[item.next];
    if (stored === undefined) return; // cannot happen: finished items leave the list below
    item.lines.splice(item.next, 1, ...this.fit(sink, stored));
    const line = item.lines[item.next];
    if (line === undefined) return; // cannot happen: refitLine returns at least one line
    item.next += 1;
    clearTimeout(item.waitTimer);
    const last = item.next === item.lines.length;
    if (last) this.items.splice(this.items.indexOf(item), 1);
    // A failed write leaves the line unconfirmed, so it is sent again after the reconnect: the
    // message is delivered either way.
    void this.write(sink, { channel: item.channel, line }).then(() => {
      if (last) item.resolve();
    });
  }

  /** Never rejects: a line that did not reach the socket stays unconfirmed. */
  private write(sink: LineSink, sent: SentLine): Promise<void> {
    this.unconfirmed.added(sent);
    return sink.writeLine(sent.line.wire).then(
      () => this.events.onWritten(sent.line),
      () => {
        this.failedWrites.add(sent); // not on the wire: sent again after the reconnect
      },
    );
  }

  private scheduleIdleAck(): void {
    if (this.idleAckTimer !== undefined) return;
    this.idleAckTimer = setTimeout(() => {
      this.idleAckTimer = undefined;
      this.idleAckDue = true;
      this.pump();
    }, this.idleAckDelayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.idleAckTimer !== undefined) clearTimeout(this.idleAckTimer);
    this.idleAckTimer = undefined;
    this.idleAckDue = false;
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
