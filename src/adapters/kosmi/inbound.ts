import type { Logger } from 'pino';
import type { AccountCursors } from '../types.js';
import { describeIssues, chatArchiveData, messageTime, type ArchivePage, type WireMessage } from './wire.js';

/** Kept in the store (AdapterDeps.cursors): when the account first ever started, in epoch ms. */
export const FIRST_START_KEY = 'first_started_at';
/**
 * `last_message:<roomId>` = JSON `{ id, time }` of the last message handled in that room: relayed,
 * or the relay's own (never relayed back, §10).
 */
export const lastMessageKey = (roomId: string): string => `last_message:${roomId}`;

/** Ids seen recently (live or backfilled), so one message is emitted once in this process. */
const RECENT_IDS = 2_000;
/** A backfill reads at most this many archive pages back (50 messages each on the emulator). */
const MAX_ARCHIVE_PAGES = 20;

export interface LastRelayed {
  readonly id: string;
  /** Epoch ms. */
  readonly time: number;
}

/** One page of RoomChatQuery (§4.7) as a GraphQL result, or a thrown error. */
export type FetchArchivePage = (cursor: string | null) => Promise<unknown>;

export interface KosmiInboundOptions {
  readonly cursors: AccountCursors;
  readonly log: Logger;
  readonly maxAgeMs: number;
  /** Maps and hands one message to the core; `backfilled` for the log only. */
  readonly emit: (roomId: string, message: WireMessage & { id: string }, backfilled: boolean) => void;
  readonly now?: () => number;
}

/**
 * Everything that comes in from Kosmi passes here: one message is emitted once (by its Kosmi id),
 * in order per room, and the position of the last one relayed is kept in the store. After each
 * (re)connect `backfill()` reads the room's chat archive (RoomChatQuery, docs/kosmi-protocol.md
 * §4.7) back to that position and emits what was missed; live messages that arrive meanwhile wait
 * behind it, so the order holds.
 */
export class KosmiInbound {
  readonly firstStartedAt: number;
  private readonly recent = new Set<string>();
  /** Rooms being backfilled: live messages wait here. */
  private readonly held = new Map<string, WireMessage[]>();
  /** One backfill at a time per room; a later one runs after the one in progress. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Backfills started and not finished, per room. */
  private readonly pending = new Map<string, number>();
  /** Rooms whose archive cannot be used: said once in the log. */
  private readonly unusable = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: KosmiInboundOptions) {
    this.now = options.now ?? Date.now;
    const kept = Number(options.cursors.get(FIRST_START_KEY));
    if (Number.isFinite(kept) && kept > 0) this.firstStartedAt = kept;
    else {
      this.firstStartedAt = this.now();
      options.cursors.set(FIRST_START_KEY, String(this.firstStartedAt));
    }
  }

  /** A newMessage event. `selfId`: the relay's own user on that connection (§10: never relayed). */
  live(roomId: string, message: WireMessage, selfId: string | undefined): void {
    const held = this.held.get(roomId);
    if (held !== undefined) {
      held.push(message);
      return;
    }
    this.accept(roomId, message, selfId, false);
  }

  /** Reads the archive back to the last message relayed and emits what is missing, in order. */
  backfill(roomId: string, selfId: string | undefined, fetchPage: FetchArchivePage): Promise<void> {
    // Live messages wait from now on, until no backfill of the room is left (one may follow another).
    if (!this.held.has(roomId)) this.held.set(roomId, []);
    this.pending.set(roomId, (this.pending.get(roomId) ?? 0) + 1);
    const previous = this.chains.get(roomId) ?? Promise.resolve();
    const next = previous.then(() => this.backfillNow(roomId, selfId, fetchPage));
    this.chains.set(roomId, next);
    void next.finally(() => {
      if (this.chains.get(roomId) === next) this.chains.delete(roomId);
    });
    return next;
  }

  lastRelayed(roomId: string): LastRelayed | undefined {
    const raw = this.options.cursors.get(lastMessageKey(roomId));
    if (raw === undefined) return undefined;
    try {
      const value = JSON.parse(raw) as Partial<LastRelayed>;
      if (typeof value.id === 'string' && typeof value.time === 'number')
        return { id: value.id, time: value.time };
    } catch {
      // A cursor that does not parse is treated as absent: the age bound still limits the backfill.
    }
    return undefined;
  }

  private async backfillNow(
    roomId: string,
    selfId: string | undefined,
    fetchPage: FetchArchivePage,
  ): Promise<void> {
    try {
      const missed = await this.missed(roomId, selfId, fetchPage);
      const count = missed.filter((m) => m.user.id !== selfId).length;
      if (count > 0) this.options.log.info({ roomId, count }, 'relaying messages missed while away');
      for (const message of missed) this.accept(roomId, message, selfId, true);
    } catch (error) {
      this.options.log.warn(
        { roomId, err: error },
        'backfill failed; messages posted while away may be missing',
      );
    } finally {
      const left = (this.pending.get(roomId) ?? 1) - 1;
      if (left > 0) this.pending.set(roomId, left);
      else {
        this.pending.delete(roomId);
        const held = this.held.get(roomId) ?? [];
        this.held.delete(roomId);
        for (const message of held) this.accept(roomId, message, selfId, false);
      }
    }
  }

  private async missed(
    roomId: string,
    selfId: string | undefined,
    fetchPage: FetchArchivePage,
  ): Promise<(WireMessage & { id: string })[]> {
    const last = this.lastRelayed(roomId);
    // Never older than backlog_max_age_seconds. Without a position, never older than the
    // account's very first start either (Kosmi times are whole seconds, §4.5: a message in the
    // same second as the first start counts as before it). With one, nothing older than it: what
    // follows it is newer than the first start anyway.
    const ageFloor = this.now() - this.options.maxAgeMs;
    const floor =
      last === undefined ? Math.max(this.firstStartedAt, ageFloor) : Math.max(last.time, ageFloor);
    let collected: ArchivePage['results'] = [];
    let cursor: string | null = null;
    let found = false;
    for (let pages = 0; ; pages++) {
      const parsed = chatArchiveData.safeParse(await fetchPage(cursor));
      if (!parsed.success)
        return this.skip(roomId, `unexpected chatArchive shape: ${describeIssues(parsed.error)}`);
      const page = parsed.data.chatArchive;
      if (
        page.results.some(
          (m) => m.id === null || m.id === undefined || m.time === null || m.time === undefined,
        )
      )
        return this.skip(roomId, 'the chat archive gives no message ids or times');
      collected = [...page.results, ...collected];
      const oldest = page.results[0];
      found = last !== undefined && page.results.some((m) => String(m.id) === last.id);
      if (found || oldest === undefined || page.backCursor === null || page.backCursor === undefined) break;
      const oldestTime = messageTime(oldest.time).getTime();
      if (oldestTime < floor) break;
      if (pages + 1 >= MAX_ARCHIVE_PAGES) {
        this.options.log.warn({ roomId, pages: MAX_ARCHIVE_PAGES }, 'backfill stopped at its page limit');
        break;
      }
      cursor = page.backCursor;
    }
    const start = found && last !== undefined ? collected.findIndex((m) => String(m.id) === last.id) + 1 : 0;
    const seen = new Set<string>();
    const out: (WireMessage & { id: string })[] = [];
    for (const message of collected.slice(start)) {
      const id = String(message.id);
      const time = messageTime(message.time).getTime();
      // The relay's own messages go on to accept(), which never emits them but moves the position.
      if (seen.has(id) || this.recent.has(id)) continue;
      seen.add(id);
      if (time < (found ? ageFloor : floor)) continue;
      // Same-second messages before the position come again here: the core drops those it
      // relayed (store.hasSource by network id).
      if (!found && id === last?.id) continue;
      out.push({ ...message, id });
    }
    return out;
  }

  private skip(roomId: string, why: string): [] {
    if (!this.unusable.has(roomId)) {
      this.unusable.add(roomId);
      this.options.log.warn(
        { roomId, why },
        'cannot backfill this room from the chat archive; relaying live messages only',
      );
    }
    return [];
  }

  private accept(
    roomId: string,
    message: WireMessage,
    selfId: string | undefined,
    backfilled: boolean,
  ): void {
    const id = message.id === undefined || message.id === null ? undefined : String(message.id);
    if (id !== undefined) {
      if (this.recent.has(id)) return;
      this.recent.add(id);
      if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value as string);
    }
    if (id === undefined) {
      // Without an id nothing can be deduplicated nor remembered: relayed live, never backfilled.
      if (selfId === undefined || message.user.id !== selfId)
        this.options.emit(roomId, { ...message, id: '' }, backfilled);
      return;
    }
    // §10: the relay's own messages are never relayed back. The position still moves past them:
    // everything before one was handled already (one room's messages are handled in order).
    if (selfId === undefined || message.user.id !== selfId)
      this.options.emit(roomId, { ...message, id }, backfilled);
    const time = messageTime(message.time, new Date(this.now())).getTime();
    this.options.cursors.set(lastMessageKey(roomId), JSON.stringify({ id, time }));
  }
}
