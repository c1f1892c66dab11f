/**
 * Our own /sync loop (spec §"Syncing"). matrix-bot-sdk's loop swallows every error, retries forever
 * after 5-15 s and never reports a rejected token; this one sees every failure: token errors are
 * renewed by MatrixApi (single flight); any other failed sync ends the loop with the reason (and a
 * 429's retry_after_ms), so the adapter's supervisor (core/supervisor.ts) owns the wait and the
 * retry; a failure that needs a human (MatrixAuthFailure) is thrown so the adapter reports `failed`.
 * Each batch is handed over (the adapter dispatches its events, sync-events.ts) before its next_batch
 * is stored, so a crash replays a batch rather than losing one.
 */
import type { Logger } from 'pino';
import type { MatrixApi } from './client.js';
import { classifyMatrixError } from './errors.js';
import { MatrixAuthFailure } from './session-manager.js';
import type { SyncStore } from './sync-store.js';
import { errorMessage } from '../../core/errors.js';

/**
 * initial: the very first sync of this account (no stored token): history, never relayed.
 * catchup: the first sync after a restart: what arrived while down, relayed when young enough.
 * live: everything after.
 */
export type BatchMode = 'initial' | 'catchup' | 'live';

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
  /** A sync succeeded. */
  readonly onHealthy: () => void;
  /** Carried from one run to the next when a failed sync ended the previous one. */
  readonly progress: SyncProgress;
}

/** What a run that ended on a failed sync hands to the next run (the supervisor's next attempt). */
export interface SyncProgress {
  /** undefined: a fresh start, decided by the stored since-token. */
  mode: BatchMode | undefined;
  /** Client errors in a row on a stored since-token. */
  fatalInARow: number;
}

/** Why a run ended: stopped (the signal aborted), or a failed sync to retry after a wait. */
export type SyncEnd =
  | { readonly kind: 'stopped' }
  | {
      readonly kind: 'failed-sync';
      readonly reason: string;
      readonly err: unknown;
      readonly retryAfterMs?: number;
    };

/** Syncs until a sync fails or the signal aborts; throws MatrixAuthFailure when the session cannot be renewed. */
export async function runSyncLoop(options: SyncLoopOptions): Promise<SyncEnd> {
  const { api, store, log, signal, progress } = options;
  const filter = await ensureFilter(options);
  let mode: BatchMode = progress.mode ?? (store.getSyncToken() === null ? 'initial' : 'catchup');
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
      if (signal.aborted) return { kind: 'stopped' };
      const reason = errorMessage(error);
      progress.mode = mode;
      if (
        verdict.kind === 'fatal' &&
        since !== undefined &&
        ++progress.fatalInARow >= MAX_FATAL_BEFORE_RESET
      ) {
        log.warn(
          { reason },
          'the homeserver keeps refusing our sync position; starting over (history is not relayed)',
        );
        store.setSyncToken(null);
        progress.mode = 'initial';
        progress.fatalInARow = 0;
      }
      return {
        kind: 'failed-sync',
        reason: `Matrix sync failed: ${reason}`,
        err: error,
        ...(verdict.kind === 'rate-limited' ? { retryAfterMs: verdict.retryAfterMs } : {}),
      };
    }
    progress.fatalInARow = 0;
    const body =
      typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    if (typeof body.next_batch !== 'string') {
      progress.mode = mode;
      return { kind: 'failed-sync', reason: 'sync answer without next_batch', err: undefined };
    }
    options.onHealthy();
    await options.handleBatch(body, mode, since);
    if (signal.aborted) return { kind: 'stopped' }; // the batch may be cut short by stop(): replay it next time
    store.setSyncToken(body.next_batch);
    mode = 'live';
    progress.mode = mode;
  }
  return { kind: 'stopped' };
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
    options.log.debug({ reason: errorMessage(error) }, 'could not create a sync filter');
    return undefined;
  }
}
