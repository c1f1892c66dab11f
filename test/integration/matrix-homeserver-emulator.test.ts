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

  it('redactions: own events, or with the power level; room v11 puts redacts in content; GET /event 404 and 403', async () => {
    const token = String((await login()).access_token);
    const other = hs.registerUser('other', 'pw');
    const roomId = hs.createRoom({ creator: other, alias: '#redact:localhost' });
    const v11 = hs.createRoom({ creator: other, alias: '#v11:localhost', roomVersion: '11' });
    hs.join(user, roomId);
    hs.join(user, v11);
    const mine = hs.text(user, roomId, 'mine');
    const theirs = hs.text(other, roomId, 'theirs');
    const rooms = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
    expect(
      await call('PUT', `${rooms}/redact/${encodeURIComponent(theirs)}/t1`, { token, body: {} }),
    ).toMatchObject({
      status: 403,
      body: { errcode: 'M_FORBIDDEN' },
    });
    const done = await call('PUT', `${rooms}/redact/${encodeURIComponent(mine)}/t2`, {
      token,
      body: { reason: 'oops' },
    });
    expect(done.status).toBe(200);
    const redaction = await call('GET', `${rooms}/event/${encodeURIComponent(String(done.body.event_id))}`, {
      token,
    });
    expect(redaction.body).toMatchObject({
      type: 'm.room.redaction',
      redacts: mine,
      content: { reason: 'oops' },
    });
    expect((await call('GET', `${rooms}/event/${encodeURIComponent(mine)}`, { token })).body).toMatchObject({
      content: {},
      unsigned: { redacted_because: { event_id: done.body.event_id } },
    });
    // The room's creator (power level 100) may redact anyone's.
    hs.redact(other, roomId, hs.text(user, roomId, 'moderated'));
    const inV11 = hs.redact(other, v11, hs.text(user, v11, 'v11'));
    const v11Event = hs.events(v11).find((e) => e.event_id === inV11);
    expect(v11Event?.content).toMatchObject({ redacts: expect.any(String) as string });
    expect(v11Event).not.toHaveProperty('redacts');
    expect((await call('GET', `${rooms}/event/$unknown`, { token })).body.errcode).toBe('M_NOT_FOUND');
    const closed = hs.createRoom({ creator: other, public: false });
    const hidden = hs.text(other, closed, 'hidden');
    expect(
      (
        await call(
          'GET',
          `/_matrix/client/v3/rooms/${encodeURIComponent(closed)}/event/${encodeURIComponent(hidden)}`,
          { token },
        )
      ).status,
    ).toBe(403);
  });

  it('media: upload with a token; v1 download needs one; the frozen v3 serves only older files; a server without v1', async () => {
    const token = String((await login()).access_token);
    const upload = await fetch(`${hs.url}/_matrix/media/v3/upload?filename=old.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'old bytes',
    });
    const oldUri = String(((await upload.json()) as { content_uri?: unknown }).content_uri);
    expect(oldUri).toMatch(/^mxc:\/\/localhost\/[A-Za-z0-9_-]+$/);
    expect(
      (
        await fetch(`${hs.url}/_matrix/media/v3/upload`, {
          method: 'POST',
          body: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(401);
    hs.frozenUnauthenticatedMedia();
    const newUri = hs.uploadMedia(Buffer.from('new bytes'), 'text/plain');
    const path = (uri: string): string => uri.slice('mxc://'.length);
    const get = (url: string, auth?: string): Promise<Response> =>
      fetch(`${hs.url}${url}`, auth === undefined ? {} : { headers: { authorization: `Bearer ${auth}` } });

    expect((await get(`/_matrix/client/v1/media/download/${path(oldUri)}`)).status).toBe(401);
    const v1 = await get(`/_matrix/client/v1/media/download/${path(newUri)}/name.txt`, token);
    expect([v1.status, v1.headers.get('content-type'), await v1.text()]).toEqual([
      200,
      'text/plain',
      'new bytes',
    ]);
    expect(await (await get(`/_matrix/media/v3/download/${path(oldUri)}`)).text()).toBe('old bytes');
    const frozen = await get(`/_matrix/media/v3/download/${path(newUri)}`);
    expect([frozen.status, ((await frozen.json()) as { errcode?: unknown }).errcode]).toEqual([
      404,
      'M_NOT_FOUND',
    ]);
    hs.noV1Media();
    const gone = await get(`/_matrix/client/v1/media/download/${path(newUri)}`, token);
    expect([gone.status, ((await gone.json()) as { errcode?: unknown }).errcode]).toEqual([
      404,
      'M_UNRECOGNIZED',
    ]);
  });
});
