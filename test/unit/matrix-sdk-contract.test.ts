import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRelayClient, type ApiRequest, type MatrixApi } from '../../src/adapters/matrix/client.js';
import { CRYPTO_MODULE, SDK_MODULE, type MatrixSdkModule } from '../../src/adapters/matrix/sdk-loader.js';
import { dispatchSyncEvents } from '../../src/adapters/matrix/sync-events.js';
import { SyncStore } from '../../src/adapters/matrix/sync-store.js';

/**
 * What the relay relies on in matrix-bot-sdk (issue 9 §2, house style "Upgrade fragility"): these
 * tests fail when an SDK upgrade renames, reshapes or stops calling what client.ts and
 * sync-events.ts use. The SDK is loaded for real; only its native crypto binding, which cannot be
 * downloaded here, is replaced through require.cache (public Node API) by an empty module: nothing
 * below reaches the native code. This file runs in its own process (vitest pool "forks").
 */
const requireHere = createRequire(import.meta.url);
const bindingPath = requireHere.resolve(CRYPTO_MODULE);
requireHere.cache[bindingPath] = {
  id: bindingPath,
  filename: bindingPath,
  loaded: true,
  exports: {},
} as NodeJS.Module;
const sdk = requireHere(SDK_MODULE) as MatrixSdkModule;
const STORE_TYPE_SQLITE = 0; // StoreType.Sqlite of matrix-sdk-crypto-nodejs 0.4 (a const enum)

const dir = mkdtempSync(path.join(tmpdir(), 'kr-sdk-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clientWithCrypto(answer: (request: ApiRequest) => unknown): {
  client: ReturnType<typeof createRelayClient>;
  calls: ApiRequest[];
} {
  const calls: ApiRequest[] = [];
  // A fake of our own MatrixApi: records what the SDK asks for.
  const api = {
    request: (request: ApiRequest) => {
      calls.push(request);
      return Promise.resolve(answer(request));
    },
  } as unknown as MatrixApi;
  const sub = mkdtempSync(path.join(dir, 'c-'));
  const client = createRelayClient(sdk, {
    homeserver: 'http://127.0.0.1:9',
    api,
    storage: new SyncStore(path.join(sub, 'sync.json'), () => undefined),
    cryptoStore: new sdk.RustSdkCryptoStorageProvider(path.join(sub, 'crypto'), STORE_TYPE_SQLITE),
  });
  return { client, calls };
}

describe('matrix-bot-sdk contract', () => {
  it('MatrixClient.doRequest keeps the public signature that client.ts overrides', () => {
    // The SDK wraps doRequest in a metrics decorator, so its runtime arity says nothing; its declaration
    // does (0.8.0: lib/MatrixClient.d.ts, public; lib/MatrixClient.js line 1773). tsc checks the override.
    expect(typeof sdk.MatrixClient.prototype.doRequest).toBe('function');
    const declaration = readFileSync(
      path.join(path.dirname(requireHere.resolve(SDK_MODULE)), 'MatrixClient.d.ts'),
      'utf8',
    );
    expect(declaration).toContain(
      '\n    doRequest(method: any, endpoint: any, qs?: any, body?: any, timeout?: number, raw?: boolean, contentType?: string, noEncoding?: boolean): Promise<any>;',
    );
  });

  it('every request of the SDK client and of its CryptoClient goes through our MatrixApi', async () => {
    const { client, calls } = clientWithCrypto((request) => {
      if (request.path.endsWith('/account/whoami')) return { user_id: '@relay:localhost', device_id: 'DEV' };
      if (request.path.includes('/state/m.room.encryption/')) return { algorithm: 'm.megolm.v1.aes-sha2' };
      if (request.path.includes('/media/download/'))
        return { statusCode: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from('png') };
      return {};
    });
    expect(client.crypto).toBeDefined();
    expect(await client.getUserId()).toBe('@relay:localhost');
    // The CryptoClient's room tracker (isRoomEncrypted, once prepared) asks the homeserver through the client.
    await new sdk.RoomTracker(client).queueRoomCheck('!room:localhost');
    expect((await client.cryptoStore.getRoom('!room:localhost')).algorithm).toBe('m.megolm.v1.aes-sha2');
    // 0.8 downloads media from the authenticated path (Matrix v1.11), as raw bytes.
    const media = await client.downloadContent('mxc://localhost/abc');
    expect(media.contentType).toBe('image/png');
    expect(calls.map((c) => [c.method, c.path])).toEqual(
      expect.arrayContaining([
        ['GET', '/_matrix/client/v3/account/whoami'],
        ['GET', `/_matrix/client/v3/rooms/${encodeURIComponent('!room:localhost')}/state/m.room.encryption/`],
        ['GET', '/_matrix/client/v1/media/download/localhost/abc'],
      ]),
    );
    expect(calls.at(-1)).toMatchObject({ responseType: 'response', query: { allow_remote: true } });
  });

  it('the CryptoClient API that sync-events.ts uses is there, and the client subscribes it to room.event / room.join', () => {
    // Methods wrapped by the SDK's requiresReady decorator report no parameters, so only their presence is checked.
    const proto = sdk.CryptoClient.prototype as unknown as Record<string, unknown>;
    for (const name of [
      'updateSyncData',
      'isRoomEncrypted',
      'decryptRoomEvent',
      'encryptRoomEvent',
      'prepare',
    ])
      expect(typeof proto[name], name).toBe('function');
    expect(typeof Object.getOwnPropertyDescriptor(proto, 'isReady')?.get).toBe('function');
    expect(new sdk.EncryptedRoomEvent({ type: 'm.room.encrypted', content: {} }).type).toBe(
      'm.room.encrypted',
    );
    const { client } = clientWithCrypto(() => ({}));
    expect(client.listenerCount('room.event')).toBe(1);
    expect(client.listenerCount('room.join')).toBe(1);
  });

  it('dispatchSyncEvents feeds the CryptoClient, decrypts, and tells the SDK client about events and joins', async () => {
    const { client } = clientWithCrypto(() => ({}));
    const crypto = client.crypto;
    const tracked: string[] = [];
    // The client's own listeners call these on its CryptoClient (lib/MatrixClient.js lines 99-107).
    Object.assign(crypto, {
      onRoomEvent: (roomId: string, event: { type: string }) => tracked.push(`event ${roomId} ${event.type}`),
      onRoomJoin: (roomId: string) => tracked.push(`join ${roomId}`),
    });
    const fed: unknown[][] = [];
    const fakeCrypto = {
      updateSyncData: (...args: unknown[]) => Promise.resolve(void fed.push(args)),
      isRoomEncrypted: () => Promise.resolve(true),
      decryptRoomEvent: (event: { raw: Record<string, unknown> }) =>
        Promise.resolve({
          raw: { ...event.raw, type: 'm.room.message', content: { msgtype: 'm.text', body: 'secret' } },
        }),
    } as unknown as typeof crypto;
    const messages: unknown[] = [];
    const events: string[] = [];
    await dispatchSyncEvents(
      {
        next_batch: 's2',
        to_device: { events: [{ type: 'm.room.encrypted', content: {} }] },
        device_one_time_keys_count: { signed_curve25519: 3 },
        device_unused_fallback_key_types: ['signed_curve25519'],
        device_lists: { changed: ['@bob:localhost'], left: [] },
        rooms: {
          join: {
            '!r:localhost': {
              timeline: {
                events: [
                  {
                    type: 'm.room.member',
                    state_key: '@relay:localhost',
                    sender: '@relay:localhost',
                    content: { membership: 'join' },
                  },
                  { type: 'm.room.encrypted', event_id: '$e', sender: '@bob:localhost', content: {} },
                ],
              },
            },
          },
        },
      },
      {
        onEvent: (_roomId, event) => events.push((event as { type: string }).type),
        onMessage: (_roomId, event) => Promise.resolve(void messages.push(event.content)),
        onUndecryptable: () => undefined,
      },
      {
        client,
        crypto: fakeCrypto,
        EncryptedRoomEvent: sdk.EncryptedRoomEvent,
        ownUserId: '@relay:localhost',
        announcedJoins: new Set(),
      },
    );
    expect(fed).toEqual([
      [
        [{ type: 'm.room.encrypted', content: {} }],
        { signed_curve25519: 3 },
        ['signed_curve25519'],
        ['@bob:localhost'],
        [],
      ],
    ]);
    expect(messages).toEqual([{ msgtype: 'm.text', body: 'secret' }]);
    expect(events).toEqual(['m.room.member', 'm.room.message']);
    expect(tracked).toEqual([
      'join !r:localhost',
      'event !r:localhost m.room.member',
      'event !r:localhost m.room.message',
    ]);
  });
});
