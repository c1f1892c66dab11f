import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../../src/core/adapter.js';
import type { Gateway } from '../../src/core/gateway.js';
import { EchoGuard } from '../../src/core/echo-guard.js';
import { Router, type RouterAccount } from '../../src/core/router.js';
import { FakeAdapter } from '../helpers/fake-adapter.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';
import { waitFor } from '../helpers/wait-for.js';

const silent = pino({ level: 'silent' });

function setup(
  gateways: Gateway[],
  adapters: FakeAdapter[],
  options: {
    format?: string;
    maxMessages?: number;
    maxAgeMs?: number;
    now?: () => number;
    logger?: pino.Logger;
    ledger?: MemoryLedger;
  } = {},
) {
  const accounts = new Map<string, RouterAccount>();
  for (const adapter of adapters) {
    accounts.set(adapter.account, {
      adapter,
      label: adapter.protocol,
      remoteNickFormat: options.format ?? '[{PROTOCOL}] <{NICK}> ',
      queueBounds: { maxMessages: options.maxMessages ?? 1000, maxAgeMs: options.maxAgeMs ?? 900_000 },
      replyStyle: 'mention',
      editMarker: '(edited) ',
      editWindowMs: 900_000,
    });
  }
  const echoGuard = new EchoGuard();
  const ledger = options.ledger ?? new MemoryLedger();
  const router = new Router({
    gateways,
    accounts,
    echoGuard,
    store: ledger,
    logger: options.logger ?? silent,
    ...(options.now ? { now: options.now } : {}),
  });
  return { router, echoGuard, ledger };
}

const inout = (account: string, channel: string) => ({ account, channel, direction: 'inout' as const });

/** Two connected IRC accounts bridged by one gateway: irc.a #x <-> irc.b #y. */
async function bridgedPair(options: Parameters<typeof setup>[2] = {}) {
  const a = new FakeAdapter('irc.a', 'irc');
  const b = new FakeAdapter('irc.b', 'irc');
  for (const x of [a, b]) await x.start();
  const { router, echoGuard, ledger } = setup(
    [{ name: 'g', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y')] }],
    [a, b],
    options,
  );
  return { a, b, router, echoGuard, ledger };
}

describe('Router', () => {
  it('relays to every other channel of the gateway, never back to the source', async () => {
    const a = new FakeAdapter('irc.a', 'irc');
    const b = new FakeAdapter('irc.b', 'irc');
    const k = new FakeAdapter('kosmi.main', 'kosmi');
    for (const x of [a, b, k]) await x.start();
    setup(
      [{ name: 'g', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y'), inout('kosmi.main', '@room')] }],
      [a, b, k],
    );
    a.receive('#x', 'hello', 'bob');
    await waitFor(() => b.sent.length === 1 && k.sent.length === 1);
    expect(a.sent).toHaveLength(0);
    expect(b.sent[0]).toMatchObject({ channel: '#y', text: 'hello', prefix: '[irc] <bob> ', nick: 'bob' });
    expect(b.sent[0]?.origin).toMatchObject({
      account: 'irc.a',
      channel: '#x',
      protocol: 'irc',
      gateway: 'g',
    });
    expect(k.sent[0]?.channel).toBe('@room');
  });

  it('honours in and out entries', async () => {
    const src = new FakeAdapter('irc.src', 'irc');
    const dst = new FakeAdapter('irc.dst', 'irc');
    for (const x of [src, dst]) await x.start();
    setup(
      [
        {
          name: 'g',
          endpoints: [
            { account: 'irc.src', channel: '#in', direction: 'in' },
            { account: 'irc.dst', channel: '#out', direction: 'out' },
          ],
        },
      ],
      [src, dst],
    );
    dst.receive('#out', 'from the out side');
    src.receive('#in', 'from the in side');
    await waitFor(() => dst.sent.length === 1);
    expect(dst.sent[0]?.text).toBe('from the in side');
    expect(src.sent).toHaveLength(0);
  });

  it('delivers once per destination when two gateways share source and destination', async () => {
    const a = new FakeAdapter('irc.a', 'irc');
    const b = new FakeAdapter('irc.b', 'irc');
    for (const x of [a, b]) await x.start();
    const { router } = setup(
      [
        { name: 'g1', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y')] },
        { name: 'g2', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y')] },
      ],
      [a, b],
    );
    a.receive('#x', 'once');
    await waitFor(() => b.sent.length === 1);
    expect(router.counters.relayed).toBe(1);
  });

  it('drops what the relay itself sent when any of its accounts reads it back', async () => {
    const { a, b, router, echoGuard } = await bridgedPair();
    echoGuard.remember('[kosmi] <carol> hi');
    a.receive('#x', '[kosmi] <carol> hi', 'relay-b');
    a.receive('#x', 'a human line');
    await waitFor(() => b.sent.length === 1);
    expect(b.sent[0]?.text).toBe('a human line');
    expect(router.counters.echoes).toBe(1);
  });

  it('matches a channel whose case the network changed (IRC folds case)', async () => {
    const a = new FakeAdapter('irc.a', 'irc');
    const b = new FakeAdapter('irc.b', 'irc');
    for (const x of [a, b]) await x.start();
    setup([{ name: 'g', endpoints: [inout('irc.a', '#MovieNight'), inout('irc.b', '#y')] }], [a, b]);
    a.receive('#movienight', 'case');
    await waitFor(() => b.sent.length === 1);
  });

  it('keeps kind, rich text and edits, and renders the destination account format', async () => {
    const a = new FakeAdapter('matrix.m', 'matrix');
    const b = new FakeAdapter('irc.b', 'irc');
    for (const x of [a, b]) await x.start();
    setup([{ name: 'gw', endpoints: [inout('matrix.m', '!r:s'), inout('irc.b', '#y')] }], [a, b], {
      format: '<{NOPINGNICK}@{LABEL}/{GATEWAY}> ',
    });
    a.receive('!r:s', 'waves', 'dave', { kind: 'action' });
    await waitFor(() => b.sent.length === 1);
    expect(b.sent[0]).toMatchObject({ kind: 'action', prefix: '<d\u200bave@matrix/gw> ' });
  });

  it('holds messages while the destination is down and delivers them in order on reconnect', async () => {
    const { a, b, router } = await bridgedPair();
    b.disconnect('server restart');
    for (let i = 0; i < 50; i++) a.receive('#x', `m${i}`);
    expect(router.queueDepth('irc.b')).toBe(50);
    b.connect();
    await waitFor(() => b.sent.length === 50);
    expect(b.sent.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(router.queueDepth('irc.b')).toBe(0);
  });

  it('re-sends after a retryable failure, keeping order, and drops a rejected message with an error', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { a, b } = await bridgedPair({ logger });
    let failures = 0;
    b.failWith = (m) => {
      if (m.text === 'm1' && failures < 2) {
        failures += 1;
        return new DeliveryError('socket closed', { retryable: true });
      }
      if (m.text === 'forbidden') return new DeliveryError('M_FORBIDDEN', { retryable: false });
      return undefined;
    };
    for (const text of ['m0', 'm1', 'forbidden', 'm2']) a.receive('#x', text);
    await waitFor(() => b.sent.length === 3);
    expect(b.sent.map((m) => m.text)).toEqual(['m0', 'm1', 'm2']);
    expect(failures).toBe(2);
    expect(lines.some((l) => l.includes('message dropped: rejected by the destination'))).toBe(true);
  });

  it('drops the oldest beyond the count bound and says how many', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { a, b, router, ledger } = await bridgedPair({ maxMessages: 10, logger });
    b.disconnect();
    for (let i = 0; i < 25; i++) a.receive('#x', `m${i}`);
    router.close(); // flushes the summed drop warning now rather than after its window
    const warning = lines
      .map((l) => JSON.parse(l) as { msg: string; dropped?: number })
      .find((l) => l.msg.includes('queue full'));
    expect(warning?.dropped).toBe(15);
    expect(ledger.pieces.size).toBe(10);
  });

  it('drops messages older than the age bound on delivery and says so', async () => {
    let now = 0;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { a, b } = await bridgedPair({ maxAgeMs: 1_000, now: () => now, logger });
    b.disconnect();
    a.receive('#x', 'old');
    now = 5_000;
    a.receive('#x', 'fresh');
    b.connect();
    await waitFor(() => b.sent.length === 1);
    expect(b.sent[0]?.text).toBe('fresh');
    await waitFor(() => lines.some((l) => l.includes('older than the queue')), { timeoutMs: 3_000 });
  });

  it('after stopIntake drains what was queued and keeps what arrives later in the store for the next start', async () => {
    const { a, b, router, ledger } = await bridgedPair();
    b.disconnect();
    a.receive('#x', 'queued');
    router.stopIntake();
    a.receive('#x', 'late');
    b.connect();
    expect(await router.drain(Date.now() + 2_000)).toBe(true);
    expect(b.sent.map((m) => m.text)).toEqual(['queued']);
    const kept = [...ledger.pieces.values()].map((p) => (JSON.parse(p.payload) as { text: string }).text);
    expect(kept).toEqual(['late']);
  });

  it('writes every piece to the store before handle() returns, and removes it once confirmed', async () => {
    const { a, b, ledger } = await bridgedPair();
    b.disconnect();
    a.receive('#x', 'kept');
    const stored = [...ledger.pieces.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ account: 'irc.b', channel: '#y' });
    expect(stored[0]?.id).toMatch(/^[0-9a-f]{20}\.0\.0$/);
    b.connect();
    await waitFor(() => b.sent.length === 1);
    await waitFor(() => ledger.pieces.size === 0, { what: 'removed after confirmation' });
  });

  it('takes back what the store holds from the last run, in order, and delivers it', async () => {
    const first = await bridgedPair();
    first.b.disconnect();
    for (const text of ['one', 'two', 'three']) first.a.receive('#x', text);
    first.router.close();
    // A new process: new adapters and router on the same store.
    const a = new FakeAdapter('irc.a', 'irc');
    const b = new FakeAdapter('irc.b', 'irc');
    for (const x of [a, b]) await x.start();
    const { router } = setup(
      [{ name: 'g', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y')] }],
      [a, b],
      {
        ledger: first.ledger,
      },
    );
    router.restore();
    await waitFor(() => b.sent.length === 3);
    expect(b.sent.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(first.b.sent).toEqual([]);
  });

  it('drops stored pieces older than the age bound at start with one warning', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    let now = 0;
    const first = await bridgedPair({ now: () => now });
    first.b.disconnect();
    for (let i = 0; i < 5; i++) first.a.receive('#x', `old ${i}`);
    now = 3_600_000;
    const a = new FakeAdapter('irc.a', 'irc');
    const b = new FakeAdapter('irc.b', 'irc');
    for (const x of [a, b]) await x.start();
    const { router } = setup(
      [{ name: 'g', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#y')] }],
      [a, b],
      {
        ledger: first.ledger,
        now: () => now,
        maxAgeMs: 900_000,
        logger,
      },
    );
    router.restore();
    router.close();
    const warnings = lines
      .map((l) => JSON.parse(l) as { msg: string; dropped?: number })
      .filter((l) => l.msg.includes('older than'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.dropped).toBe(5);
    expect(b.sent).toEqual([]);
    expect(first.ledger.pieces.size).toBe(0);
  });

  it('records the copy each destination confirmed, and relays a message read again after a restart only once', async () => {
    const { a, b, ledger, router } = await bridgedPair();
    b.networkIdOf = (p) => `$copy-of-${p.text}`;
    a.receive('#x', 'hello', 'bob', { networkId: 'msg-1' });
    await waitFor(() => ledger.copies.length === 1);
    expect(ledger.messages[0]).toMatchObject({ account: 'irc.a', networkId: 'msg-1', nick: 'bob' });
    expect(ledger.copies[0]).toMatchObject({ account: 'irc.b', channel: '#y', networkId: '$copy-of-hello' });
    a.receive('#x', 'hello', 'bob', { networkId: 'msg-1' });
    expect(router.counters.duplicates).toBe(1);
    expect(b.sent).toHaveLength(1);
  });

  it('splits once per destination from its capabilities: lines become pieces where the network has no multi-line messages', async () => {
    const { a, b } = await bridgedPair();
    b.capabilities = {
      ...b.capabilities,
      multiline: false,
      maxMessageBytes: 40,
      maxPieces: 3,
      cutMarker: ' (cut)',
    };
    a.receive('#x', 'one\ntwo\n' + 'word '.repeat(20));
    await waitFor(() => b.sent.length === 3);
    expect(b.sent.map((p) => [p.index, p.count])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(b.sent.map((p) => p.text.slice(0, 3))).toEqual(['one', 'two', 'wor']);
    expect(b.sent[2]?.text.endsWith(' (cut)')).toBe(true);
    for (const p of b.sent) expect(Buffer.byteLength(p.prefix + p.text)).toBeLessThanOrEqual(40);
  });

  it('drops by count only while the destination is away: a connected but slow one drains its backlog', async () => {
    const { a, b, ledger } = await bridgedPair({ maxMessages: 10 });
    let busy = true;
    b.failWith = () => (busy ? new DeliveryError('server busy', { retryable: true }) : undefined);
    for (let i = 0; i < 25; i++) a.receive('#x', `m${i}`);
    expect(ledger.pieces.size).toBe(25);
    busy = false;
    await waitFor(() => b.sent.length === 25, { timeoutMs: 5_000 });
    expect(b.sent.map((m) => m.text)).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
  });
});
