import { describe, expect, it } from 'vitest';
import { ACK_EVERY_LINES, UnconfirmedLines } from '../../src/adapters/irc/confirmations.js';
import { replayPolicy } from '../../src/adapters/irc/adapter.js';
import { SendQueue } from '../../src/adapters/irc/send-queue.js';
import { byteLength, renderLine } from '../../src/adapters/irc/split.js';
import { TokenBucket, type Clock } from '../../src/core/token-bucket.js';
import { DeliveryError } from '../../src/core/adapter.js';
import { ircAccountSchema } from '../../src/config/irc.js';

/** A piece's wire texts once the server confirmed them. */
const enqueue = (queue: SendQueue, ...args: Parameters<SendQueue['send']>): Promise<string[]> =>
  queue.send(...args).then((result) => result.wire);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class FakeClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
}

describe('token bucket', () => {
  it('allows a burst, then the sustained rate', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(4, 2, clock);
    for (let i = 0; i < 4; i++) expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.waitMs()).toBe(500);
    clock.t = 499;
    expect(bucket.tryTake()).toBe(false);
    clock.t = 500;
    expect(bucket.tryTake()).toBe(true);
    // Over 10 s at most burst + 10 s * rate lines get through.
    let sent = 0;
    for (clock.t = 500; clock.t <= 10_500; clock.t += 10) while (bucket.tryTake()) sent += 1;
    expect(sent).toBe(20);
  });

  it('refills no further than the burst', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(3, 1, clock);
    clock.t = 1_000_000;
    let sent = 0;
    while (bucket.tryTake()) sent += 1;
    expect(sent).toBe(3);
  });

  it('counts lines that cannot wait (forceTake) against the budget', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(2, 1, clock);
    bucket.forceTake();
    bucket.forceTake();
    bucket.forceTake();
    expect(bucket.waitMs()).toBe(2000);
  });

  it('rate 0 is unlimited', () => {
    const bucket = new TokenBucket(1, 0, new FakeClock());
    for (let i = 0; i < 10_000; i++) expect(bucket.tryTake()).toBe(true);
    expect(bucket.waitMs()).toBe(0);
  });
});

/** A sink that answers every ack PING with its PONG, as a server does, on the next tick. */
function answeringSink(
  queue: () => SendQueue,
  written: string[],
  joined: (channel: string) => boolean = () => true,
) {
  return {
    writeLine: (wire: string) => {
      written.push(wire);
      if (wire.startsWith('PING :')) setImmediate(() => queue().confirm(wire.slice('PING :'.length)));
      return Promise.resolve();
    },
    isJoined: joined,
  };
}

describe('send queue', () => {
  function line(text: string) {
    return { wire: `PRIVMSG #c :${text}`, text };
  }

  it('writes in order, holds back channels not joined, reports each line as written, resolves once confirmed', async () => {
    const written: string[] = [];
    const remembered: string[] = [];
    const joined = new Set(['#a']);
    const queue: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    const onWire = (text: string): void => void remembered.push(text);
    queue.attach(
      answeringSink(
        () => queue,
        written,
        (channel) => joined.has(channel),
      ),
    );
    const b = enqueue(queue, '#b', [line('b1')], onWire);
    const a = enqueue(queue, '#a', [line('a1'), line('a2')], onWire);
    expect(await a).toEqual(['a1', 'a2']);
    expect(written.filter((w) => !w.startsWith('PING'))).toEqual(['PRIVMSG #c :a1', 'PRIVMSG #c :a2']);
    expect(written.some((w) => w.startsWith('PING'))).toBe(true); // resolved by the PONG, not the write
    joined.add('#b');
    queue.pump();
    expect(await b).toEqual(['b1']);
    expect(remembered).toEqual(['a1', 'a2', 'b1']);
  });

  it('a piece resolves only after the PONG that covers it; without one, the close fails it retryably', async () => {
    const written: string[] = [];
    const queue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    queue.attach({ writeLine: (w) => (written.push(w), Promise.resolve()), isJoined: () => true });
    let settled = false;
    const first = enqueue(queue, '#a', [line('1')]).finally(() => (settled = true));
    await pause(20);
    expect(written).toEqual(['PRIVMSG #c :1', 'PING :kr-ack-1']);
    expect(settled).toBe(false);
    expect(queue.confirm('kr-ack-1')).toBe(true);
    expect(await first).toEqual(['1']);
    const second = enqueue(queue, '#a', [line('2')]);
    const third = enqueue(queue, '#a', [line('3')]);
    await pause(20);
    // No PONG for 2 and 3: the connection drops. Both go back to the core, in order.
    queue.detach('server went away');
    for (const piece of [second, third]) {
      const error = await piece.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).retryable).toBe(true);
    }
    expect(queue.depth).toBe(0);
    await expect(enqueue(queue, '#a', [line('4')])).rejects.toMatchObject({ retryable: true });
    expect(queue.confirm('something-else')).toBe(false);
  });

  it('fails a piece for a channel that is not joined in time, retryably, and writes nothing', async () => {
    const written: string[] = [];
    const queue = new SendQueue(new TokenBucket(5, 0), 30);
    queue.attach({
      writeLine: (wire) => {
        written.push(wire);
        return Promise.resolve();
      },
      isJoined: () => false,
    });
    await expect(enqueue(queue, '#gone', [line('x')])).rejects.toMatchObject({
      retryable: true,
      message: 'not in #gone after 0.03 s',
    });
    expect(queue.depth).toBe(0);
    expect(written).toEqual([]);
  });
});

describe('send queue across a reconnect with a longer source', () => {
  it('fits a line rendered for the old connection to the new one: none over 512 bytes relayed, no text lost', async () => {
    const written: string[] = [];
    const oldSource = byteLength(':r!~r@127.0.0.1 ');
    const newSource = byteLength(':r1234!~r@127.0.0.1 '); // an alternative nick after the reconnect
    const text = 'x'.repeat(512 - 2 - oldSource - byteLength('PRIVMSG #a :[kosmi] <bob> '));
    const rendered = renderLine({ kind: 'text', target: '#a', prefix: '[kosmi] <bob> ', piece: text });
    expect(oldSource + byteLength(rendered.wire) + 2).toBe(512);
    const queue: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    queue.attach({ ...answeringSink(() => queue, written), sourceBytes: newSource });
    const wire = await enqueue(queue, '#a', [rendered]);
    const relayed = written.filter((w) => !w.startsWith('PING'));
    expect(relayed).toHaveLength(2);
    for (const w of relayed) expect(newSource + byteLength(w) + 2).toBeLessThanOrEqual(512);
    expect(relayed.map((w) => w.slice('PRIVMSG #a :[kosmi] <bob> '.length)).join('')).toBe(text);
    expect(wire).toHaveLength(2);
    queue.detach('done');
  });
});

describe('unconfirmed lines', () => {
  const sent = (text: string) => ({ channel: '#a', line: { wire: `PRIVMSG #a :${text}`, text } });

  it('asks for a confirmation when idle, or every ACK_EVERY_LINES lines under a steady stream, one at a time', () => {
    const lines = new UnconfirmedLines();
    expect(lines.wantsAck(true)).toBe(false);
    lines.added(sent('1'));
    expect(lines.wantsAck(false)).toBe(false);
    expect(lines.wantsAck(true)).toBe(true);
    expect(lines.startAck()).toBe('kr-ack-1');
    lines.added(sent('2'));
    expect(lines.wantsAck(true)).toBe(false); // one outstanding
    expect(lines.confirm('kr-ack-1')).toHaveLength(1);
    expect(lines.size).toBe(1);
    for (let i = 0; i < ACK_EVERY_LINES; i++) lines.added(sent(`n${i}`));
    expect(lines.wantsAck(false)).toBe(true);
    expect(lines.settleOnClose({ kind: 'all' }, new Set()).lost.map((s) => s.line.text)[0]).toBe('2');
    expect(lines.size).toBe(0);
  });
});

describe('default flood control against the servers it must not flood', () => {
  const defaults = ircAccountSchema.parse({ server: 'irc.example.test', nick: 'relay' });

  /**
   * Solanum (Libera.Chat) ircd/packet.c with its defaults: a registered client may have 5 lines
   * parsed at once (client_flood_burst_max), the allowance recovers 2 lines per second
   * (client_flood_message_num, in flood_recalc once a second), and a client with more than 20
   * unparsed lines queued (client_flood_max_lines) is exited with "Excess Flood".
   */
  it('never has more than 20 lines waiting in a Solanum server, sending flat out for 10 minutes', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(defaults.flood_burst, defaults.flood_rate, clock);
    let queued = 0;
    let sentParsed = 0;
    let maxQueued = 0;
    let delivered = 0;
    const parse = (): void => {
      while (queued > 0 && sentParsed < 5) {
        queued -= 1;
        sentParsed += 1;
        delivered += 1;
      }
    };
    for (clock.t = 0; clock.t < 600_000; clock.t += 10) {
      if (clock.t % 1000 === 0) {
        sentParsed = Math.max(0, sentParsed - 2);
        parse();
      }
      if (clock.t % 30_000 === 0) {
        bucket.forceTake(); // a PONG
        queued += 1;
        parse();
      }
      while (bucket.tryTake()) {
        queued += 1;
        parse();
        maxQueued = Math.max(maxQueued, queued);
      }
    }
    expect(maxQueued).toBeLessThanOrEqual(20);
    expect(delivered).toBeGreaterThan(600 * defaults.flood_rate * 0.95);
  });

  /** ngircd 26 lets a client through at about 3 short lines per second (measured; conn.c penalties). */
  it('stays under the rate ngircd processes with its default penalties', () => {
    expect(defaults.flood_rate).toBeLessThan(3);
    expect(defaults.flood_burst).toBeLessThanOrEqual(5);
  });
});

describe('send queue after a clean close', () => {
  it('confirms the lines the server read; only a piece whose write failed goes back to the core', async () => {
    let fail = false;
    const sink = {
      writeLine: () => (fail ? Promise.reject(new Error('EPIPE')) : Promise.resolve()),
      isJoined: () => true,
    };
    const queue = new SendQueue(new TokenBucket(100, 0), 60_000, 60_000);
    queue.attach(sink);
    const read = enqueue(queue, '#a', [{ wire: 'PRIVMSG #a :read by the server', text: 'x' }]);
    await pause(1);
    fail = true;
    const lost = enqueue(queue, '#a', [{ wire: 'PRIVMSG #a :never written', text: 'y' }]);
    await pause(1);
    queue.detach('connection closed by the server', { kind: 'failed-writes' });
    expect(await read).toEqual(['x']);
    await expect(lost).rejects.toMatchObject({ retryable: true });
  });
});

describe('replay after a close announced with ERROR', () => {
  it('sends again only the lines written within about one round trip before the ERROR', () => {
    let t = 0;
    const lines = new UnconfirmedLines(() => t);
    const sent = (text: string) => ({ channel: '#a', line: { wire: `PRIVMSG #a :${text}`, text } });
    lines.added(sent('0'));
    const token = lines.startAck();
    t = 10;
    lines.confirm(token); // measured round trip: 10 ms
    expect(lines.rttMs).toBe(10);
    t = 1_000;
    lines.added(sent('old')); // written 100 ms before the ERROR: the server had relayed it
    t = 1_090;
    lines.added(sent('recent')); // 10 ms before: maybe read, never relayed
    const { lost, delivered } = lines.settleOnClose({ kind: 'since', at: 1_100 }, new Set());
    expect(lost.map((s) => s.line.text)).toEqual(['recent']);
    expect(delivered.map((s) => s.line.text)).toEqual(['old']);
  });

  it('maps close outcomes to replay policies', () => {
    expect(replayPolicy({ reason: 'x', fatal: false, clean: true })).toEqual({ kind: 'failed-writes' });
    expect(replayPolicy({ reason: 'x', fatal: false, clean: false })).toEqual({ kind: 'all' });
    expect(replayPolicy({ reason: 'x', fatal: false })).toEqual({ kind: 'all' });
    expect(replayPolicy({ reason: 'x', fatal: false, clean: true, errorAt: 5 })).toEqual({
      kind: 'since',
      at: 5,
    });
  });
});
