import { afterEach, describe, expect, it } from 'vitest';
import { createKosmiAdapter } from '../../src/adapters/kosmi/index.js';
import type { AccountCursors } from '../../src/adapters/types.js';
import type { ChatAdapter } from '../../src/core/adapter.js';
import type { ChatMessage } from '../../src/core/message.js';
import { FROM_IRC, sendText } from '../helpers/pieces.js';
import {
  startKosmiEmulator,
  type KosmiEmulator,
  type KosmiEmulatorOptions,
} from '../helpers/kosmi-emulator/index.js';
import { kosmiSettings, tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryCursors, memoryMessages } from '../helpers/memory-cursors.js';
import { memoryLogger, type MemoryLogger } from '../helpers/memory-logger.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 9 §3: nothing posted in Kosmi is lost while the relay is away, nothing relayed twice. */
const ROOM = '@backfill';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  readonly emulator: KosmiEmulator;
  readonly log: MemoryLogger;
  readonly cursors: AccountCursors & { values: Map<string, string> };
  readonly received: ChatMessage[];
  make(settings?: Record<string, unknown>): Promise<ChatAdapter>;
}

async function setup(emulatorOptions: KosmiEmulatorOptions = {}): Promise<Harness> {
  const emulator = await startKosmiEmulator({ rooms: [ROOM], ...emulatorOptions });
  cleanups.push(() => emulator.close());
  const log = memoryLogger();
  const cursors = memoryCursors();
  const received: ChatMessage[] = [];
  const dataDir = tempDataDir();
  return {
    emulator,
    log,
    cursors,
    received,
    async make(settings = {}) {
      const adapter = createKosmiAdapter('kosmi.main', kosmiSettings(emulator, settings), {
        logger: log.logger,
        dataDir,
        channels: [ROOM],
        cursors,
        messages: memoryMessages(),
      });
      adapter.on('message', (m) => received.push(m));
      cleanups.push(() => adapter.stop(2_000));
      await adapter.start();
      await connected(adapter, emulator);
      return adapter;
    },
  };
}

const connected = (adapter: ChatAdapter, emulator: KosmiEmulator): Promise<unknown> =>
  waitFor(() => adapter.status().state === 'connected' && emulator.listeners(ROOM).length === 1, {
    what: 'adapter connected and subscribed',
  });

const texts = (received: ChatMessage[]): string[] => received.map((m) => m.text);
const series = (name: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${name} ${i}`);

describe('kosmi backfill from the chat archive (§4.7)', () => {
  it('relays what was posted while the socket was down, once and in order, with networkId = the Kosmi id', async () => {
    const t = await setup({ archivePageSize: 7 });
    await t.make();
    t.emulator.postAs(ROOM, 'alice', 'live before');
    await waitFor(() => t.received.length === 1, { what: 'the live message' });
    const archiveQueries = t.emulator.archiveQueries.count;
    t.emulator.dropAllSockets();
    // Posted while nobody listens: only the archive has them (three pages of 7).
    const missed = series('missed', 20);
    for (const body of missed) t.emulator.postAs(ROOM, 'alice', body);
    await waitFor(() => t.received.length === 21, { timeoutMs: 15_000, what: 'the backfill' });
    t.emulator.postAs(ROOM, 'alice', 'live after');
    await waitFor(() => t.received.length === 22, { what: 'the live message after the backfill' });
    expect(texts(t.received)).toEqual(['live before', ...missed, 'live after']);
    const stored = t.emulator.messages(ROOM);
    expect(t.received.map((m) => m.networkId)).toEqual(stored.map((m) => m.id));
    expect(t.emulator.archiveQueries.count - archiveQueries).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(t.cursors.get(`last_message:${ROOM}`) ?? '{}')).toMatchObject({
      id: stored.at(-1)?.id,
    });
    expect(t.log.lines.some((l) => l.msg === 'relaying messages missed while away' && l.count === 20)).toBe(
      true,
    );
  });

  it('never relays what was posted before the very first start, nor the relay’s own messages', async () => {
    const t = await setup();
    t.emulator.postAs(ROOM, 'alice', 'before the relay existed');
    const adapter = await t.make();
    await waitFor(() => t.emulator.archiveQueries.count >= 1, { what: 'the first backfill' });
    expect(Number(t.cursors.get('first_started_at'))).toBeGreaterThan(0);
    await sendText(adapter, ROOM, 'from irc', FROM_IRC);
    t.emulator.dropAllSockets();
    t.emulator.postAs(ROOM, 'alice', 'while away');
    await waitFor(() => t.received.length === 1, { timeoutMs: 15_000, what: 'the backfill' });
    t.emulator.postAs(ROOM, 'alice', 'marker');
    await waitFor(() => t.received.length === 2, { what: 'the marker' });
    expect(texts(t.received)).toEqual(['while away', 'marker']);
  });

  it('a new adapter on the same cursors (a restart) relays what was missed, bounded by backlog_max_age_seconds', async () => {
    const t = await setup();
    const first = await t.make();
    t.emulator.postAs(ROOM, 'alice', 'seen');
    await waitFor(() => t.received.length === 1, { what: 'the live message' });
    await first.stop(2_000);
    const missed = series('down', 5);
    for (const body of missed) t.emulator.postAs(ROOM, 'alice', body);
    const second = await t.make();
    await waitFor(() => t.received.length === 6, { timeoutMs: 15_000, what: 'the backfill after a restart' });
    expect(texts(t.received)).toEqual(['seen', ...missed]);

    // backlog_max_age_seconds = 0: nothing older than now is backfilled.
    const third = t.received.length;
    const queries = t.emulator.archiveQueries.count;
    await second.stop(2_000);
    t.emulator.postAs(ROOM, 'alice', 'too old');
    await t.make({ backlog_max_age_seconds: 0 });
    await waitFor(() => t.emulator.archiveQueries.count > queries, { what: 'the backfill query' });
    t.emulator.postAs(ROOM, 'alice', 'fresh');
    await waitFor(() => t.received.length > third, { what: 'the live message' });
    expect(texts(t.received).slice(third)).toEqual(['fresh']);
  });

  it.each(['no-ids', 'no-times'] as const)(
    'an archive with %s is skipped with one warning; live relaying goes on',
    async (fields) => {
      const t = await setup();
      await t.make();
      t.emulator.setArchiveFields(fields);
      for (let i = 0; i < 2; i++) {
        const queries = t.emulator.archiveQueries.count;
        t.emulator.dropAllSockets();
        t.emulator.postAs(ROOM, 'alice', `lost ${i}`);
        await waitFor(() => t.emulator.archiveQueries.count > queries, { what: 'the backfill query' });
        await waitFor(() => t.emulator.listeners(ROOM).length === 1, { what: 'resubscribed' });
      }
      t.emulator.postAs(ROOM, 'alice', 'live');
      await waitFor(() => t.received.length === 1, { what: 'the live message' });
      expect(texts(t.received)).toEqual(['live']);
      const warnings = t.log.lines.filter((l) => l.msg.startsWith('cannot backfill this room'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.why).toMatch(/no message ids or times/);
    },
  );
});

describe('kosmi faults: the subscription ended, broken and oversized frames', () => {
  it.each(['complete', 'error'] as const)(
    'a newMessage subscription ended with %s is subscribed again at once, and the gap backfilled',
    async (how) => {
      const t = await setup();
      const adapter = await t.make();
      t.emulator.postAs(ROOM, 'alice', 'first');
      await waitFor(() => t.received.length === 1, { what: 'the first live message' });
      t.received.length = 0;
      const states: string[] = [];
      adapter.on('status', (s) => states.push(s.state));
      expect(t.emulator.endMessageSubscriptions(ROOM, how)).toBe(1);
      t.emulator.postAs(ROOM, 'alice', 'in the gap');
      await waitFor(() => t.emulator.listeners(ROOM).length === 1, {
        timeoutMs: 3_000,
        what: 'resubscribed',
      });
      await waitFor(() => t.received.length === 1, { timeoutMs: 5_000, what: 'the gap backfilled' });
      t.emulator.postAs(ROOM, 'alice', 'after');
      await waitFor(() => t.received.length === 2, { what: 'live again' });
      expect(texts(t.received)).toEqual(['in the gap', 'after']);
      expect(states).not.toContain('disconnected');
      expect(t.emulator.connections()).toHaveLength(1);
      const lines = t.log.lines.filter((l) => l.msg.startsWith('Kosmi ended the newMessage subscription'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 40,
        how: how === 'complete' ? 'complete' : expect.stringMatching(/^error/),
      });
    },
  );

  it.each(['null', '[]', '{"type":"bogus"}'])(
    'a frame %s that breaks the protocol: reconnect at once, no login',
    async (frame) => {
      const t = await setup();
      const adapter = await t.make();
      t.emulator.postAs(ROOM, 'alice', 'first');
      await waitFor(() => t.received.length === 1, { what: 'the first live message' });
      t.received.length = 0;
      const logins = t.emulator.logins.anon;
      const inits = t.emulator.inits.length;
      expect(t.emulator.sendRawFrame(frame)).toBe(1);
      t.emulator.postAs(ROOM, 'alice', 'around the break');
      await waitFor(() => t.emulator.inits.length > inits, { timeoutMs: 3_000, what: 'a prompt reconnect' });
      await connected(adapter, t.emulator);
      await waitFor(() => t.received.length === 1, { timeoutMs: 5_000, what: 'the message relayed once' });
      t.emulator.postAs(ROOM, 'alice', 'after');
      await waitFor(() => t.received.length === 2, { what: 'live again' });
      expect(texts(t.received)).toEqual(['around the break', 'after']);
      expect(t.emulator.logins.anon).toBe(logins);
      expect(t.emulator.inits.slice(inits).every((i) => i.accepted)).toBe(true);
      expect(
        t.log.lines.some(
          (l) => l.msg === 'Kosmi broke the protocol; reconnecting at once' && /4004/.test(String(l.reason)),
        ),
      ).toBe(true);
    },
  );

  it('a 2 MB frame closes the socket (logged), is never buffered whole, and the adapter reconnects', async () => {
    const t = await setup();
    const adapter = await t.make();
    const logins = t.emulator.logins.anon;
    const inits = t.emulator.inits.length;
    const big = JSON.stringify({
      id: 'x',
      type: 'next',
      payload: {
        data: { newMessage: { id: 'big', body: 'x'.repeat(2 * 1024 * 1024), time: 1, user: { id: 'u' } } },
      },
    });
    expect(t.emulator.sendRawFrame(big)).toBe(1);
    await waitFor(() => t.emulator.inits.length > inits, { timeoutMs: 3_000, what: 'a prompt reconnect' });
    await connected(adapter, t.emulator);
    expect(
      t.log.lines.some((l) => l.msg === 'Kosmi sent a frame bigger than the limit; closing the socket'),
    ).toBe(true);
    expect(t.emulator.logins.anon).toBe(logins);
    t.emulator.postAs(ROOM, 'alice', 'after');
    await waitFor(() => t.received.length === 1, { what: 'live again' });
    expect(texts(t.received)).toEqual(['after']);
  });
});

describe('kosmi send_operation (§4.6)', () => {
  const sentOps = (emulator: KosmiEmulator): string[] =>
    emulator.connections().flatMap((c) => c.operations.filter((o) => o.startsWith('SendMessage')));

  it('auto sends SendMessage2; when Kosmi refuses it at validation, v1 for the rest of the connection', async () => {
    const ok = await setup();
    const a = await ok.make();
    await sendText(a, ROOM, 'v2', FROM_IRC);
    expect(sentOps(ok.emulator)).toEqual(['SendMessage2']);
    expect(ok.emulator.messages(ROOM).map((m) => m.body)).toEqual(['[irc] <bob> v2']);

    const t = await setup();
    t.emulator.rejectSendMessage2(true);
    const adapter = await t.make();
    await sendText(adapter, ROOM, 'one', FROM_IRC);
    await sendText(adapter, ROOM, 'two', FROM_IRC);
    await sendText(adapter, ROOM, 'three', FROM_IRC);
    expect(sentOps(t.emulator)).toEqual(['SendMessage2', 'SendMessage', 'SendMessage', 'SendMessage']);
    expect(t.emulator.messages(ROOM).map((m) => m.body)).toEqual(
      ['one', 'two', 'three'].map((x) => `[irc] <bob> ${x}`),
    );
    expect(t.log.lines.filter((l) => l.msg.startsWith('Kosmi refused SendMessage2'))).toHaveLength(1);
  });

  it('v1 sends only SendMessage; v2 never falls back (a refusal is a permanent delivery error)', async () => {
    const v1 = await setup();
    const a = await v1.make({ send_operation: 'v1' });
    await sendText(a, ROOM, 'v1 only', FROM_IRC);
    expect(sentOps(v1.emulator)).toEqual(['SendMessage']);

    const v2 = await setup();
    v2.emulator.rejectSendMessage2(true);
    const b = await v2.make({ send_operation: 'v2' });
    await expect(sendText(b, ROOM, 'refused', FROM_IRC)).rejects.toThrow(/SendMessage2/);
    expect(sentOps(v2.emulator)).toEqual(['SendMessage2']);
    expect(v2.emulator.messages(ROOM)).toHaveLength(0);
  });
});
