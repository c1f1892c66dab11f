import { describe, expect, it } from 'vitest';
import { KosmiInbound, lastMessageKey } from '../../src/adapters/kosmi/inbound.js';
import type { WireMessage } from '../../src/adapters/kosmi/wire.js';
import { memoryCursors } from '../helpers/memory-cursors.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const ROOM = '@unit';
const SELF = 'relay-user';
const T0 = 1_800_000_000_000; // epoch ms, a whole second

interface Msg {
  id: string;
  body: string;
  time: number;
  user: { id: string };
}
const msg = (n: number, atMs: number, user = 'alice'): Msg => ({
  id: `m${n}`,
  body: `b${n}`,
  time: Math.floor(atMs / 1000),
  user: { id: user },
});

/** A chatArchive of `all` (oldest first) in pages of `size`, cursors "before:N" (§4.7). */
function archive(
  all: readonly Msg[],
  size: number,
): { fetch: (c: string | null) => Promise<unknown>; pages: number } {
  const state = { pages: 0 };
  return {
    get pages() {
      return state.pages;
    },
    fetch: (cursor) => {
      state.pages += 1;
      const end = cursor === null ? all.length : Number(cursor.slice('before:'.length));
      const start = Math.max(0, end - size);
      return Promise.resolve({
        chatArchive: {
          backCursor: start > 0 ? `before:${start}` : null,
          forwardCursor: null,
          results: all.slice(start, end),
        },
      });
    },
  };
}

function harness(options: { now: number; cursors?: Record<string, string>; maxAgeMs?: number }) {
  const cursors = memoryCursors(options.cursors);
  const emitted: { body: string; backfilled: boolean }[] = [];
  let now = options.now;
  const inbound = new KosmiInbound({
    cursors,
    log: memoryLogger().logger,
    maxAgeMs: options.maxAgeMs ?? 900_000,
    emit: (_room, message: WireMessage, backfilled) => emitted.push({ body: message.body, backfilled }),
    now: () => now,
  });
  return { inbound, cursors, emitted, setNow: (ms: number) => (now = ms) };
}

describe('KosmiInbound (the backfill, docs/kosmi-protocol.md §4.7)', () => {
  it('the very first start keeps first_started_at; nothing older than it is relayed', async () => {
    const h = harness({ now: T0 + 500 });
    expect(h.cursors.get('first_started_at')).toBe(String(T0 + 500));
    const all = [msg(1, T0 - 5_000), msg(2, T0 + 100), msg(3, T0 + 2_000)];
    await h.inbound.backfill(ROOM, SELF, archive(all, 50).fetch);
    // m2 is in the same (whole) second as the start: it counts as before it.
    expect(h.emitted.map((e) => e.body)).toEqual(['b3']);
    expect(JSON.parse(h.cursors.get(lastMessageKey(ROOM)) ?? '')).toEqual({ id: 'm3', time: T0 + 2_000 });
  });

  it('pages back to the position and relays what follows in order, skipping its own but moving past them', async () => {
    const h = harness({ now: T0 + 60_000, cursors: { first_started_at: String(T0 - 60_000) } });
    h.cursors.set(lastMessageKey(ROOM), JSON.stringify({ id: 'm2', time: T0 }));
    const all = [
      msg(1, T0),
      msg(2, T0),
      ...Array.from({ length: 10 }, (_, i) => msg(i + 3, T0, i === 9 ? SELF : 'alice')),
    ];
    const a = archive(all, 3);
    await h.inbound.backfill(ROOM, SELF, a.fetch);
    expect(h.emitted.map((e) => e.body)).toEqual(['b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9', 'b10', 'b11']);
    expect(h.emitted.every((e) => e.backfilled)).toBe(true);
    expect(a.pages).toBe(4);
    expect(JSON.parse(h.cursors.get(lastMessageKey(ROOM)) ?? '').id).toBe('m12');
    // Again: nothing new, nothing twice.
    await h.inbound.backfill(ROOM, SELF, archive(all, 3).fetch);
    expect(h.emitted).toHaveLength(9);
  });

  it('respects backlog_max_age_seconds, and a position no longer in the archive falls back to its time', async () => {
    const h = harness({ now: T0 + 1_000_000, cursors: { first_started_at: String(T0 - 10_000_000) } });
    h.cursors.set(lastMessageKey(ROOM), JSON.stringify({ id: 'gone', time: T0 }));
    const all = [msg(1, T0 - 1_000), msg(2, T0 + 50_000), msg(3, T0 + 500_000)];
    await h.inbound.backfill(ROOM, SELF, archive(all, 50).fetch);
    // m1 is older than the position; m2 older than 900 s.
    expect(h.emitted.map((e) => e.body)).toEqual(['b3']);
  });

  it('live messages that arrive during a backfill wait behind it; one seen both ways is emitted once', async () => {
    const h = harness({ now: T0 + 60_000, cursors: { first_started_at: String(T0 - 60_000) } });
    h.cursors.set(lastMessageKey(ROOM), JSON.stringify({ id: 'm1', time: T0 }));
    const all = [msg(1, T0), msg(2, T0 + 1_000), msg(3, T0 + 2_000)];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = h.inbound.backfill(ROOM, SELF, async (cursor) => {
      await gate;
      return archive(all, 50).fetch(cursor);
    });
    h.inbound.live(ROOM, msg(3, T0 + 2_000), SELF);
    h.inbound.live(ROOM, msg(4, T0 + 3_000), SELF);
    expect(h.emitted).toEqual([]);
    release();
    await running;
    expect(h.emitted).toEqual([
      { body: 'b2', backfilled: true },
      { body: 'b3', backfilled: true },
      { body: 'b4', backfilled: false },
    ]);
  });

  it('an archive without ids is skipped with one warning per room', async () => {
    const log = memoryLogger();
    const inbound = new KosmiInbound({
      cursors: memoryCursors({ first_started_at: String(T0 - 60_000) }),
      log: log.logger,
      maxAgeMs: 900_000,
      emit: () => undefined,
      now: () => T0,
    });
    const noIds = () =>
      Promise.resolve({ chatArchive: { results: [{ id: null, body: 'x', time: 1, user: { id: 'a' } }] } });
    await inbound.backfill(ROOM, SELF, noIds);
    await inbound.backfill(ROOM, SELF, noIds);
    await inbound.backfill(ROOM, SELF, () =>
      Promise.reject(new Error('RoomChatQuery: Cannot query field "time"')),
    );
    expect(log.lines.filter((l) => l.msg.startsWith('cannot backfill this room'))).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg.startsWith('backfill failed'))).toHaveLength(1);
  });
});
