/**
 * GET /sync (spec §"Syncing"): `since` + `timeout` long-poll; joined rooms with timeline (limited
 * to the filter's or 20 events) and state, invited rooms with stripped state, left rooms.
 * next_batch is the stream position.
 */
import { authenticate } from './routes-auth.js';
import { clientEvent } from './routes-rooms.js';
import { errors, type Request, type Routes } from './http.js';
import type { AccessToken, HomeserverState, Room, StoredEvent } from './state.js';

const DEFAULT_TIMELINE_LIMIT = 20;
const STRIPPED_TYPES = new Set([
  'm.room.create',
  'm.room.name',
  'm.room.canonical_alias',
  'm.room.join_rules',
  'm.room.encryption',
  'm.room.avatar',
]);

function parseSince(since: string | null): number | undefined {
  if (since === null) return undefined;
  const match = /^s(\d+)$/.exec(since);
  return match === null ? 0 : Number(match[1]);
}

interface TimelineFilter {
  readonly limit: number;
  readonly notSenders: ReadonlySet<string>;
  readonly notTypes: ReadonlySet<string>;
}

/** The parts of a filter (an id or inline JSON) the emulator applies: room.timeline limit, not_senders, not_types. */
function timelineFilter(
  state: HomeserverState,
  token: AccessToken,
  filterParam: string | null,
): TimelineFilter {
  let filter: unknown;
  if (filterParam?.startsWith('{') === true) {
    try {
      filter = JSON.parse(filterParam) as unknown;
    } catch {
      filter = undefined;
    }
  } else if (filterParam !== null) {
    filter = state.users.get(token.userId)?.filters.get(filterParam);
  }
  const timeline = (
    filter as
      { room?: { timeline?: { limit?: unknown; not_senders?: unknown; not_types?: unknown } } } | undefined
  )?.room?.timeline;
  const strings = (value: unknown): Set<string> =>
    new Set(Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return {
    limit:
      typeof timeline?.limit === 'number' && timeline.limit > 0 ? timeline.limit : DEFAULT_TIMELINE_LIMIT,
    notSenders: strings(timeline?.not_senders),
    notTypes: strings(timeline?.not_types),
  };
}

function roomSection(
  state: HomeserverState,
  room: Room,
  token: AccessToken,
  since: number | undefined,
  filter: TimelineFilter,
): Record<string, unknown> | undefined {
  const member = state.membership(room, token.userId);
  if (member === undefined) return undefined;
  const deviceId = token.deviceId;
  if (member.membership === 'invite') {
    if (since !== undefined && member.pos <= since) return undefined;
    const stripped = [...room.state.values()]
      .filter(
        (e) => STRIPPED_TYPES.has(e.type) || (e.type === 'm.room.member' && e.state_key === token.userId),
      )
      .map((e) => ({ type: e.type, state_key: e.state_key, content: e.content, sender: e.sender }));
    return { kind: 'invite', body: { invite_state: { events: stripped } } };
  }
  if (member.membership === 'leave' || member.membership === 'ban') {
    if (since === undefined || member.pos <= since) return undefined;
    const leaveEvent = room.events.find((e) => e.pos === member.pos);
    return {
      kind: 'leave',
      body: {
        timeline: {
          events: leaveEvent === undefined ? [] : [clientEvent(leaveEvent, deviceId, false)],
          limited: false,
        },
        state: { events: [] },
      },
    };
  }
  // Joined. A room joined after `since` is sent like in an initial sync (recent history, full state).
  const fresh = since === undefined || member.pos > since;
  const source = (fresh ? room.events : room.events.filter((e) => e.pos > since)).filter(
    (e) => !filter.notSenders.has(e.sender) && !filter.notTypes.has(e.type),
  );
  if (!fresh && source.length === 0) return undefined;
  const timeline = source.slice(-filter.limit);
  const limited = source.length > timeline.length;
  const inTimeline = new Set(timeline.map((e) => e.event_id));
  const firstPos = timeline[0]?.pos ?? state.pos + 1;
  // Incremental: the state that changed in the gap a limited timeline skipped.
  const stateEvents: StoredEvent[] = [...room.state.values()].filter(
    (e) => !inTimeline.has(e.event_id) && (fresh || (limited && e.pos > (since ?? 0) && e.pos < firstPos)),
  );
  return {
    kind: 'join',
    body: {
      timeline: {
        events: timeline.map((e) => clientEvent(e, deviceId, false)),
        limited,
        prev_batch: `s${Math.max(0, firstPos - 1)}`,
      },
      state: { events: stateEvents.map((e) => clientEvent(e, deviceId, false)) },
      ephemeral: { events: [] },
      account_data: { events: [] },
      unread_notifications: { highlight_count: 0, notification_count: 0 },
    },
  };
}

function buildSync(
  state: HomeserverState,
  token: AccessToken,
  since: number | undefined,
  filter: TimelineFilter,
): { empty: boolean; body: unknown } {
  const join: Record<string, unknown> = {};
  const invite: Record<string, unknown> = {};
  const leave: Record<string, unknown> = {};
  for (const room of state.rooms.values()) {
    const section = roomSection(state, room, token, since, filter) as
      { kind: string; body: unknown } | undefined;
    if (section === undefined) continue;
    if (section.kind === 'join') join[room.roomId] = section.body;
    else if (section.kind === 'invite') invite[room.roomId] = section.body;
    else leave[room.roomId] = section.body;
  }
  const empty = Object.keys(join).length + Object.keys(invite).length + Object.keys(leave).length === 0;
  return {
    empty,
    body: {
      next_batch: `s${state.pos}`,
      rooms: { join, invite, leave },
      presence: { events: [] },
      account_data: { events: [] },
      to_device: { events: [] },
      device_one_time_keys_count: {},
    },
  };
}

/**
 * GET /rooms/{roomId}/messages (spec §"Getting events for a room"): pages of the timeline between
 * stream tokens; `end` is left out when there is nothing more in that direction.
 */
function messages(state: HomeserverState, request: Request): unknown {
  const token = authenticate(state, request);
  const room = state.resolveRoom(request.params[0] ?? '');
  if (room === undefined) throw errors.notFound('Unknown room');
  if (state.membership(room, token.userId) === undefined)
    throw errors.forbidden(`User ${token.userId} not in room ${room.roomId}`);
  const dir = request.query.get('dir');
  if (dir !== 'b' && dir !== 'f') throw errors.missingParam('dir must be b or f');
  const limit = Math.max(1, Math.min(Number(request.query.get('limit') ?? 10) || 10, 1000));
  const from = parseSince(request.query.get('from')) ?? (dir === 'b' ? state.pos : 0);
  const to = parseSince(request.query.get('to'));
  const inRange =
    dir === 'b'
      ? room.events.filter((e) => e.pos <= from && (to === undefined || e.pos > to)).reverse()
      : room.events.filter((e) => e.pos > from && (to === undefined || e.pos <= to));
  const chunk = inRange.slice(0, limit);
  const last = chunk.at(-1);
  const more = inRange.length > chunk.length && last !== undefined;
  return {
    chunk: chunk.map((e) => clientEvent(e, token.deviceId)),
    start: `s${from}`,
    ...(more ? { end: `s${dir === 'b' ? last.pos - 1 : last.pos}` } : {}),
  };
}

export function addSyncRoutes(routes: Routes, state: HomeserverState): void {
  routes.add('GET', '/_matrix/client/v3/rooms/{roomId}/messages', (request) => messages(state, request));
  routes.add('GET', '/_matrix/client/v3/sync', async (request: Request) => {
    const token = authenticate(state, request);
    const since = parseSince(request.query.get('since'));
    const filter = timelineFilter(state, token, request.query.get('filter'));
    const timeoutMs = Math.min(Number(request.query.get('timeout') ?? 0) || 0, 60_000);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A token invalidated while we waited is answered like any other request (401).
      authenticate(state, request);
      const result = buildSync(state, token, since, filter);
      const remaining = deadline - Date.now();
      if (!result.empty || since === undefined || remaining <= 0 || request.closed.aborted)
        return result.body;
      await state.waitForEvents(remaining);
    }
  });
}
