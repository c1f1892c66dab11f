/**
 * The adapter contract (src/core/adapter.ts), as one suite run against every adapter and its real
 * or emulated peer (issue 7 §5; house style: "One contract suite run against every adapter says
 * more than three private ones"). Every assertion looks at the peer side: what a person on the
 * network would see, never what the adapter says about itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError, type AdapterState, type SendResult } from '../../src/core/adapter.js';
import type { OutboundPiece } from '../../src/core/message.js';
import { deliveryQueue, piece, wireLog } from '../helpers/pieces.js';
import { waitFor } from '../helpers/wait-for.js';
import type { AdapterProfile, ContractHarness, ContractPoint } from './harness.js';

/** start() does local work only (config checks, loading a library); it never waits for the peer. */
const START_MS = 3_000;
/** A send while disconnected must fail soon, not hang until the peer is back. */
const SEND_WHILE_DOWN_MS = 10_000;
/** A connection cut, and a peer that is back, are noticed within this (backoff included). */
const NOTICE_MS = 20_000;
const STOP_DEADLINE_MS = 1_000;
/** Scheduling slack on two shared cores: stop() resolves by its deadline plus this. */
const STOP_SLACK_MS = 500;
/** How long a stopped adapter is watched for a reconnect (a bounded negative check). */
const AFTER_STOP_WATCH_MS = 2_000;
const PIECES_IN_ORDER = 20;

/** Resolves or rejects with `promise`, or rejects once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rendered text a person sees for a text piece on every network: prefix, then text. */
const seen = (p: OutboundPiece): string => `${p.prefix}${p.text}`;

export function describeAdapterContract(name: string, profile: AdapterProfile): void {
  describe(`adapter contract: ${name}`, () => {
    const open: ContractHarness[] = [];
    const cleanups: (() => void)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) cleanup();
      for (const harness of open.splice(0).reverse()) await harness.close();
    });

    /** One contract point: an ordinary test, or `it.fails` where the adapter is known to break it. */
    function point(id: ContractPoint, title: string, test: () => Promise<void>): void {
      const violation = profile.knownViolations?.[id];
      if (violation === undefined) it(`${id}. ${title}`, test);
      else it.fails(`${id}. ${title} [KNOWN VIOLATION: ${violation}]`, test);
    }

    async function harness(silentFromStart = false): Promise<ContractHarness> {
      const h = await profile.make({ silentFromStart });
      open.push(h);
      return h;
    }

    const statesOf = (h: ContractHarness, from = 0): AdapterState[] =>
      h.statuses.slice(from).map((s) => s.state);

    /** Waits for the peer to hold `count` messages from the relay, and returns their texts. */
    const arrivedTexts = (h: ContractHarness, count: number, what: string): Promise<string[]> =>
      waitFor(() => (h.arrived().length >= count ? h.arrived().map((m) => m.text) : undefined), {
        what,
        timeoutMs: NOTICE_MS,
      });

    /** A send that must arrive after everything before it: shows that nothing else is on its way. */
    async function marker(h: ContractHarness, text: string): Promise<SendResult> {
      const result = await h.adapter.send(piece(h.channel, text), () => undefined);
      await waitFor(() => h.arrived().some((m) => m.text.endsWith(text)), { what: `marker "${text}"` });
      return result;
    }

    /**
     * After stop(): the peer answers again, and the adapter must neither say connected nor open
     * another connection to it.
     */
    /** stop(deadline) returns within the deadline (plus slack), and the adapter never connects after. */
    async function stopsInTimeForGood(h: ContractHarness): Promise<void> {
      const mark = h.statuses.length;
      const started = performance.now();
      await within(h.adapter.stop(STOP_DEADLINE_MS), STOP_DEADLINE_MS + STOP_SLACK_MS, 'stop()');
      expect(performance.now() - started).toBeLessThanOrEqual(STOP_DEADLINE_MS + STOP_SLACK_MS);
      await neverConnectedAfter(h, mark);
    }

    async function neverConnectedAfter(h: ContractHarness, mark: number): Promise<void> {
      expect(h.adapter.status().state).not.toBe('connected');
      const attempts = h.connectionsUsed();
      await h.bringPeerBack();
      await expect(
        waitFor(
          () =>
            statesOf(h, mark).includes('connected') ||
            h.adapter.status().state === 'connected' ||
            h.connectionsUsed() > attempts,
          { timeoutMs: AFTER_STOP_WATCH_MS, what: 'a connection after stop()' },
        ),
      ).rejects.toThrow(/timed out after \d+ ms waiting for a connection after stop\(\)/);
    }

    point(
      '1a',
      'start() resolves without waiting for the network: the peer answers nothing, the adapter says connecting',
      async () => {
        const h = await harness(true);
        await within(h.adapter.start(), START_MS, 'start() against a silent peer');
        expect(statesOf(h)).toEqual(['connecting']);
        expect(h.adapter.status().state).toBe('connecting');
      },
    );

    point(
      '1b',
      'emits connecting then connected; leaves connected when the peer goes, and comes back by itself',
      async () => {
        const h = await harness();
        await within(h.adapter.start(), START_MS, 'start()');
        await h.ready();
        expect(statesOf(h)).toEqual(['connecting', 'connected']);

        const away = h.statuses.length;
        const connections = h.connectionsUsed();
        await h.takePeerAway();
        await waitFor(() => h.adapter.status().state !== 'connected', {
          what: 'the adapter to leave connected',
          timeoutMs: NOTICE_MS,
        });
        expect(statesOf(h, away).length).toBeGreaterThan(0);
        // A peer that is away is transient trouble, never `failed` (failed: a human must act).
        expect(statesOf(h, away).every((s) => s === 'disconnected' || s === 'connecting')).toBe(true);

        const back = h.statuses.length;
        await h.bringPeerBack();
        await waitFor(() => statesOf(h, back).includes('connected'), {
          what: 'connected again without help',
          timeoutMs: NOTICE_MS,
        });
        await h.ready();
        expect(statesOf(h, away).filter((s) => s === 'failed')).toEqual([]);
        expect(h.adapter.status().state).toBe('connected');
        // The peer saw the new connection (and the probe the stop tests rely on counts it).
        expect(h.connectionsUsed()).toBeGreaterThan(connections);
      },
    );

    point(
      '2',
      'while the peer is away, send() rejects soon with a retryable DeliveryError and nothing arrives',
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        await h.takePeerAway();
        await waitFor(() => h.adapter.status().state !== 'connected', {
          what: 'disconnected',
          timeoutMs: NOTICE_MS,
        });

        const lost = piece(h.channel, 'sent while the peer is away');
        const outcome = await within(
          h.adapter.send(lost, wireLog()).then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          ),
          SEND_WHILE_DOWN_MS,
          'send() while the peer is away',
        );
        expect(outcome).toHaveProperty('error');
        const error = 'error' in outcome ? outcome.error : undefined;
        expect(error).toBeInstanceOf(DeliveryError);
        expect((error as DeliveryError).retryable).toBe(true);

        await h.bringPeerBack();
        await h.ready();
        const after = await marker(h, 'first line after the outage');
        // Everything the peer holds from the relay: the marker only.
        expect(h.arrived().map((m) => m.text)).toEqual(after.wire);
      },
    );

    point(
      '3',
      'send() resolves with wire = exactly what the peer shows, told to the WireListener before it resolved',
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        const p = piece(h.channel, 'contract: héllo wörld ✓ <b>&amp;</b> 日本語');
        const onWire = wireLog();
        let toldBeforeResolve: string[] | undefined;
        const result = await h.adapter.send(p, onWire).then((r) => {
          toldBeforeResolve = [...onWire.lines];
          return r;
        });
        const arrived = await arrivedTexts(h, 1, 'the piece at the peer');
        expect(arrived).toEqual([seen(p)]);
        expect(result.wire).toEqual(arrived);
        expect(toldBeforeResolve).toEqual(arrived);
        expect(onWire.lines).toEqual(arrived);

        const stored = h.arrived()[0];
        switch (profile.networkId.kind) {
          case 'peer-id':
            expect(stored?.networkId).toBeDefined();
            expect(result.networkId).toBe(stored?.networkId);
            break;
          case 'none':
            expect(result.networkId).toBeUndefined();
            break;
        }
      },
    );

    point(
      '3b',
      "with two sends in flight, each WireListener hears its own piece's text, and only that",
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        const first = piece(h.channel, 'first of two in flight');
        const second = piece(h.channel, 'second of two in flight');
        const firstWire = wireLog();
        const secondWire = wireLog();
        const [a, b] = await Promise.all([
          h.adapter.send(first, firstWire),
          h.adapter.send(second, secondWire),
        ]);
        // Two sends at once may arrive in either order: order is promised to the core within
        // capabilities.inFlight (1 for Kosmi and Matrix), and point 5 checks it there.
        const arrived = (await arrivedTexts(h, 2, 'both pieces at the peer')).sort();
        expect(arrived).toEqual([seen(first), seen(second)].sort());
        expect([...a.wire, ...b.wire].sort()).toEqual(arrived);
        expect({ first: firstWire.lines, second: secondWire.lines }).toEqual({
          first: a.wire,
          second: b.wire,
        });
      },
    );

    point(
      '4',
      'send() is idempotent on piece.id: twice at once and once after, one arrival and equal results',
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        const p = piece(h.channel, 'said once, sent three times');
        const [first, second] = await Promise.all([
          h.adapter.send(p, wireLog()),
          h.adapter.send({ ...p }, wireLog()),
        ]);
        const third = await h.adapter.send({ ...p }, wireLog());
        expect(second).toEqual(first);
        expect(third).toEqual(first);
        const after = await marker(h, 'marker after the repeats');
        expect(h.arrived().map((m) => m.text)).toEqual([seen(p), ...after.wire]);
        expect(first.wire).toEqual([seen(p)]);
      },
    );

    point(
      '5',
      `${PIECES_IN_ORDER} pieces through the core's DeliveryQueue arrive in call order`,
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        const delivery = deliveryQueue(h.adapter, h.channel);
        cleanups.push(() => delivery.queue.close());
        const texts = Array.from(
          { length: PIECES_IN_ORDER },
          (_, i) => `in order ${String(i + 1).padStart(2, '0')}`,
        );
        for (const text of texts) delivery.send(text);
        const prefix = piece(h.channel, '').prefix; // the prefix deliveryQueue's pieces carry
        const expected = texts.map((text) => `${prefix}${text}`);
        const arrived = await arrivedTexts(h, PIECES_IN_ORDER, `${PIECES_IN_ORDER} pieces at the peer`);
        await waitFor(() => delivery.queue.depth === 0, { what: 'every piece confirmed' });
        expect(h.arrived().map((m) => m.text)).toEqual(expected);
        expect(arrived).toEqual(expected);
        expect(delivery.queue.stats).toEqual({ delivered: PIECES_IN_ORDER, dropped: 0 });
      },
    );

    point(
      '6a',
      'stop(deadline) returns in time while the connected peer has stopped answering, and never connects again',
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        h.silencePeer();
        await stopsInTimeForGood(h);
      },
    );

    point(
      '6b',
      'stop(deadline) returns in time while connecting to a peer that never answers, and never connects afterwards',
      async () => {
        const h = await harness(true);
        await h.adapter.start();
        expect(h.adapter.status().state).toBe('connecting');
        await stopsInTimeForGood(h);
      },
    );

    point(
      '6c',
      'a send() in flight to a peer that stopped answering settles, retryable, once stop(deadline) returned',
      async () => {
        const h = await harness();
        await h.adapter.start();
        await h.ready();
        h.silencePeer();
        const pending = h.adapter.send(piece(h.channel, 'in flight when the peer froze'), wireLog()).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        await h.adapter.stop(STOP_DEADLINE_MS);
        const outcome = await within(pending, STOP_SLACK_MS, 'the send in flight after stop()');
        // Not confirmed by a silent peer, so it must come back to the core to be kept for the next start.
        expect(outcome).toHaveProperty('error');
        const error = 'error' in outcome ? outcome.error : undefined;
        expect(error).toBeInstanceOf(DeliveryError);
        expect((error as DeliveryError).retryable).toBe(true);
      },
    );
  });
}
