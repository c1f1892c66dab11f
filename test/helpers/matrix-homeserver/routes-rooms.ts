/**
 * Rooms: join by id or alias, directory lookup, leave, invite, send (idempotent by transaction
 * id), redact, state, members, joined rooms, events; plus profile, account data and filters
 * (spec §"Rooms", §"Room aliases", §"Sending events", §"Profiles", §"Filtering").
 */
import { authenticate } from './routes-auth.js';
import { errors, objectBody, type Request, type Routes } from './http.js';
import { stateKey, type HomeserverState, type Room, type StoredEvent } from './state.js';

/** Full client format (GET /event, /state, /members); /sync leaves out room_id. */
export function clientEvent(
  event: StoredEvent,
  forDevice?: string,
  includeRoomId = true,
): Record<string, unknown> {
  const unsigned: Record<string, unknown> = { age: Date.now() - event.origin_server_ts };
  if (event.txn !== undefined && event.txn.deviceId === forDevice) unsigned.transaction_id = event.txn.txnId;
  if (event.redactedBecause !== undefined)
    unsigned.redacted_because = clientEvent(event.redactedBecause, undefined, includeRoomId);
  return {
    event_id: event.event_id,
    ...(includeRoomId ? { room_id: event.room_id } : {}),
    type: event.type,
    sender: event.sender,
    content: event.content,
    origin_server_ts: event.origin_server_ts,
    ...(event.state_key === undefined ? {} : { state_key: event.state_key }),
    ...(event.redacts === undefined ? {} : { redacts: event.redacts }),
    unsigned,
  };
}

function roomOr404(state: HomeserverState, idOrAlias: string): Room {
  const room = state.resolveRoom(idOrAlias);
  if (room === undefined)
    throw errors.notFound(idOrAlias.startsWith('#') ? `Room alias ${idOrAlias} not found` : 'Unknown room');
  return room;
}

/** Joins userId to the room when the join rules allow (spec §"Joining rooms"). */
export function joinRoom(state: HomeserverState, room: Room, userId: string): void {
  const current = state.membership(room, userId)?.membership;
  if (current === 'join') return;
  if (current === 'ban') throw errors.forbidden('You are banned from this room');
  if (current !== 'invite' && state.joinRule(room) !== 'public')
    throw errors.forbidden('You are not invited to this room.');
  const displayName = state.users.get(userId)?.displayName;
  state.append(room, {
    type: 'm.room.member',
    sender: userId,
    state_key: userId,
    content: { membership: 'join', ...(displayName === undefined ? {} : { displayname: displayName }) },
  });
}

function requireJoined(state: HomeserverState, room: Room, userId: string): void {
  if (state.membership(room, userId)?.membership !== 'join')
    throw errors.forbidden(`User ${userId} not in room ${room.roomId}`);
}

/** A send as userId (the relay or a test's other user); same txn id on the same device -> same event. */
export function sendEvent(
  state: HomeserverState,
  room: Room,
  sender: { userId: string; deviceId: string },
  type: string,
  content: Record<string, unknown>,
  txnId: string,
  stateKeyValue?: string,
  redacts?: string,
): string {
  requireJoined(state, room, sender.userId);
  const txnKey = `${sender.userId}|${sender.deviceId}|${txnId}`;
  const known = state.transactions.get(txnKey);
  if (known !== undefined) return known;
  const event = state.append(room, {
    type,
    sender: sender.userId,
    content,
    txn: { deviceId: sender.deviceId, txnId },
    ...(stateKeyValue === undefined ? {} : { state_key: stateKeyValue }),
    ...(redacts === undefined ? {} : { redacts }),
  });
  state.transactions.set(txnKey, event.event_id);
  return event.event_id;
}

/**
 * A redaction (spec §"Redactions"): one's own events, or anyone's with the power level `redact`
 * (default 50), else 403 M_FORBIDDEN. The redacted event's id goes top-level before room version
 * 11 and into content from 11 on (spec, room version 11 "redacts moved to content").
 */
export function redactEvent(
  state: HomeserverState,
  room: Room,
  sender: { userId: string; deviceId: string },
  eventId: string,
  txnId: string,
  body: Record<string, unknown> = {},
): string {
  requireJoined(state, room, sender.userId);
  const target = room.events.find((e) => e.event_id === eventId);
  if (target !== undefined && target.sender !== sender.userId) {
    const level = state.powerLevel(room, sender.userId, 'redact');
    if (level.user < level.needed) throw errors.forbidden("You don't have permission to redact events");
  }
  const reason = typeof body.reason === 'string' ? { reason: body.reason } : {};
  const v11 = Number(state.roomVersion(room)) >= 11;
  const content = v11 ? { ...reason, redacts: eventId } : reason;
  return sendEvent(
    state,
    room,
    sender,
    'm.room.redaction',
    content,
    txnId,
    undefined,
    v11 ? undefined : eventId,
  );
}

export function addRoomRoutes(routes: Routes, state: HomeserverState): void {
  const auth = (request: Request): { userId: string; deviceId: string } => authenticate(state, request);
  const v3 = '/_matrix/client/v3';

  const join = (request: Request): unknown => {
    const { userId } = auth(request);
    const room = roomOr404(state, request.params[0] ?? '');
    joinRoom(state, room, userId);
    return { room_id: room.roomId };
  };
  routes.add('POST', `${v3}/join/{roomIdOrAlias}`, join);
  routes.add('POST', `${v3}/rooms/{roomId}/join`, join);

  routes.add('POST', `${v3}/rooms/{roomId}/leave`, (request) => {
    const { userId } = auth(request);
    const room = roomOr404(state, request.params[0] ?? '');
    if (state.membership(room, userId) === undefined) throw errors.forbidden('Not a member');
    state.append(room, {
      type: 'm.room.member',
      sender: userId,
      state_key: userId,
      content: { membership: 'leave' },
    });
    return {};
  });

  routes.add('POST', `${v3}/rooms/{roomId}/invite`, (request) => {
    const { userId } = auth(request);
    const room = roomOr404(state, request.params[0] ?? '');
    requireJoined(state, room, userId);
    const invitee = objectBody(request).user_id;
    if (typeof invitee !== 'string') throw errors.missingParam('Missing user_id');
    state.append(room, {
      type: 'm.room.member',
      sender: userId,
      state_key: invitee,
      content: { membership: 'invite' },
    });
    return {};
  });

  routes.add('GET', `${v3}/directory/room/{alias}`, (request) => {
    const alias = request.params[0] ?? '';
    const roomId = state.aliases.get(alias);
    if (roomId === undefined) throw errors.notFound(`Room alias ${alias} not found`);
    return { room_id: roomId, servers: [state.serverName] };
  });

  routes.add('PUT', `${v3}/rooms/{roomId}/send/{eventType}/{txnId}`, (request) => {
    const token = auth(request);
    const [roomId = '', type = '', txnId = ''] = request.params;
    const room = roomOr404(state, roomId);
    return { event_id: sendEvent(state, room, token, type, objectBody(request), txnId) };
  });

  routes.add('PUT', `${v3}/rooms/{roomId}/redact/{eventId}/{txnId}`, (request) => {
    const token = auth(request);
    const [roomId = '', eventId = '', txnId = ''] = request.params;
    const room = roomOr404(state, roomId);
    return { event_id: redactEvent(state, room, token, eventId, txnId, objectBody(request)) };
  });

  const putState = (request: Request): unknown => {
    const token = auth(request);
    const [roomId = '', type = '', key = ''] = request.params;
    const room = roomOr404(state, roomId);
    return { event_id: sendEvent(state, room, token, type, objectBody(request), state.id('state'), key) };
  };
  routes.add('PUT', `${v3}/rooms/{roomId}/state/{eventType}`, putState);
  routes.add('PUT', `${v3}/rooms/{roomId}/state/{eventType}/`, putState);
  routes.add('PUT', `${v3}/rooms/{roomId}/state/{eventType}/{stateKey}`, putState);

  const visibleRoom = (request: Request): Room => {
    const { userId } = auth(request);
    const room = roomOr404(state, request.params[0] ?? '');
    if (state.membership(room, userId) === undefined)
      throw errors.forbidden(`User ${userId} not in room ${room.roomId}`);
    return room;
  };
  routes.add('GET', `${v3}/rooms/{roomId}/state`, (request) =>
    [...visibleRoom(request).state.values()].map((e) => clientEvent(e)),
  );
  const getState = (request: Request): unknown => {
    const room = visibleRoom(request);
    const [, type = '', key = ''] = request.params;
    const event = room.state.get(stateKey(type, key));
    if (event === undefined) throw errors.notFound('Event not found.');
    return event.content;
  };
  routes.add('GET', `${v3}/rooms/{roomId}/state/{eventType}`, getState);
  routes.add('GET', `${v3}/rooms/{roomId}/state/{eventType}/`, getState);
  routes.add('GET', `${v3}/rooms/{roomId}/state/{eventType}/{stateKey}`, getState);

  routes.add('GET', `${v3}/rooms/{roomId}/members`, (request) => ({
    chunk: [...visibleRoom(request).state.values()]
      .filter((e) => e.type === 'm.room.member')
      .map((e) => clientEvent(e)),
  }));
  routes.add('GET', `${v3}/rooms/{roomId}/joined_members`, (request) => {
    const joined: Record<string, unknown> = {};
    for (const event of visibleRoom(request).state.values()) {
      if (
        event.type !== 'm.room.member' ||
        event.content.membership !== 'join' ||
        event.state_key === undefined
      )
        continue;
      joined[event.state_key] = { display_name: event.content.displayname ?? null, avatar_url: null };
    }
    return { joined };
  });
  // Spec: 404 M_NOT_FOUND for an unknown event, 403 for a room the user is not (and never was) in.
  routes.add('GET', `${v3}/rooms/{roomId}/event/{eventId}`, (request) => {
    const room = visibleRoom(request);
    const event = room.events.find((e) => e.event_id === request.params[1]);
    if (event === undefined) throw errors.notFound('Event not found.');
    return clientEvent(event);
  });
  routes.add('GET', `${v3}/joined_rooms`, (request) => {
    const { userId } = auth(request);
    return {
      joined_rooms: [...state.rooms.values()]
        .filter((r) => state.membership(r, userId)?.membership === 'join')
        .map((r) => r.roomId),
    };
  });

  routes.add('GET', `${v3}/profile/{userId}`, (request) => {
    const user = state.users.get(request.params[0] ?? '');
    if (user === undefined) throw errors.notFound('Profile was not found');
    return { ...(user.displayName === undefined ? {} : { displayname: user.displayName }) };
  });
  routes.add('GET', `${v3}/profile/{userId}/displayname`, (request) => {
    const user = state.users.get(request.params[0] ?? '');
    if (user?.displayName === undefined) throw errors.notFound('Profile was not found');
    return { displayname: user.displayName };
  });

  routes.add('GET', `${v3}/user/{userId}/account_data/{type}`, (request) => {
    const token = auth(request);
    if (request.params[0] !== token.userId)
      throw errors.forbidden('Cannot get account data for other users.');
    const value = state.users.get(token.userId)?.accountData.get(request.params[1] ?? '');
    if (value === undefined) throw errors.notFound('Account data not found');
    return value;
  });
  routes.add('PUT', `${v3}/user/{userId}/account_data/{type}`, (request) => {
    const token = auth(request);
    if (request.params[0] !== token.userId)
      throw errors.forbidden('Cannot add account data for other users.');
    state.users.get(token.userId)?.accountData.set(request.params[1] ?? '', objectBody(request));
    return {};
  });

  routes.add('POST', `${v3}/user/{userId}/filter`, (request) => {
    const token = auth(request);
    if (request.params[0] !== token.userId) throw errors.forbidden('Cannot create filters for other users.');
    const user = state.users.get(token.userId);
    const filterId = String(user?.filters.size ?? 0);
    user?.filters.set(filterId, objectBody(request));
    return { filter_id: filterId };
  });
  routes.add('GET', `${v3}/user/{userId}/filter/{filterId}`, (request) => {
    const token = auth(request);
    const filter = state.users.get(token.userId)?.filters.get(request.params[1] ?? '');
    if (filter === undefined) throw errors.notFound('No such filter.');
    return filter;
  });

  routes.add('GET', `${v3}/capabilities`, (request) => {
    auth(request);
    return { capabilities: { 'm.change_password': { enabled: true } } };
  });
}
