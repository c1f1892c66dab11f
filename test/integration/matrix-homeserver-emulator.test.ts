import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHomeserver, type MatrixHomeserver } from '../helpers/matrix-homeserver/index.js';

/**
 * The emulator answers as the Client-Server spec says, independent of our client: these requests
 * are written from the spec, with plain fetch.
 */
describe('Matrix homeserver emulator', () => {
  let hs: MatrixHomeserver;
  let user: string;
  beforeEach(async () => {
    hs = await startHomeserver();
    user = hs.registerUser('spec', 'pw', 'Spec');
  });
  afterEach(async () => hs.close());

  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${hs.url}${path}`, {
      method,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        'content-type': 'application/json',
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const login = async (extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
    (
      await call('POST', '/_matrix/client/v3/login', {
        body: {
          type: 'm.login.password',
          identifier: { type: 'm.id.user', user: 'spec' },
          password: 'pw',
          ...extra,
        },
      })
    ).body;

  it('answers unknown endpoints 404 M_UNRECOGNIZED, a wrong method 405, and standard error bodies', async () => {
    expect((await call('GET', '/_matrix/client/versions')).body.versions).toContain('v1.11');
    expect(await call('GET', '/_matrix/client/v3/nonsense')).toEqual({
      status: 404,
      body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
    });
    expect((await call('DELETE', '/_matrix/client/v3/account/whoami')).status).toBe(405);
    expect(await call('GET', '/_matrix/client/v3/account/whoami')).toMatchObject({
      status: 401,
      body: { errcode: 'M_MISSING_TOKEN' },
    });
    expect(await call('GET', '/_matrix/client/v3/account/whoami', { token: 'nope' })).toMatchObject({
      status: 401,
      body: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: false },
    });
    expect(
      (
        await call('POST', '/_matrix/client/v3/login', {
          body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'spec' }, password: 'x' },
        })
      ).body,
    ).toMatchObject({ errcode: 'M_FORBIDDEN' });
  });

  it('logs in with refresh tokens; soft logout on expiry; refresh rotates', async () => {
    hs.auth.tokenLifetimeMs = 60_000;
    const first = await login({ refresh_token: true });
    expect(first).toMatchObject({ user_id: user, expires_in_ms: 60_000 });
    expect(
      (await call('GET', '/_matrix/client/v3/account/whoami', { token: String(first.access_token) })).body,
    ).toEqual({ user_id: user, device_id: first.device_id, is_guest: false });
    hs.invalidateTokens(user, { softLogout: true });
    expect(
      (await call('GET', '/_matrix/client/v3/account/whoami', { token: String(first.access_token) })).body,
    ).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: true });
    const refreshed = await call('POST', '/_matrix/client/v3/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.refresh_token);
    expect(
      (await call('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: first.refresh_token } }))
        .status,
    ).toBe(401);
  });

  it('a login with a known device_id reuses the device and invalidates its earlier access and refresh tokens', async () => {
    // Spec, POST /login device_id: "The server will invalidate any access token previously associated with this device."
    hs.auth.tokenLifetimeMs = 60_000;
    const first = await login({ refresh_token: true });
    const other = await login(); // another device of the same user is not touched
    const again = await login({ device_id: first.device_id, refresh_token: true });
    expect(again.device_id).toBe(first.device_id);
    expect(hs.devices(user).sort()).toEqual([String(first.device_id), String(other.device_id)].sort());
    expect(
      await call('GET', '/_matrix/client/v3/account/whoami', { token: String(first.access_token) }),
    ).toMatchObject({
      status: 401,
      body: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: false },
    });
    expect(
      await call('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: first.refresh_token } }),
    ).toMatchObject({
      status: 401,
      body: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: false },
    });
    expect(
      (await call('GET', '/_matrix/client/v3/account/whoami', { token: String(again.access_token) })).body,
    ).toEqual({ user_id: user, device_id: first.device_id, is_guest: false });
    expect(
      (await call('GET', '/_matrix/client/v3/account/whoami', { token: String(other.access_token) })).body,
    ).toMatchObject({ device_id: other.device_id });
    expect(
      (await call('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: again.refresh_token } }))
        .status,
    ).toBe(200);
  });

  it('sends idempotently by transaction id, long-polls /sync, answers 429 with retry_after_ms', async () => {
    const token = String((await login()).access_token);
    const roomId = hs.createRoom({ creator: user, alias: '#spec:localhost' });
    expect(
      (await call('GET', `/_matrix/client/v3/directory/room/${encodeURIComponent('#spec:localhost')}`)).body
        .room_id,
    ).toBe(roomId);
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`;
    const a = await call('PUT', path, { token, body: { msgtype: 'm.text', body: 'once' } });
    const b = await call('PUT', path, { token, body: { msgtype: 'm.text', body: 'once' } });
    expect(a.body.event_id).toBe(b.body.event_id);
    expect(hs.messagesFrom(user, roomId)).toHaveLength(1);

    const initial = (await call('GET', '/_matrix/client/v3/sync', { token })).body;
    const since = String(initial.next_batch);
    const polling = call('GET', `/_matrix/client/v3/sync?since=${since}&timeout=10000`, { token });
    hs.text(user, roomId, 'wakes the long-poll');
    const woken = (await polling).body as {
      rooms: { join: Record<string, { timeline: { events: { content: { body: string } }[] } }> };
    };
    expect(woken.rooms.join[roomId]?.timeline.events.map((e) => e.content.body)).toEqual([
      'wakes the long-poll',
    ]);

    hs.rateLimit(750, { times: 1 });
    expect(await call('GET', '/_matrix/client/v3/joined_rooms', { token })).toMatchObject({
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 750 },
    });
    expect((await call('GET', '/_matrix/client/v3/joined_rooms', { token })).body).toEqual({
      joined_rooms: [roomId],
    });
  });
});
