/**
 * Our own /sync loop (spec §"Syncing"). matrix-bot-sdk's loop swallows every error, retries forever
 * after 5-15 s and never reports a rejected token; this one sees every failure: token errors are
 * renewed by MatrixApi (single flight), 429 waits retry_after_ms, network/5xx back off, and a
 * failure that needs a human (MatrixAuthFailure) ends the loop so the adapter can report `failed`.
 * Each batch is handed over (the adapter dispatches its events, sync-events.ts) before its next_batch
 * is stored, so a crash replays a batch rather than losing one.
 */
import type { Logger } from 'pino';
import { Backoff, sleep } from '../../core/backoff.js';
import type { MatrixApi } from './client.js';
import { classifyMatrixError } from './errors.js';
import { MatrixAuthFailure } from './session-manager.js';
import type { SyncStore } from './sync-store.js';

/**
 * initial: the very first sync of this account (no stored token): history, never relayed.
 * catchup: the first sync after a restart: what arrived while down, relayed when young enough.
 * live: everything after.
 */
export type BatchMode = 'initial' | 'catchup' | 'live';

const SYNC_BACKOFF = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };
/** The request may take the long-poll timeout plus this before we call it dead. */
const SYNC_GRACE_MS = 20_000;
/** After this many client errors in a row on a stored since-token, start over without it. */
const MAX_FATAL_BEFORE_RESET = 3;

/**
 * Keeps /sync small: no presence, typing, receipts or account data; full member state for names;
 * and not our own timeline events (spec RoomEventFilter not_senders): every message the relay
 * sends would otherwise come back in a sync batch of its own.
 */
export function syncFilter(ownUserId: string): Record<string, unknown> {
  return {
    presence: { not_types: ['*'] },
    account_data: { not_types: ['*'] },
    room: {
      // A longer gap between two syncs is filled through /messages (gap-fill.ts).
      timeline: { limit: 100, not_senders: [ownUserId] },
      state: { lazy_load_members: false },
      ephemeral: { not_types: ['*'] },
      account_data: { not_types: ['*'] },
    },
  };
}

export interface SyncLoopOptions {
  readonly api: MatrixApi;
  readonly store: SyncStore;
  readonly log: Logger;
  readonly userId: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly handleBatch: (
    response: Record<string, unknown>,
    mode: BatchMode,
    since: string | undefined,
  ) => Promise<void>;
  /** A sync succeeded (after a failure, or the first one). */
  readonly onHealthy: () => void;
  /** A sync failed with a network or server error; the loop retries by itself. */
  readonly onTrouble: (reason: string) => void;
}

/** Runs until the signal aborts; throws MatrixAuthFailure when the session cannot be renewed. */
export async function runSyncLoop(options: SyncLoopOptions): Promise<void> {
  const { api, store, log, signal } = options;
  const filter = await ensureFilter(options);
  const backoff = new Backoff(SYNC_BACKOFF);
  let mode: BatchMode = store.getSyncToken() === null ? 'initial' : 'catchup';
  let fatalInARow = 0;
  while (!signal.aborted) {
    const since = store.getSyncToken() ?? undefined;
    let response: unknown;
    try {
      response = await api.request({
        method: 'GET',
        path: '/_matrix/client/v3/sync',
        query: { since, filter, timeout: mode === 'live' ? options.timeoutMs : 0 },
        timeoutMs: options.timeoutMs + SYNC_GRACE_MS,
      });
    } catch (error) {
      if (error instanceof MatrixAuthFailure) throw error;
      const verdict = classifyMatrixError(error);
      if (verdict.kind === 'aborted' || signal.aborted) return;
      const reason = error instanceof Error ? error.message : String(error);
      if (verdict.kind === 'fatal' && since !== undefined && ++fatalInARow >= MAX_FATAL_BEFORE_RESET) {
        log.warn(
          { reason },
          'the homeserver keeps refusing our sync position; starting over (history is not relayed)',
        );
        store.setSyncToken(null);
        mode = 'initial';
        fatalInARow = 0;
      }
      const delayMs = verdict.kind === 'rate-limited' ? verdict.retryAfterMs : backoff.next();
      options.onTrouble(reason);
      log.warn({ reason, retryInMs: delayMs }, 'Matrix sync failed, retrying');
      try {
        await sleep(delayMs, signal);
      } catch {
        return; // stopped while waiting
      }
      continue;
    }
    fatalInARow = 0;
    backoff.reset();
    const body =
      typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    if (typeof body.next_batch !== 'string') {
      options.onTrouble('sync answer without next_batch');
      await sleep(backoff.next(), signal).catch(() => undefined);
      continue;
    }
    options.onHealthy();
    await options.handleBatch(body, mode, since);
    if (signal.aborted) return; // the batch may be cut short by stop(): replay it next time
    store.setSyncToken(body.next_batch);
    mode = 'live';
  }
}

async function ensureFilter(options: SyncLoopOptions): Promise<string | undefined> {
  const definition = syncFilter(options.userId);
  const known = options.store.filterIdFor(definition);
  if (known !== undefined) return known;
  try {
    const answer = (await options.api.request({
      method: 'POST',
      path: `/_matrix/client/v3/user/${encodeURIComponent(options.userId)}/filter`,
      body: definition,
    })) as { filter_id?: unknown };
    if (typeof answer.filter_id !== 'string') return undefined;
    options.store.rememberFilter(answer.filter_id, definition);
    return answer.filter_id;
  } catch (error) {
    if (error instanceof MatrixAuthFailure) throw error;
    if (classifyMatrixError(error).kind === 'aborted') return undefined;
    // Syncing without a filter works, only with bigger answers.
    options.log.debug(
      { reason: error instanceof Error ? error.message : String(error) },
      'could not create a sync filter',
    );
    return undefined;
  }
}
