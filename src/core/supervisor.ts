/**
 * The one reconnect supervisor for every adapter (house style: "one retry owner per connection";
 * matterbridge's single `reconnectBridge`, matrix-appservice-irc's typed reason union). The
 * adapter supplies one connection attempt that runs until the connection ends and says how it
 * ended; the supervisor owns everything between attempts: the waits, the abort on stop, the
 * status changes and their log lines. Which errors are fatal stays with the adapter.
 */
import type { Logger } from 'pino';
import { Backoff, sleep as abortableSleep, type BackoffOptions } from './backoff.js';

/** The same four states as the adapter contract (adapters/types.ts AdapterState). */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'failed';

/** How one connection attempt ended, as the adapter's classify step decided. */
export type AttemptEnd =
  /** Network trouble, server restart, timeout: retried with the exponential backoff. */
  | {
      readonly kind: 'transient';
      readonly reason: string;
      readonly err?: unknown;
      /** The peer asked for at least this long (HTTP 429 retry_after_ms); the backoff may wait longer. */
      readonly notBeforeMs?: number;
    }
  /**
   * Retry at once, without a wait: the adapter already fixed the cause (Kosmi: a rejected token is
   * dropped and renewed once). Two in a row are treated as transient, so it can never spin.
   */
  | { readonly kind: 'retry-now'; readonly reason: string }
  /** A human must act (credentials rejected, banned): slow retries from retry_failed_seconds. */
  | { readonly kind: 'failed'; readonly reason: string; readonly err?: unknown }
  /** The attempt ended because the supervisor's signal aborted. */
  | { readonly kind: 'stopped' };

export interface AttemptContext {
  /** 1 for the first attempt after a connection (or the start), then 2, 3, ... */
  readonly attempt: number;
  /** Aborted on stop: the attempt must then end (its result is taken as `stopped`). */
  readonly signal: AbortSignal;
  /** The connection is up (after registration / handshake / first sync). Idempotent. */
  connected(): void;
  /**
   * The connection is gone while the attempt still works out how it ended (a token to drop, say):
   * shows `disconnected` at once, so nobody sends into it. Not logged: the end's line follows.
   */
  disconnected(reason: string): void;
}

export interface SupervisorClock {
  now(): number;
  /** Resolves after ms; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface SuperviseOptions {
  readonly log: Logger;
  /** Stop: ends a wait at once and tells the running attempt to end. */
  readonly signal: AbortSignal;
  /** One connection attempt, from connect until the connection ends. */
  readonly attempt: (context: AttemptContext) => Promise<AttemptEnd>;
  /** Sets the adapter status without logging (the supervisor logs); true when it changed. */
  readonly setState: (state: ConnectionState, reason?: string) => boolean;
  /** Waits between transient failures. */
  readonly backoff: BackoffOptions;
  /** First wait of a failed account (retry_failed_seconds); doubles up to maxFailedRetryMs. */
  readonly retryFailedMs: number;
  readonly maxFailedRetryMs?: number;
  readonly clock?: SupervisorClock;
}

/** A failed account never waits longer than this between tries (issue 7 §3). */
export const MAX_FAILED_RETRY_MS = 60 * 60_000;

const realClock: SupervisorClock = { now: () => Date.now(), sleep: abortableSleep };

/** Log fields of a state change; the same names for every protocol. */
export interface StateChangeFields {
  readonly attempt?: number;
  readonly delayMs?: number;
  readonly reason?: string;
  readonly err?: unknown;
}

/**
 * The one log vocabulary of connection states: constant messages, the details as fields.
 * `reconnecting` is the `connecting` of any attempt after the first; `disconnected` and
 * `account failed` carry the delayMs until the next attempt.
 */
export function logStateChange(
  log: Logger,
  state: ConnectionState | 'reconnecting',
  fields: StateChangeFields,
): void {
  const clean = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  switch (state) {
    case 'failed':
      log.error(clean, 'account failed');
      return;
    case 'disconnected':
      // A stop is lifecycle, not trouble.
      if (fields.reason === 'stopped') log.info(clean, 'disconnected');
      else log.warn(clean, 'disconnected');
      return;
    case 'connecting':
    case 'reconnecting':
    case 'connected':
      log.info(clean, state);
      return;
  }
}

/**
 * Runs attempts until the signal aborts; resolves once stopped (never rejects). One log line per
 * state change: connecting / reconnecting, connected, disconnected (with delayMs), account failed
 * (with delayMs), and disconnected with reason "stopped" at the end.
 */
export async function superviseConnection(options: SuperviseOptions): Promise<void> {
  const { log, signal } = options;
  const clock = options.clock ?? realClock;
  const maxFailedMs = options.maxFailedRetryMs ?? MAX_FAILED_RETRY_MS;
  const backoff = new Backoff(options.backoff);
  let failedDelayMs = options.retryFailedMs;
  let attempt = 0;
  let failed = false;
  let failedReason: string | undefined;
  let previous: AttemptEnd['kind'] | undefined;
  let lastReason: string | undefined;

  while (!signal.aborted) {
    attempt += 1;
    let isConnected = false;
    // A failed account stays `failed` while it retries: only a connection heals it.
    if (!failed) options.setState('connecting');
    logStateChange(log, previous === undefined ? 'connecting' : 'reconnecting', {
      attempt,
      ...(previous === undefined ? {} : { reason: lastReason }),
    });
    const context: AttemptContext = {
      attempt,
      signal,
      connected: () => {
        if (isConnected || signal.aborted) return;
        isConnected = true;
        backoff.connected(clock.now());
        failedDelayMs = options.retryFailedMs;
        failed = false;
        options.setState('connected');
        logStateChange(log, 'connected', { attempt });
      },
      disconnected: (reason) => {
        if (isConnected && !signal.aborted) options.setState('disconnected', reason);
      },
    };
    let end: AttemptEnd;
    try {
      end = await options.attempt(context);
    } catch (error) {
      // A bug in the attempt, not a classified end: a human should look, so it counts as failed.
      end = { kind: 'failed', reason: 'internal error; see the log', err: error };
    }
    const ended = attempt;
    if (isConnected) {
      backoff.disconnected(clock.now());
      attempt = 0; // the next attempt is the first towards a new connection
    }
    if (signal.aborted || end.kind === 'stopped') break;

    let delayMs: number;
    switch (end.kind) {
      case 'retry-now':
        if (previous !== 'retry-now') {
          delayMs = 0;
          break;
        }
        delayMs = backoff.next();
        end = { kind: 'transient', reason: end.reason };
        break;
      case 'transient':
        delayMs = Math.max(backoff.next(), end.notBeforeMs ?? 0);
        break;
      case 'failed':
        delayMs = failedDelayMs;
        failedDelayMs = Math.min(failedDelayMs * 2, maxFailedMs);
        break;
    }
    previous = end.kind;
    lastReason = end.reason;
    // A transient end (even while failed: the network, not the credentials) shows `disconnected`;
    // the doubling of the failed waits goes on until a connection resets it.
    if (end.kind !== 'retry-now') {
      // The human was told once (error level); the same failure again is only the retry's trace.
      const sameFailure = failed && end.kind === 'failed' && end.reason === failedReason;
      failed = end.kind === 'failed';
      failedReason = failed ? end.reason : undefined;
      options.setState(end.kind === 'failed' ? 'failed' : 'disconnected', end.reason);
      const fields = { attempt: ended, delayMs, reason: end.reason, err: end.err };
      if (sameFailure) log.info(fields, 'still failed');
      else logStateChange(log, end.kind === 'failed' ? 'failed' : 'disconnected', fields);
    }
    // retry-now: the next line is the `reconnecting` of the attempt that follows at once.
    if (delayMs === 0) continue;
    try {
      await clock.sleep(delayMs, signal);
    } catch {
      break; // stop() aborted the wait
    }
  }
  if (options.setState('disconnected', 'stopped')) logStateChange(log, 'disconnected', { reason: 'stopped' });
}
