/**
 * Closing the gap of a limited timeline. When more events arrived between two syncs than the
 * filter's timeline limit, /sync returns only the newest ones with `limited: true` and a
 * `prev_batch` token (spec §"Syncing": "the client can fill the gap using /messages"). A relay
 * that must lose nothing fetches the missing events back to the previous sync position with
 * GET /rooms/{roomId}/messages?dir=b&from=prev_batch&to=since and puts them in front of the
 * timeline before it is processed, so they are relayed in order.
 */
import type { Logger } from 'pino';
import type { MatrixApi } from './client.js';
import { MatrixAuthFailure } from './session-manager.js';
import { errorMessage } from '../../core/errors.js';
import { isObject, type Json } from './json.js';

/** Per room and sync batch; a longer gap (a long outage) is relayed from its newest part. */
export const MAX_GAP_EVENTS = 1_000;
const PAGE_SIZE = 100;

export interface GapFillOptions {
  readonly api: MatrixApi;
  readonly log: Logger;
  /** The sync position the batch was requested from. */
  readonly since: string;
  /** Events older than this (epoch ms) are not fetched: they would not be relayed anyway. */
  readonly notBefore: number;
  /** Only rooms the relay cares about are filled. */
  readonly wanted: (roomId: string) => boolean;
}

/** Mutates the sync response: limited timelines of wanted rooms get their missing events. */
export async function fillTimelineGaps(response: Json, options: GapFillOptions): Promise<void> {
  const join = isObject(response.rooms) && isObject(response.rooms.join) ? response.rooms.join : {};
  for (const [roomId, room] of Object.entries(join)) {
    if (!isObject(room) || !isObject(room.timeline) || room.timeline.limited !== true) continue;
    if (
      typeof room.timeline.prev_batch !== 'string' ||
      !Array.isArray(room.timeline.events) ||
      !options.wanted(roomId)
    )
      continue;
    const missing = await fetchGap(roomId, room.timeline.prev_batch, options);
    room.timeline.events = [...missing, ...(room.timeline.events as unknown[])];
    room.timeline.limited = false;
  }
}

async function fetchGap(roomId: string, prevBatch: string, options: GapFillOptions): Promise<unknown[]> {
  const newestFirst: unknown[] = [];
  let from: string | undefined = prevBatch;
  let truncated = false;
  try {
    while (from !== undefined) {
      const page = (await options.api.request({
        method: 'GET',
        path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`,
        query: { dir: 'b', from, to: options.since, limit: PAGE_SIZE },
      })) as Json;
      const chunk = Array.isArray(page.chunk) ? page.chunk : [];
      let tooOld = false;
      for (const event of chunk) {
        if (
          isObject(event) &&
          typeof event.origin_server_ts === 'number' &&
          event.origin_server_ts < options.notBefore
        )
          tooOld = true;
        else newestFirst.push(event);
      }
      if (newestFirst.length >= MAX_GAP_EVENTS) {
        truncated = true;
        break;
      }
      if (tooOld || chunk.length === 0 || typeof page.end !== 'string' || page.end === from) break;
      from = page.end;
    }
  } catch (error) {
    if (error instanceof MatrixAuthFailure) throw error;
    // The events already fetched still go out; the rest of the gap is reported, not hidden.
    options.log.warn(
      { roomId, fetched: newestFirst.length, reason: errorMessage(error) },
      'could not fetch all messages of a sync gap',
    );
  }
  if (truncated)
    options.log.warn(
      { roomId, relayed: MAX_GAP_EVENTS },
      'sync gap longer than MAX_GAP_EVENTS: relaying its newest part',
    );
  if (newestFirst.length > 0) options.log.debug({ roomId, events: newestFirst.length }, 'filled a sync gap');
  return newestFirst.slice(0, MAX_GAP_EVENTS).reverse();
}
