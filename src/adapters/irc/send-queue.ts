import { DeliveryError } from '../../core/adapter.js';
import type { TokenBucket } from '../../core/token-bucket.js';
import { UnconfirmedLines, type ReplayPolicy, type SentLine } from './confirmations.js';
import { ircLower } from './nick.js';
import { refitLine, type IrcLineKind, type RenderedLine } from './split.js';
import { formatClientTags } from './tags.js';

/** Writes one line to the current socket; rejects when it did not reach the socket. */
export interface LineSink {
  writeLine(wire: string): Promise<void>;
  isJoined(channel: string): boolean;
  /** Bytes of ":nick!user@host " the server adds to our lines now; lines are fitted to it at write time. */
  readonly sourceBytes?: number;
  /**
   * Whether a line may carry this IRCv3 client tag now (message-tags enabled, the tag not in
   * CLIENTTAGDENY). Asked at write time: a line can wait across a reconnect to a server without
   * tags, which would read "@tag=..." as an unknown command. Absent: never.
   */
  allowsClientTag?(name: string): boolean;
}

/** A confirmed piece: its lines' texts, and the server's msgid for its first line when echoed. */
export interface QueuedResult {
  readonly wire: string[];
  readonly networkId?: string;
}

/**
 * A piece for a channel the connection is not in waits this long for the JOIN, then fails
 * retryably (the core retries it, in order): no send() hangs on a channel that never comes.
 */
export const NOT_JOINED_TIMEOUT_MS = 60_000;

/** A quiet queue confirms its last lines after this pause (confirmations.ts). */
export const IDLE_ACK_DELAY_MS = 20;

/** One piece from the core: its line(s), and the promise the core waits on. */
interface Item {
  readonly channel: string;
  /** Mutable: a line that no longer fits the current connection is replaced by its pieces. */
  readonly lines: RenderedLine[];
  next: number;
  /** Lines written and not yet confirmed. */
  unconfirmed: number;
  settled: boolean;
  /** The msgid of this piece's first line the server echoed (IRCv3 echo-message). */
  networkId?: string;
  /** Told each line of this piece the moment it is written (the core's echo memory). */
  readonly onWire: (text: string) => void;
  readonly resolve: (result: QueuedResult) => void;
  readonly reject: (error: DeliveryError) => void;
  waitTimer?: NodeJS.Timeout;
}

interface ItemLine extends SentLine {
  readonly item: Item;
  /** The server echoed it already (echo-message): a second echo of the same text is another line. */
  echoed: boolean;
}

/**
 * The rate-limited writer in front of the socket (issue 2 §4, flood control). It owns no message:
 * the core hands it one piece at a time per send() and keeps the piece until this confirms it.
 * Lines leave in order per channel; a channel that is not joined (yet, or after a kick) holds its
 * own lines back without holding up the others. A piece resolves once a PONG confirmed its lines
 * (confirmations.ts); when the connection goes, every piece whose lines may not have reached the
 * server rejects with a retryable DeliveryError and the core sends it again, in order.
 */
export class SendQueue {
  private items: Item[] = [];
  private readonly unconfirmed = new UnconfirmedLines<ItemLine>();
  private readonly failedWrites = new Set<ItemLine>();
  private sink: LineSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleAckTimer: NodeJS.Timeout | undefined;
  private idleAckDue = false;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly notJoinedTimeoutMs: number = NOT_JOINED_TIMEOUT_MS,
    private readonly idleAckDelayMs: number = IDLE_ACK_DELAY_MS,
    private readonly maxLineBytes: number = 512,
  ) {}

  /** Pieces not yet confirmed. */
  get depth(): number {
    return this.items.length + this.unconfirmed.size;
  }

  /**
   * Resolves with the lines' texts as written, and the msgid the server gave the piece when it
   * echoes our lines, once the server confirmed all of them; `onWire` hears each line as the
   * socket takes it.
   */
  send(
    channel: string,
    lines: readonly RenderedLine[],
    onWire: (text: string) => void = () => undefined,
  ): Promise<QueuedResult> {
    if (lines.length === 0) return Promise.resolve({ wire: [] });
    const sink = this.sink;
    if (sink === undefined) return Promise.reject(notConnected());
    return new Promise((resolve, reject) => {
      const item: Item = {
        channel,
        lines: [...lines],
        next: 0,
        unconfirmed: 0,
        settled: false,
        onWire,
        resolve,
        reject,
      };
      if (!sink.isJoined(channel)) {
        item.waitTimer = setTimeout(() => {
          if (item.next > 0 || !this.items.includes(item)) return;
          this.items = this.items.filter((other) => other !== item);
          const seconds = this.notJoinedTimeoutMs / 1000;
          this.fail(item, new DeliveryError(`not in ${channel} after ${seconds} s`, { retryable: true }));
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
   * The connection is gone. Pieces whose lines the close shows the server read are confirmed;
   * every other piece not confirmed yet fails retryably, and the core sends it again.
   */
  detach(reason: string, policy: ReplayPolicy = { kind: 'all' }): void {
    this.sink = undefined;
    this.clearTimer();
    const { delivered, lost } = this.unconfirmed.settleOnClose(policy, this.failedWrites);
    this.failedWrites.clear();
    const error = new DeliveryError(`IRC connection lost (${reason})`, { retryable: true });
    for (const sent of lost) this.fail(sent.item, error);
    for (const sent of delivered) this.lineConfirmed(sent.item);
    const items = this.items;
    this.items = [];
    for (const item of items) this.fail(item, error);
  }

  /** The server answered an ack PING (PONG :kr-ack-N). True when the token was ours. */
  confirm(token: string): boolean {
    const confirmed = this.unconfirmed.confirm(token);
    if (confirmed === undefined) return false;
    for (const sent of confirmed) this.lineConfirmed(sent.item);
    this.pump();
    return true;
  }

  /**
   * The server echoed one of our lines (IRCv3 echo-message) with its msgid: the oldest unconfirmed
   * line of that channel with that kind and text, not echoed before, is the one (a client's lines
   * are processed in order, and the echo comes before the PONG that confirms the line). True when
   * a line matched; an echo of a line confirmed already, or changed by the server, matches none.
   */
  echoed(channel: string, kind: IrcLineKind, text: string, msgid: string): boolean {
    const key = ircLower(channel);
    const sent = this.unconfirmed.find(
      (candidate) =>
        !candidate.echoed &&
        ircLower(candidate.channel) === key &&
        candidate.line.parts?.kind === kind &&
        candidate.line.text === text,
    );
    if (sent === undefined) return false;
    sent.echoed = true;
    sent.item.networkId ??= msgid;
    return true;
  }

  /** Fails the pieces waiting for one channel (it cannot be joined). */
  failChannel(channel: string, error: DeliveryError): void {
    const failed = this.items.filter((item) => item.channel === channel && item.next === 0);
    this.items = this.items.filter((item) => !failed.includes(item));
    for (const item of failed) this.fail(item, error);
  }

  /** Something changed (a channel was joined, a PONG came): look again. */
  pump(): void {
    if (this.timer !== undefined) return;
    const sink = this.sink;
    while (sink !== undefined && this.sink === sink) {
      const item = this.items.find((candidate) => sink.isJoined(candidate.channel));
      const idle = item === undefined;
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
      } else if (item !== undefined) {
        this.writeItemLine(sink, item);
      }
    }
  }

  private writeItemLine(sink: LineSink, item: Item): void {
    const stored = item.lines[item.next];
    if (stored === undefined) return; // cannot happen: finished items leave the list below
    // The line as it must be written on this connection (split.ts refitLine).
    const fitted =
      sink.sourceBytes === undefined ? [stored] : refitLine(stored, sink.sourceBytes, this.maxLineBytes);
    item.lines.splice(item.next, 1, ...fitted);
    const line = item.lines[item.next];
    if (line === undefined) return; // cannot happen: refitLine returns at least one line
    item.next += 1;
    item.unconfirmed += 1;
    clearTimeout(item.waitTimer);
    if (item.next === item.lines.length) this.items.splice(this.items.indexOf(item), 1);
    const sent: ItemLine = { channel: item.channel, line, item, echoed: false };
    this.unconfirmed.added(sent);
    const tags = (line.parts?.tags ?? []).filter((tag) => sink.allowsClientTag?.(tag.name) === true);
    // A failed write leaves the line unconfirmed, so its piece fails when the connection closes.
    sink.writeLine(formatClientTags(tags) + line.wire).then(
      () => item.onWire(line.text),
      () => this.failedWrites.add(sent),
    );
  }

  private lineConfirmed(item: Item): void {
    item.unconfirmed -= 1;
    if (item.settled || item.unconfirmed > 0 || item.next < item.lines.length) return;
    item.settled = true;
    const wire = item.lines.map((line) => line.text);
    item.resolve(item.networkId === undefined ? { wire } : { wire, networkId: item.networkId });
  }

  private fail(item: Item, error: DeliveryError): void {
    clearTimeout(item.waitTimer);
    if (item.settled) return;
    item.settled = true;
    item.reject(error);
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
