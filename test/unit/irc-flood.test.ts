import { describe, expect, it } from 'vitest';
import { ACK_EVERY_LINES, UnconfirmedLines } from '../../src/adapters/irc/confirmations.js';
import { replayPolicy } from '../../src/adapters/irc/adapter.js';
import { SendQueue } from '../../src/adapters/irc/send-queue.js';
import { byteLength, renderMessage } from '../../src/adapters/irc/split.js';
import { TokenBucket, type Clock } from '../../src/adapters/irc/token-bucket.js';
import { DeliveryError } from '../../src/adapters/types.js';
import { ircAccountSchema } from '../../src/config/irc.js';

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

describe('send queue', () => {
  function line(text: string) {
    return { wire: `PRIVMSG #c :${text}`, text };
  }

  it('writes in order, holds back channels not joined, and reports written lines', async () => {
    const written: string[] = [];
    const remembered: string[] = [];
    const joined = new Set(['#a']);
    const queue = new SendQueue(new TokenBucket(100, 0), { onWritten: (l) => remembered.push(l.text) });
    queue.attach({
      writeLine: (wire) => {
        written.push(wire);
        return Promise.resolve();
      },
      isJoined: (channel) => joined.has(channel),
    });
    const b = queue.enqueue('#b', [line('b1')]);
    const a = queue.enqueue('#a', [line('a1'), line('a2')]);
    await a;
    expect(written.filter((w) => !w.startsWith('PING'))).toEqual(['PRIVMSG #c :a1', 'PRIVMSG #c :a2']);
    joined.add('#b');
    queue.pump();
    await b;
    expect(remembered).toEqual(['a1', 'a2', 'b1']);
  });

  it('rejects unsent lines with a retryable DeliveryError when the connection goes', async () => {
    const clock = new FakeClock();
    const queue = new SendQueue(new TokenBucket(1, 1, clock), { onWritten: () => undefined });
    queue.attach({ writeLine: () => Promise.resolve(), isJoined: () => true });
    const first = queue.enqueue('#a', [line('1')]);
    const second = queue.enqueue('#a', [line('2')]);
    await first;
    queue.detach('ping timeout');
    const error = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(true);
    await expect(queue.enqueue('#a', [line('3')])).rejects.toMatchObject({ retryable: true });
  });

  it('fails a message for a channel that is not joined in time, retryably, and writes nothing', async () => {
    const written: string[] = [];
    const queue = new SendQueue(new TokenBucket(5, 0), { onWritten: () => undefined }, 30);
    queue.attach({
      writeLine: (wire) => {
        written.push(wire);
        return Promise.resolve();
      },
      isJoined: () => false,
    });
    await expect(queue.enqueue('#gone', [line('x')])).rejects.toMatchObject({
      retryable: true,
      message: 'not in #gone after 0.03 s',
    });
    expect(queue.depth).toBe(0);
    expect(written).toEqual([]);
  });

  it('a failed write still delivers: the line is sent again after the reconnect', async () => {
    const queue = new SendQueue(new TokenBucket(5, 0), { onWritten: () => undefined });
    queue.attach({ writeLine: () => Promise.reject(new Error('EPIPE')), isJoined: () => true });
    await queue.enqueue('#a', [line('x')]);
    queue.detach('EPIPE');
    const written: string[] = [];
    queue.attach({ writeLine: (w) => (written.push(w), Promise.resolve()), isJoined: () => true });
    expect(written[0]).toBe('PRIVMSG #c :x');
  });

  it('confirms written lines with PING and sends the unconfirmed ones again first after a reconnect', async () => {
    const written: string[] = [];
    const sink = { writeLine: (w: string) => (written.push(w), Promise.resolve()), isJoined: () => true };
    const queue = new SendQueue(new TokenBucket(100, 0), { onWritten: () => undefined }, 60_000, 1);
    queue.attach(sink);
    await queue.enqueue('#a', [line('1')]);
    expect(written).toEqual(['PRIVMSG #c :1']); // confirmed after a short pause, not per line
    await pause(20);
    expect(written).toEqual(['PRIVMSG #c :1', 'PING :kr-ack-1']);
    expect(queue.confirm('kr-ack-1')).toBe(true);
    await queue.enqueue('#a', [line('2')]);
    await pause(20);
    await queue.enqueue('#a', [line('3')]);
    expect(written.slice(2)).toEqual(['PRIVMSG #c :2', 'PING :kr-ack-2', 'PRIVMSG #c :3']);
    // No PONG for 2 and 3: the connection drops.
    queue.detach('server went away');
    expect(queue.depth).toBe(2);
    written.length = 0;
    queue.attach(sink);
    await queue.enqueue('#a', [line('4')]);
    expect(written.filter((w) => !w.startsWith('PING'))).toEqual([
      'PRIVMSG #c :2',
      'PRIVMSG #c :3',
      'PRIVMSG #c :4',
    ]);
    expect(queue.confirm('something-else')).toBe(false);
  });

  it('finishes a message started before a disconnect after the reconnect, instead of failing it', async () => {
    const clock = new FakeClock();
    const written: string[] = [];
    const sink = { writeLine: (w: string) => (written.push(w), Promise.resolve()), isJoined: () => true };
    const queue = new SendQueue(new TokenBucket(2, 1, clock), { onWritten: () => undefined });
    queue.attach(sink);
    const message = queue.enqueue('#a', [line('part 1'), line('part 2'), line('part 3')]);
    expect(written).toEqual(['PRIVMSG #c :part 1', 'PRIVMSG #c :part 2']);
    queue.detach('ping timeout');
    await message; // the adapter owns it now
    clock.t = 100_000;
    written.length = 0;
    queue.attach({ ...sink, isJoined: () => false });
    queue.detach('again'); // nothing was written: still owned, still in order
    written.length = 0;
    clock.t = 200_000;
    queue.attach(sink);
    expect(written).toEqual(['PRIVMSG #c :part 1', 'PRIVMSG #c :part 2']);
    expect(queue.depth).toBe(1);
    queue.detach('stop');
  });
});

describe('send queue across a reconnect with a longer source', () => {
  it('fits lines rendered for the old connection to the new one: none over 512 bytes relayed, no text lost', () => {
    const written: { wire: string; sourceBytes: number }[] = [];
    let joined = true;
    const sink = (sourceBytes: number) => ({
      writeLine: (wire: string) => {
        written.push({ wire, sourceBytes });
        joined = false; // the first connection goes after one line
        return Promise.resolve();
      },
      isJoined: () => joined,
      sourceBytes,
    });
    const oldSource = byteLength(':r!~r@127.0.0.1 ');
    const newSource = byteLength(':r1234!~r@127.0.0.1 '); // an alternative nick after the reconnect
    const body = 'x'.repeat(1200);
    const { lines } = renderMessage({
      kind: 'text',
      target: '#a',
      prefix: '[kosmi] <bob> ',
      body,
      sourceBytes: oldSource,
      maxLineBytes: 512,
      maxLines: 8,
      cutMarker: ' [...]',
    });
    expect(lines).toHaveLength(3);
    const queue = new SendQueue(new TokenBucket(100, 0), { onWritten: () => undefined }, 60_000, 60_000);
    queue.attach(sink(oldSource));
    void queue.enqueue('#a', lines);
    expect(written).toHaveLength(1);
    queue.detach('server closed the link', { kind: 'failed-writes' }); // line 1 was read
    for (let i = 0; i < 10 && queue.depth > 0; i++) {
      joined = true;
      if (i === 0) queue.attach(sink(newSource));
      else queue.pump();
    }
    expect(queue.depth).toBe(0);
    const relayed = written.filter((w) => !w.wire.startsWith('PING'));
    for (const w of relayed) expect(w.sourceBytes + byteLength(w.wire) + 2).toBeLessThanOrEqual(512);
    expect(relayed.length).toBeGreaterThan(3);
    const text = relayed.map((w) => w.wire.slice('PRIVMSG #a :[kosmi] <bob> '.length)).join('');
    expect(text).toBe(body);
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
    expect(lines.confirm('kr-ack-1')).toBe(true);
    expect(lines.size).toBe(1);
    for (let i = 0; i < ACK_EVERY_LINES; i++) lines.added(sent(`n${i}`));
    expect(lines.wantsAck(false)).toBe(true);
    expect(lines.takeForReplay({ kind: 'all' }, new Set()).replay.map((s) => s.line.text)[0]).toBe('2');
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
  it('sends again only the lines whose write failed: the server read the others', async () => {
    let fail = false;
    const written: string[] = [];
    const sink = {
      writeLine: (w: string) =>
        fail ? Promise.reject(new Error('EPIPE')) : (written.push(w), Promise.resolve()),
      isJoined: () => true,
    };
    const queue = new SendQueue(new TokenBucket(100, 0), { onWritten: () => undefined });
    queue.attach(sink);
    await queue.enqueue('#a', [{ wire: 'PRIVMSG #a :read by the server', text: 'x' }]);
    fail = true;
    await queue.enqueue('#a', [{ wire: 'PRIVMSG #a :never written', text: 'y' }]);
    queue.detach('connection closed by the server', { kind: 'failed-writes' });
    fail = false;
    written.length = 0;
    queue.attach(sink);
    expect(written.filter((w) => !w.startsWith('PING'))).toEqual(['PRIVMSG #a :never written']);
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
    const { replay } = lines.takeForReplay({ kind: 'since', at: 1_100 }, new Set());
    expect(replay.map((s) => s.line.text)).toEqual(['recent']);
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
