/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument -- GraphQL answers are read loosely here */
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { waitFor } from '../helpers/wait-for.js';

/** The emulator follows docs/kosmi-protocol.md §11 on its own, whatever our client does. */
describe('kosmi emulator (docs/kosmi-protocol.md §11)', () => {
  let emulator: KosmiEmulator;
  const clients: Client[] = [];
  beforeAll(async () => {
    emulator = await startKosmiEmulator({ rooms: ['@movienight', 'e8az5s'] });
  });
  afterAll(async () => {
    for (const client of clients) await Promise.resolve(client.dispose());
    await emulator.close();
  });

  const post = async (body: unknown): Promise<{ status: number; json: any }> => {
    const response = await fetch(emulator.apiUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const anonToken = async (): Promise<string> =>
    (await post({ query: 'mutation { anonLogin { token } }' })).json.data.anonLogin.token as string;

  class WithOrigin extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { Origin: emulator.url } });
    }
  }
  const connect = (token: string, onClose?: (code: number) => void): Client => {
    const client = createClient({
      url: emulator.wsUrl,
      webSocketImpl: WithOrigin,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { token, ua: 'dWE=', v: '4364', r: '' },
      onNonLazyError: () => undefined,
      on: { closed: (event) => onClose?.((event as { code: number }).code) },
    });
    clients.push(client);
    return client;
  };
  const run = (client: Client, query: string, variables: Record<string, unknown> = {}): Promise<any> =>
    new Promise((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query, variables },
        {
          next: (r) => (result = r),
          error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(e as Error)),
          complete: () => resolve(result),
        },
      );
    });

  it('answers anonLogin over HTTP with an HS512 JWT carrying the §6.3 claims', async () => {
    const { json } = await post({ query: 'mutation { anonLogin { token user { id displayName } } }' });
    const token = json.data.anonLogin.token as string;
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toEqual({ alg: 'HS512', typ: 'JWT' });
    expect(payload).toMatchObject({
      aud: 'kosmi',
      iss: 'kosmi',
      typ: 'access',
      sub: json.data.anonLogin.user.id,
    });
    expect(payload?.nbf).toBe((payload?.iat as number) - 1);
    expect((payload?.exp as number) - (payload?.iat as number)).toBe(31_449_600);
    expect(emulator.logins.anon).toBeGreaterThan(0);
  });

  it('rejects unknown HTTP operations and fields with a GraphQL error', async () => {
    expect((await post({ query: 'mutation { loginWithEmail }' })).json.errors).toBeDefined();
    expect((await post({ query: 'query { currentUser { id } }' })).json.errors[0].message).toMatch(
      /not available over HTTP/,
    );
    expect((await post({ query: '{ __schema { types { name } } }' })).status).toBe(200);
    expect(
      await fetch(`${emulator.url}/auth/login`, { method: 'POST', body: '{}' }).then((r) => r.status),
    ).toBe(400);
  });

  it('refuses a WebSocket upgrade without the Origin header with HTTP 403 (§2)', async () => {
    const socket = new WebSocket(emulator.wsUrl, 'graphql-transport-ws');
    const status = await new Promise<number>((resolve) =>
      socket.on('unexpected-response', (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      }),
    );
    expect(status).toBe(403);
  });

  it('closes a connection_init with a bad token with 4403', async () => {
    let code = 0;
    connect('not-a-token', (c) => (code = c));
    await waitFor(() => code !== 0);
    expect(code).toBe(4403);
  });

  it('answers ROOM_NOT_FOUND for a room id without its @, accepts short codes verbatim', async () => {
    const client = connect(await anonToken());
    const missing = await run(client, 'mutation J($id: String!) { joinRoom(id: $id) { ok } }', {
      id: 'movienight',
    });
    expect(missing.errors[0].message).toBe('ROOM_NOT_FOUND');
    const code = await run(client, 'mutation J($id: String!) { joinRoom(id: $id) { ok } }', { id: 'e8az5s' });
    expect(code.data.joinRoom.ok).toBe(true);
  });

  it('validates documents against the schema', async () => {
    const client = connect(await anonToken());
    const result = await run(client, 'query { currentUser { id favouriteColour } }');
    expect(result.errors[0].message).toMatch(/favouriteColour/);
  });

  it('sendMessage without joinRoom answers ok:true but reaches nobody; newMessage only reaches joined connections', async () => {
    const listener = connect(await anonToken());
    const outsider = connect(await anonToken());
    const joinedEvents: string[] = [];
    const outsiderEvents: string[] = [];
    await run(listener, 'mutation J($id: String!) { joinRoom(id: $id) { ok } }', { id: '@movienight' });
    const sub = `subscription S($roomId: String!, $channelId: String!) { newMessage(roomId: $roomId, channelId: $channelId) { body } }`;
    listener.subscribe(
      { query: sub, variables: { roomId: '@movienight', channelId: 'general' } },
      {
        next: (r: any) => joinedEvents.push(r.data.newMessage.body),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    outsider.subscribe(
      { query: sub, variables: { roomId: '@movienight', channelId: 'general' } },
      {
        next: (r: any) => outsiderEvents.push(r.data.newMessage.body),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await waitFor(() =>
      emulator.connections().some((c) => c.newMessage.size > 0 && c.joined.has('@movienight')),
    );
    const sent = await run(
      outsider,
      'mutation M($body: String!, $roomId: String!) { sendMessage(body: $body, roomId: $roomId) { ok } }',
      { body: 'lost', roomId: '@movienight' },
    );
    expect(sent.data.sendMessage.ok).toBe(true);
    expect(emulator.state.undelivered.some((u) => u.body === 'lost')).toBe(true);
    emulator.postAs('@movienight', 'alice', 'seen');
    await waitFor(() => joinedEvents.includes('seen'));
    expect(joinedEvents).not.toContain('lost');
    expect(outsiderEvents).toEqual([]);
  });
});
