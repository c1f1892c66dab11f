import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createKosmiAdapter } from '../../src/adapters/kosmi/index.js';
import type { AdapterStatus, ChatAdapter } from '../../src/core/adapter.js';
import type { ChatMessage, OutboundPiece } from '../../src/core/message.js';
import { FROM_IRC, deliveryQueue, piece, sendText } from '../helpers/pieces.js';
import {
  startKosmiEmulator,
  type KosmiEmulator,
  type KosmiEmulatorOptions,
} from '../helpers/kosmi-emulator/index.js';
import { kosmiSettings, tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { memoryCursors, memoryMessages } from '../helpers/memory-cursors.js';

const ROOM = '@movienight';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: {
    emulator?: KosmiEmulatorOptions;
    settings?: Record<string, unknown>;
    channel?: string;
    dataDir?: string;
    /** ws_url computed from the emulator (network-failure tests). */
    wsUrl?: (emulator: KosmiEmulator) => Promise<string>;
  } = {},
) {
  const emulator = await startKosmiEmulator(options.emulator);
  cleanups.push(() => emulator.close());
  const settings = {
    ...options.settings,
    ...(options.wsUrl === undefined ? {} : { ws_url: await options.wsUrl(emulator) }),
  };
  const log = memoryLogger();
  const sent: string[] = [];
  const received: ChatMessage[] = [];
  const dataDir = options.dataDir ?? tempDataDir();
  const make = (): ChatAdapter => {
    const adapter = createKosmiAdapter('kosmi.main', kosmiSettings(emulator, settings), {
      logger: log.logger,
      dataDir,
      channels: [options.channel ?? ROOM],
      cursors: memoryCursors(),
      messages: memoryMessages(),
    });
    adapter.on('message', (m) => received.push(m));
    cleanups.push(() => adapter.stop(2_000));
    return adapter;
  };
  return { emulator, log, sent, received, make, dataDir };
}

function outbound(text: string): OutboundPiece {
  return piece(ROOM, text, FROM_IRC);
}

/**
 * Delivers through the core's own DeliveryQueue (in order, a retryable failure waits for the
 * reconnect and sends again); resolves with the number of failed attempts it retried.
 */
async function deliverInOrder(
  adapter: ChatAdapter,
  messages: OutboundPiece[],
  onDelivered?: (index: number) => void,
): Promise<number> {
  let retries = 0;
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        if (line.includes('send failed, will retry')) retries += 1;
      },
    },
  );
  const delivery = deliveryQueue(adapter, ROOM, { logger });
  let delivered = 0;
  for (const message of messages) {
    delivery.ledger.addPieces([
      {
        id: message.id,
        messageId: message.messageId,
        account: adapter.account,
        channel: ROOM,
        enqueuedAt: Date.now(),
        payload: JSON.stringify(message),
      },
    ]);
    delivery.queue.enqueue([{ piece: message, enqueuedAt: Date.now() }]);
    await waitFor(() => delivery.queue.depth === 0, { timeoutMs: 20_000, what: 'delivered' });
    onDelivered?.(delivered);
    delivered += 1;
  }
  delivery.queue.close();
  return retries;
}

/** Each distinct body once, in the order it first arrived. */
function firstOccurrences(bodies: string[]): string[] {
  return bodies.filter((body, index) => bodies.indexOf(body) === index);
}

/** jtis the emulator refused (or closed during init) that a later connection_init presented again. */
function rejectedThenPresentedAgain(emulator: KosmiEmulator): string[] {
  return emulator.inits.flatMap((init, index) =>
    !init.accepted &&
    init.jti !== undefined &&
    emulator.inits.slice(index + 1).some((later) => later.jti === init.jti)
      ? [init.jti]
      : [],
  );
}

const connected = (adapter: ChatAdapter, emulator: KosmiEmulator, count = 1): Promise<unknown> =>
  waitFor(() => adapter.status().state === 'connected' && emulator.listeners(ROOM).length >= count, {
    what: 'adapter connected and subscribed',
  });

describe('kosmi adapter against the emulator', () => {
  it('runs the §3.1 session with the §2 handshake, relays in both directions and drops its own echo', async () => {
    const t = await setup();
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    await waitFor(() => t.emulator.archiveQueries.count >= 1, { what: 'the backfill query' });
    const [connection] = t.emulator.connections();
    expect(connection?.operations).toEqual([
      'ExtendedCurrentUserQuery',
      'JoinRoom',
      'RoomDisconnect',
      'NewMessageSubscription',
      'RoomChatQuery',
    ]);
    expect(t.emulator.logins).toMatchObject({ anon: 1, email: 0 });

    t.emulator.postAs(ROOM, 'alice', 'hello from kosmi');
    const message = await waitFor(() => t.received[0]);
    expect(message).toMatchObject({
      kind: 'text',
      text: 'hello from kosmi',
      sender: { nick: 'alice' },
      source: { account: 'kosmi.main', channel: ROOM },
    });
    expect(Math.abs(message.timestamp.getTime() - Date.now())).toBeLessThan(5_000);

    await sendText(adapter, ROOM, 'hi from irc', FROM_IRC, (text) => t.sent.push(text));
    const mine = t.emulator.messages(ROOM).filter((m) => m.body === '[irc] <bob> hi from irc');
    expect(mine).toHaveLength(1);
    expect(t.sent).toEqual(['[irc] <bob> hi from irc']);
    t.emulator.postAs(ROOM, 'alice', 'after');
    await waitFor(() => t.received.some((m) => m.text === 'after'));
    expect(t.received.map((m) => m.text)).toEqual(['hello from kosmi', 'after']);
  });

  it('accepts a room URL and keeps the @; a room without @ fails with ROOM_NOT_FOUND', async () => {
    const t = await setup({ channel: `https://app.kosmi.io/room/${ROOM}` });
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    t.emulator.postAs(ROOM, 'alice', 'x');
    expect((await waitFor(() => t.received[0])).source.channel).toBe(`https://app.kosmi.io/room/${ROOM}`);

    const bad = await setup({ channel: 'movienight' });
    const badAdapter = bad.make();
    await badAdapter.start();
    const status = await waitFor(() =>
      badAdapter.status().state === 'failed' ? badAdapter.status() : undefined,
    );
    expect(status.reason).toMatch(/ROOM_NOT_FOUND.*keep their "@"/);
  });

  it('splits long messages at the limit and throttles sends', async () => {
    const t = await setup({ settings: { max_message_bytes: 100, send_rate_per_second: 20, send_burst: 1 } });
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const started = Date.now();
    await sendText(adapter, ROOM, words, FROM_IRC);
    const bodies = t.emulator.messages(ROOM).map((m) => m.body);
    expect(bodies.length).toBeGreaterThan(3);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(100);
    // Every piece carries the nick prefix, as on IRC: a reader always sees who is speaking.
    for (const body of bodies) expect(body.startsWith('[irc] <bob> ')).toBe(true);
    expect(bodies.map((body) => body.slice('[irc] <bob> '.length)).join(' ')).toBe(words);
    expect(Date.now() - started).toBeGreaterThanOrEqual(((bodies.length - 1) * 1000) / 20 - 20);
  });

  it('reconnects after every socket is dropped mid-burst: nothing lost, order kept', async () => {
    const t = await setup();
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    const burst = Array.from({ length: 40 }, (_, i) => outbound(`burst ${i}`));
    let dropped = 0;
    const retries = await deliverInOrder(adapter, burst, (index) => {
      if (index === 9 || index === 24) dropped += t.emulator.dropAllSockets();
    });
    expect(dropped).toBe(2);
    const bodies = t.emulator.messages(ROOM).map((m) => m.body.replace('[irc] <bob> ', ''));
    expect(firstOccurrences(bodies)).toEqual(burst.map((m) => m.text));
    // Only a message in flight at a drop can arrive twice (at least once), never more.
    expect(bodies.length - burst.length).toBeLessThanOrEqual(dropped);
    // Each drop makes the next send fail retryably (the socket is gone or going): at least one retry per drop.
    expect(retries).toBeGreaterThanOrEqual(dropped);
    expect(t.emulator.connections()).toHaveLength(1);
    // Inbound works on the rebuilt session.
    t.emulator.postAs(ROOM, 'alice', 'still here');
    await waitFor(() => t.received.some((m) => m.text === 'still here'));
  });

  it('a revoked token is dropped, renewed once, and relaying goes on with nothing lost', async () => {
    const t = await setup();
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    await deliverInOrder(adapter, [outbound('before')]);
    const revokedJtis = t.emulator.connections().map((c) => c.jti);
    expect(revokedJtis).toHaveLength(1);
    const mark = t.emulator.inits.length;
    t.emulator.revokeAllTokens({ closeConnections: true });
    const pending = deliverInOrder(adapter, [outbound('during 1'), outbound('during 2')]);
    await pending;
    await connected(adapter, t.emulator);
    expect(t.emulator.logins.anon).toBe(2);
    // At least once: a send in flight when the server closed may reach the room and be sent again.
    expect(
      firstOccurrences(t.emulator.messages(ROOM).map((m) => m.body.replace('[irc] <bob> ', ''))),
    ).toEqual(['before', 'during 1', 'during 2']);
    expect(t.log.lines.some((l) => l.msg === 'Kosmi rejected the token; renewing it')).toBe(true);
    // The revoked token is never presented again: every later connection_init carries the new one.
    const later = t.emulator.inits.slice(mark);
    expect(later.length).toBeGreaterThanOrEqual(1);
    for (const init of later) expect(revokedJtis).not.toContain(init.jti);
    expect(later.every((init) => init.accepted)).toBe(true);
  });

  it.each([4400, 1011])(
    'a close %i during init counts as a token rejection at once: the next connect presents a new token',
    async (code) => {
      const t = await setup();
      t.emulator.closeNextInits(code);
      const adapter = t.make();
      await adapter.start();
      await connected(adapter, t.emulator);
      const [first, second, ...rest] = t.emulator.inits;
      expect(first).toMatchObject({ accepted: false, closeCode: code });
      expect(second?.accepted).toBe(true);
      expect(second?.jti).toBeDefined();
      expect(second?.jti).not.toBe(first?.jti);
      expect(rest).toEqual([]);
      expect(rejectedThenPresentedAgain(t.emulator)).toEqual([]);
      expect(t.emulator.logins.anon).toBe(2);
    },
  );

  it.each([
    ['a refused TCP connection', async () => `ws://127.0.0.1:${await freePort()}/gql-ws`],
    ['an HTTP 404 instead of the upgrade', (e: KosmiEmulator) => Promise.resolve(`${e.wsUrl}-nowhere`)],
  ])(
    '%s is a network failure, not a close during init: the token is kept, no new login',
    async (_what, wsUrl) => {
      const t = await setup({ wsUrl });
      const adapter = t.make();
      await adapter.start();
      await waitFor(() => t.log.lines.filter((l) => l.msg === 'reconnecting').length >= 2, {
        what: 'two reconnect attempts',
      });
      expect(t.emulator.logins.anon).toBe(1);
      expect(t.emulator.inits).toEqual([]);
      expect(t.log.lines.some((l) => String(l.msg).includes('rejected the token'))).toBe(false);
      expect(adapter.status().state).not.toBe('failed');
    },
  );

  it('repeated rejections: failed with what to do, and no login storm', async () => {
    const t = await setup({ settings: { retry_failed_seconds: 600 } });
    t.emulator.rejectAllTokens(true);
    const adapter = t.make();
    const statuses: AdapterStatus[] = [];
    adapter.on('status', (status) => statuses.push(status));
    await adapter.start();
    const status = await waitFor(() => statuses.find((s) => s.state === 'failed'), {
      what: "status 'failed'",
    });
    expect(status.reason).toMatch(/kosmi-login/);
    // The wait until the next try is a log field now (core/supervisor.ts), not part of the reason.
    expect(t.log.lines.filter((l) => l.msg === 'account failed')).toMatchObject([
      { level: 50, delayMs: 600_000, reason: status.reason },
    ]);
    expect(t.emulator.logins.anon).toBe(2);
    // Two tokens, each presented once: a rejected one never again.
    expect(t.emulator.inits.map((i) => i.accepted)).toEqual([false, false]);
    expect(new Set(t.emulator.inits.map((i) => i.jti)).size).toBe(2);
    expect(rejectedThenPresentedAgain(t.emulator)).toEqual([]);
    // Bounded check: while failed, no new attempt (the next one is 10 minutes away).
    await expect(
      waitFor(() => t.emulator.logins.anon > 2 || t.emulator.inits.length > 2 || statuses.at(-1) !== status, {
        timeoutMs: 1_500,
        what: 'another attempt',
      }),
    ).rejects.toThrow(/timed out after 1500 ms waiting for another attempt/);
    // stop() ends the pause: straight from failed to stopped, never another connect.
    await adapter.stop(2_000);
    expect(statuses.slice(statuses.indexOf(status) + 1).map((s) => s.state)).toEqual(['disconnected']);
  });

  it('treats a silent socket as dead after read_timeout_seconds and reconnects', async () => {
    const t = await setup({ settings: { ping_interval_seconds: 0.2, read_timeout_seconds: 1 } });
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    const first = t.emulator.connections()[0];
    t.emulator.freezeSockets();
    await waitFor(
      () => t.log.lines.some((l) => l.msg === 'nothing read from Kosmi for too long; dropping the socket'),
      { timeoutMs: 10_000 },
    );
    await waitFor(
      () => adapter.status().state === 'connected' && t.emulator.listeners(ROOM).some((c) => c !== first),
      { timeoutMs: 15_000 },
    );
    first?.socket.terminate();
  });

  it('a roomDisconnect event triggers a reconnect with a new session', async () => {
    const t = await setup();
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    const first = t.emulator.connections()[0];
    t.emulator.disconnectRoom(ROOM);
    await waitFor(() => t.emulator.listeners(ROOM).some((c) => c !== first), { timeoutMs: 15_000 });
    expect(
      t.log.lines.some((l) => (typeof l.reason === 'string' ? l.reason : '').includes('roomDisconnect')),
    ).toBe(true);
  });

  it('restarting with a valid cache logs in no more; a 30-second token keeps the connection across 35 s', async () => {
    const t = await setup({ emulator: { tokenLifetimeSeconds: 30 } });
    const first = t.make();
    await first.start();
    await connected(first, t.emulator);
    await first.stop(2_000);
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    expect(t.emulator.logins.anon).toBe(1);
    expect(t.log.lines.some((l) => String(l.msg).startsWith('Using cached token (expires in'))).toBe(true);

    // The emulator closes a connection with 4403 when its token expires: only a renewal ahead of
    // exp, switched over seamlessly (make before break), keeps this session usable for 35 s.
    const statuses: AdapterStatus[] = [];
    adapter.on('status', (status) => statuses.push(status));
    const startedAt = Date.now();
    let sent = 0;
    let retries = 0;
    while (Date.now() - startedAt < 35_000) {
      retries += await deliverInOrder(adapter, [outbound(`tick ${sent}`)]);
      sent += 1;
      await waitFor(() => Date.now() - startedAt >= sent * 5_000, { timeoutMs: 6_000, intervalMs: 100 });
    }
    const bodies = t.emulator.messages(ROOM).map((m) => m.body.replace('[irc] <bob> ', ''));
    expect(bodies).toEqual(Array.from({ length: sent }, (_, i) => `tick ${i}`));
    expect(t.emulator.logins.anon).toBeGreaterThanOrEqual(2);
    expect(t.emulator.logins.anon).toBeLessThanOrEqual(3);
    expect(
      t.log.lines.filter((l) => l.msg === 'reconnected with the renewed token').length,
    ).toBeGreaterThanOrEqual(1);
    expect(adapter.status().state).toBe('connected');
    expect(statuses.map((s) => s.state)).toEqual([]); // never left 'connected'
    expect(retries).toBe(0);
    expect(t.log.lines.some((l) => String(l.msg).includes('rejected the token'))).toBe(false);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(35_000);
    t.emulator.postAs(ROOM, 'alice', 'late');
    await waitFor(() => t.received.filter((m) => m.text === 'late').length === 1);
  }, 60_000);

  it('a token already inside its renewal window when issued (skewed clock) is not renewed every 2 s', async () => {
    // The server's clock 100 s behind: a 120 s token arrives with 20 s left, its renewal time past.
    const t = await setup({ emulator: { tokenLifetimeSeconds: 120, clockSkewSeconds: -100 } });
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    // Bounded check: no renewal login for the next 6 s (the old code logged in again every 2 s).
    await expect(
      waitFor(() => t.emulator.logins.anon > 1, {
        timeoutMs: 6_000,
        intervalMs: 100,
        what: 'a renewal login',
      }),
    ).rejects.toThrow(/timed out after 6000 ms waiting for a renewal login/);
    expect(
      t.log.lines.filter((l) => String(l.msg).includes('already inside its renewal window')),
    ).toHaveLength(1);
    // Then one renewal, halfway to exp (about 10 s in), and the connection goes on.
    await waitFor(() => t.log.lines.some((l) => l.msg === 'reconnected with the renewed token'), {
      timeoutMs: 15_000,
    });
    expect(t.emulator.logins.anon).toBe(2);
    await sendText(adapter, ROOM, 'after renewal', FROM_IRC);
    expect(t.emulator.messages(ROOM).map((m) => m.body)).toEqual(['[irc] <bob> after renewal']);
  }, 30_000);

  it('a newMessage frame of unexpected shape is logged at warn and dropped, never a crash', async () => {
    const t = await setup();
    const adapter = t.make();
    await adapter.start();
    await connected(adapter, t.emulator);
    t.emulator.injectRaw(ROOM, { id: 'broken', time: 1, user: { id: 'u1' } }); // no body
    t.emulator.postAs(ROOM, 'alice', 'after the broken one');
    await waitFor(() => t.received.some((m) => m.text === 'after the broken one'));
    expect(t.received).toHaveLength(1);
    expect(
      t.log.lines.some((l) => l.level === 40 && l.msg === 'dropped a newMessage frame of unexpected shape'),
    ).toBe(true);
    expect(adapter.status().state).toBe('connected');
  });
});
