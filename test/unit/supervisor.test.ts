import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  superviseConnection,
  type AttemptContext,
  type AttemptEnd,
  type ConnectionState,
  type SuperviseOptions,
  type SupervisorClock,
} from '../../src/core/supervisor.js';

/** One scripted attempt: whether it connects, how long it lasts on the fake clock, how it ends. */
interface Step {
  readonly connect?: boolean;
  readonly lastsMs?: number;
  readonly end: AttemptEnd | 'hang';
}

const HOUR_MS = 3_600_000;

/**
 * An in-memory connection and a fake clock: waits are recorded and advance the clock at once, so
 * an hour of backoff runs in microseconds. A 'hang' step waits for the stop signal, like a live
 * connection; `stop()` aborts from a wait or from inside an attempt.
 */
function harness(steps: Step[], options: Partial<SuperviseOptions> = {}) {
  let now = 0;
  const waits: number[] = [];
  const lines: Record<string, unknown>[] = [];
  const states: { state: ConnectionState; reason?: string }[] = [];
  const controller = new AbortController();
  let current: { state: ConnectionState; reason?: string } = { state: 'disconnected' };
  let pendingWait: (() => void) | undefined;
  let holdWaits = false;
  const clock: SupervisorClock = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        waits.push(ms);
        const finish = (): void => {
          now += ms;
          resolve();
        };
        if (signal.aborted) return reject(new Error('stopped'));
        signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
        if (holdWaits) pendingWait = finish;
        else finish();
      }),
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const contexts: AttemptContext[] = [];
  let index = 0;
  const run = superviseConnection({
    log: pino({ level: 'debug', base: undefined, timestamp: false }, stream),
    signal: controller.signal,
    backoff: { initialMs: 1_000, maxMs: 8_000, stableAfterMs: 60_000, random: () => 1 },
    retryFailedMs: 300_000,
    clock,
    setState: (state, reason) => {
      if (current.state === state && current.reason === reason) return false;
      current = reason === undefined ? { state } : { state, reason };
      states.push(current);
      return true;
    },
    attempt: async (context) => {
      contexts.push(context);
      const step = steps[index++];
      if (step === undefined) {
        controller.abort(new Error('script done'));
        return { kind: 'stopped' };
      }
      if (step.connect === true) context.connected();
      if (step.end === 'hang') {
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        return { kind: 'stopped' };
      }
      now += step.lastsMs ?? 0;
      return step.end;
    },
    ...options,
  });
  return {
    run,
    waits,
    lines,
    states,
    contexts,
    messages: () => lines.map((l) => l.msg),
    stop: () => controller.abort(new Error('stopped')),
    holdWaits: () => (holdWaits = true),
    releaseWait: () => pendingWait?.(),
  };
}

const transient = (reason = 'ECONNRESET'): Step => ({ end: { kind: 'transient', reason } });
const failed = (reason = 'password rejected'): Step => ({ end: { kind: 'failed', reason } });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('superviseConnection', () => {
  it('backs off exponentially (full jitter, capped) on transient ends and resets after a stable connection', async () => {
    const h = harness([
      transient(),
      transient(),
      transient(),
      transient(),
      transient(),
      { connect: true, lastsMs: 5_000, end: { kind: 'transient', reason: 'short' } },
      { connect: true, lastsMs: 60_000, end: { kind: 'transient', reason: 'stable' } },
    ]);
    await h.run;
    // random() = 1 is the ceiling: 1, 2, 4, 8, then capped at 8 s. A 5 s connection is not stable
    // (the growth goes on); a 60 s one resets it to the initial wait.
    expect(h.waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 1_000]);
  });

  it('waits retry_failed_seconds after a failure, doubling up to an hour, and starts over after a connection', async () => {
    const h = harness([
      ...Array.from({ length: 6 }, () => failed()),
      { connect: true, end: { kind: 'failed', reason: 'banned' } },
      failed(),
    ]);
    await h.run;
    expect(h.waits).toEqual([300_000, 600_000, 1_200_000, 2_400_000, HOUR_MS, HOUR_MS, 300_000, 600_000]);
  });

  it('honours a transient end that asks for a longer wait (HTTP 429)', async () => {
    const h = harness([{ end: { kind: 'transient', reason: 'rate limited', notBeforeMs: 5_000 } }]);
    await h.run;
    expect(h.waits).toEqual([5_000]);
  });

  it('retries at once after retry-now, but never twice in a row', async () => {
    const h = harness([
      { end: { kind: 'retry-now', reason: 'token rejected' } },
      { end: { kind: 'retry-now', reason: 'token rejected' } },
      { connect: true, end: 'hang' },
    ]);
    await flush();
    expect(h.contexts).toHaveLength(3);
    expect(h.waits).toEqual([1_000]); // only the second retry-now waited
    h.stop();
    await h.run;
  });

  it('disconnected() shows the loss at once, before the attempt has classified it; one line only', async () => {
    const seen: string[] = [];
    const h = harness([], {
      attempt: async (context) => {
        await flush(); // `h` exists from here on
        if (context.attempt > 1 || seen.length > 0) {
          h.stop();
          return { kind: 'stopped' };
        }
        context.connected();
        context.disconnected('socket closed');
        seen.push(h.states.at(-1)?.state ?? '');
        await flush(); // e.g. dropping a rejected token
        return { kind: 'retry-now', reason: 'token rejected' };
      },
    });
    await h.run;
    expect(seen).toEqual(['disconnected']);
    expect(h.messages()).toEqual(['connecting', 'connected', 'reconnecting', 'disconnected']);
    expect(h.lines[2]).toMatchObject({ attempt: 1, reason: 'token rejected' });
  });

  it('a stop during a wait ends the supervisor at once', async () => {
    const h = harness([failed()]);
    h.holdWaits();
    await flush();
    expect(h.waits).toEqual([300_000]);
    h.stop();
    await h.run;
    expect(h.contexts).toHaveLength(1);
    expect(h.states.at(-1)).toEqual({ state: 'disconnected', reason: 'stopped' });
    expect(h.messages()).toEqual(['connecting', 'account failed', 'disconnected']);
  });

  it('a stop during an attempt aborts its signal and ends it', async () => {
    const h = harness([{ connect: true, end: 'hang' }]);
    await flush();
    expect(h.states.at(-1)).toEqual({ state: 'connected' });
    expect(h.contexts[0]?.signal.aborted).toBe(false);
    h.stop();
    await h.run;
    expect(h.contexts[0]?.signal.aborted).toBe(true);
    expect(h.waits).toEqual([]);
    expect(h.states.map((s) => s.state)).toEqual(['connecting', 'connected', 'disconnected']);
  });

  it('logs exactly one line per state change, with the same fields whatever the protocol', async () => {
    const h = harness([
      {
        connect: true,
        lastsMs: 1_000,
        end: { kind: 'transient', reason: 'ping timeout', err: new Error('boom') },
      },
      failed(),
      failed(),
      { connect: true, end: 'hang' },
    ]);
    await flush();
    h.stop();
    await h.run;
    expect(
      h.lines.map(({ level, msg, attempt, delayMs, reason }) => ({ level, msg, attempt, delayMs, reason })),
    ).toEqual([
      { level: 30, msg: 'connecting', attempt: 1, delayMs: undefined, reason: undefined },
      { level: 30, msg: 'connected', attempt: 1, delayMs: undefined, reason: undefined },
      { level: 40, msg: 'disconnected', attempt: 1, delayMs: 1_000, reason: 'ping timeout' },
      { level: 30, msg: 'reconnecting', attempt: 1, delayMs: undefined, reason: 'ping timeout' },
      { level: 50, msg: 'account failed', attempt: 1, delayMs: 300_000, reason: 'password rejected' },
      { level: 30, msg: 'reconnecting', attempt: 2, delayMs: undefined, reason: 'password rejected' },
      // Failed again for the same reason: the human was told; an info line with the doubled wait.
      { level: 30, msg: 'still failed', attempt: 2, delayMs: 600_000, reason: 'password rejected' },
      { level: 30, msg: 'reconnecting', attempt: 3, delayMs: undefined, reason: 'password rejected' },
      { level: 30, msg: 'connected', attempt: 3, delayMs: undefined, reason: undefined },
      { level: 30, msg: 'disconnected', attempt: undefined, delayMs: undefined, reason: 'stopped' },
    ]);
    // The error object keeps its stack (logged as err, not as a string).
    expect(h.lines[2]?.err).toMatchObject({
      type: 'Error',
      message: 'boom',
      stack: expect.stringContaining('Error: boom'),
    });
    // A failed account stays failed while it retries; only a connection heals it.
    expect(h.states.map((s) => s.state)).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'connecting',
      'failed',
      'connected',
      'disconnected',
    ]);
  });

  it('an attempt that throws is an account failure with the error logged', async () => {
    let calls = 0;
    const thrower = harness([], {
      attempt: () => {
        calls += 1;
        if (calls > 1) {
          thrower.stop();
          return Promise.resolve({ kind: 'stopped' });
        }
        return Promise.reject(new Error('bug'));
      },
    });
    await thrower.run;
    expect(thrower.lines.find((l) => l.msg === 'account failed')).toMatchObject({
      level: 50,
      reason: 'internal error; see the log',
      delayMs: 300_000,
      err: { message: 'bug' },
    });
  });
});
