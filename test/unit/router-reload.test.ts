import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EchoGuard } from '../../src/core/echo-guard.js';
import type { Gateway } from '../../src/core/gateway.js';
import { Router, type RouterAccount } from '../../src/core/router.js';
import { FakeAdapter } from '../helpers/fake-adapter.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';
import { waitFor } from '../helpers/wait-for.js';

const silent = pino({ level: 'silent' });
const inout = (account: string, channel: string) => ({ account, channel, direction: 'inout' as const });

function accountsOf(adapters: FakeAdapter[], format = '[{PROTOCOL}] <{NICK}> ', maxMessages = 1000) {
  const accounts = new Map<string, RouterAccount>();
  for (const adapter of adapters)
    accounts.set(adapter.account, {
      adapter,
      label: adapter.protocol,
      remoteNickFormat: format,
      queueBounds: { maxMessages, maxAgeMs: 900_000 },
      replyStyle: 'mention',
      editMarker: '(edited) ',
      editWindowMs: 900_000,
    });
  return accounts;
}

async function pair() {
  const a = new FakeAdapter('irc.a', 'irc');
  const b = new FakeAdapter('irc.b', 'irc');
  for (const x of [a, b]) await x.start();
  const gateways: Gateway[] = [{ name: 'g1', endpoints: [inout('irc.a', '#x'), inout('irc.b', '#x')] }];
  const ledger = new MemoryLedger();
  const router = new Router({
    gateways,
    accounts: accountsOf([a, b]),
    echoGuard: new EchoGuard(),
    store: ledger,
    logger: silent,
  });
  return { a, b, gateways, ledger, router };
}

const statsOf = (router: Router, account: string, channel: string) =>
  router.queueStats().find((q) => q.account === account && q.channel === channel);

describe('Router.reconfigure (SIGHUP reload)', () => {
  it('keeps the queue of a destination that stays, and applies the new format and gateway at once', async () => {
    const { a, b, gateways, router } = await pair();
    a.receive('#x', 'before', 'alice');
    await waitFor(() => b.sent.length === 1);
    const result = router.reconfigure(
      [...gateways, { name: 'g2', endpoints: [inout('irc.a', '#y'), inout('irc.b', '#y')] }],
      accountsOf([a, b], '<{NICK}> '),
    );
    expect(result.closed).toEqual([]);
    expect(result.opened.map((q) => `${q.account} ${q.channel}`)).toEqual(['irc.a #y', 'irc.b #y']);
    // The same queue object: its count of delivered pieces carries on.
    expect(statsOf(router, 'irc.b', '#x')?.delivered).toBe(1);
    a.receive('#x', 'after', 'alice');
    a.receive('#y', 'new channel', 'alice');
    await waitFor(() => b.sent.length === 3);
    expect(b.sent.slice(1).map((p) => `${p.channel} ${p.prefix}${p.text}`)).toEqual([
      '#x <alice> after',
      '#y <alice> new channel',
    ]);
  });

  it('a destination that leaves keeps its pieces in the store; they come back with it, in order', async () => {
    const { a, b, gateways, ledger, router } = await pair();
    b.disconnect();
    a.receive('#x', 'one');
    a.receive('#x', 'two');
    const alone: Gateway[] = [{ name: 'g1', endpoints: [inout('irc.a', '#x')] }];
    const result = router.reconfigure(alone, accountsOf([a]));
    expect(result.closed).toEqual([{ account: 'irc.b', channel: '#x', waiting: 2 }]);
    expect(ledger.pendingPieces()).toHaveLength(2);
    // b's messages reach the router no more once it is removed.
    b.receive('#x', 'from a removed account');
    expect(a.sent).toHaveLength(0);
    await b.start();
    router.reconfigure(gateways, accountsOf([a, b]));
    await waitFor(() => b.sent.length === 2);
    expect(b.sent.map((p) => p.text)).toEqual(['one', 'two']);
    expect(ledger.pendingPieces()).toHaveLength(0);
  });

  it('a new adapter for an account gets a new queue with the waiting pieces, in order', async () => {
    const { a, b, gateways, router } = await pair();
    b.disconnect();
    a.receive('#x', 'one');
    a.receive('#x', 'two');
    await b.stop();
    const b2 = new FakeAdapter('irc.b', 'irc');
    const result = router.reconfigure(gateways, accountsOf([a, b2]));
    expect(result.closed).toEqual([{ account: 'irc.b', channel: '#x', waiting: 2 }]);
    expect(result.opened).toEqual([{ account: 'irc.b', channel: '#x', restored: 2 }]);
    await b2.start();
    a.receive('#x', 'three');
    await waitFor(() => b2.sent.length === 3);
    expect(b2.sent.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(b.sent).toHaveLength(0);
  });

  it('new queue bounds apply to a queue that stays', async () => {
    const { a, b, gateways, router } = await pair();
    b.disconnect();
    router.reconfigure(gateways, accountsOf([a, b], '[{PROTOCOL}] <{NICK}> ', 2));
    for (const text of ['1', '2', '3']) a.receive('#x', text);
    expect(statsOf(router, 'irc.b', '#x')).toMatchObject({ depth: 2, dropped: 1 });
    router.close();
  });
});
