/**
 * The configured rooms of one account (issue 4 §3): joins them (alias or id) at start and after
 * every re-login, retries joins that failed, accepts invites only to configured rooms, tracks
 * member display names and which rooms are encrypted.
 */
import type { Logger } from 'pino';
import { Backoff } from '../../core/backoff.js';
import type { MatrixApi } from './client.js';
import { classifyMatrixError } from './errors.js';
import { MatrixAuthFailure } from './session-manager.js';
import { errorMessage } from '../../core/errors.js';
import { isObject, type Json } from './json.js';

/** A join refused by the server (not invited, banned, unknown alias) is tried again this late. */
export const JOIN_RETRY_REFUSED_MS = 5 * 60_000;
const JOIN_BACKOFF = { initialMs: 1_000, maxMs: 60_000, stableAfterMs: 60_000 };

export interface RoomsOptions {
  readonly accountId: string;
  readonly channels: readonly string[];
  readonly api: MatrixApi;
  readonly log: Logger;
  readonly encryption: boolean;
  /** Called when a configured room is joined (the adapter may report `connected`). */
  readonly onJoined?: (channel: string, roomId: string) => void;
}

const enc = encodeURIComponent;

export class Rooms {
  private readonly roomOf = new Map<string, string>();
  private readonly joined = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly encrypted = new Set<string>();
  private readonly warnedEncrypted = new Set<string>();
  private readonly names = new Map<string, Map<string, string | null>>();
  /** What the server says we are joined to (GET /joined_rooms), kept up to date by joins and leaves. */
  private readonly serverJoined = new Set<string>();
  /** Rooms this run joined anew: local time the join began; older events there are history. */
  private readonly joinedAt = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: RoomsOptions) {}

  /** The joined room id for a configured channel, if joined. */
  roomFor(channel: string): string | undefined {
    const roomId = this.roomOf.get(channel) ?? (channel.startsWith('!') ? channel : undefined);
    return roomId !== undefined && this.joined.has(roomId) ? roomId : undefined;
  }

  /** The configured channels (alias and/or id) that name this room. */
  channelsOf(roomId: string): string[] {
    return this.options.channels.filter(
      (channel) => channel === roomId || this.roomOf.get(channel) === roomId,
    );
  }

  isEncrypted(roomId: string): boolean {
    return this.encrypted.has(roomId);
  }

  /**
   * Joins every configured room (again, after a re-login: joining a joined room is a no-op, and the
   * rooms stay usable meanwhile); failures are logged and retried on their own timers.
   */
  async joinAll(): Promise<void> {
    try {
      const answer = (await this.options.api.request({
        method: 'GET',
        path: '/_matrix/client/v3/joined_rooms',
      })) as Json;
      if (Array.isArray(answer.joined_rooms))
        for (const id of answer.joined_rooms) if (typeof id === 'string') this.serverJoined.add(id);
    } catch (error) {
      if (error instanceof MatrixAuthFailure) return;
      // Unknown: rooms then count as joined before, and their recent events as new (never dropped).
      this.options.log.debug({ reason: errorMessage(error) }, 'could not list joined rooms');
    }
    await Promise.all(this.options.channels.map((channel) => this.join(channel)));
  }

  /**
   * For a room this run joined anew: the local time the join began. A newly joined room's first
   * sync brings its recent history, which is not relayed (it was said before the relay was there).
   */
  joinStartedAt(roomId: string): number | undefined {
    return this.joinedAt.get(roomId);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async join(channel: string): Promise<void> {
    clearTimeout(this.timers.get(channel));
    this.timers.delete(channel);
    if (this.stopped) return;
    const { api, log } = this.options;
    const startedAt = Date.now();
    try {
      let roomId = channel;
      let via: string[] = [];
      if (channel.startsWith('#')) {
        const found = (await api.request({
          method: 'GET',
          path: `/_matrix/client/v3/directory/room/${enc(channel)}`,
        })) as Json;
        if (typeof found.room_id !== 'string')
          throw new Error(`directory answered no room_id for ${channel}`);
        roomId = found.room_id;
        via = Array.isArray(found.servers)
          ? found.servers.filter((s): s is string => typeof s === 'string').slice(0, 3)
          : [];
        this.roomOf.set(channel, roomId);
      }
      await api.request({
        method: 'POST',
        path: `/_matrix/client/v3/join/${enc(roomId)}`,
        query: { server_name: via },
        body: {},
      });
      this.joined.add(roomId);
      if (!this.serverJoined.has(roomId)) this.joinedAt.set(roomId, startedAt);
      this.serverJoined.add(roomId);
      this.backoffs.delete(channel);
      log.info({ channel, roomId }, 'joined');
      await this.checkEncryption(roomId);
      this.options.onJoined?.(channel, roomId);
    } catch (error) {
      if (error instanceof MatrixAuthFailure || this.stopped) return; // the adapter reports the account failure
      const verdict = classifyMatrixError(error);
      if (verdict.kind === 'aborted') return;
      let delayMs: number;
      if (verdict.kind === 'forbidden' || verdict.kind === 'fatal') {
        const roomId = this.roomOf.get(channel) ?? channel;
        this.joined.delete(roomId);
        delayMs = JOIN_RETRY_REFUSED_MS;
        log.error(
          { channel, reason: errorMessage(error), delayMs },
          'cannot join Matrix room: invite the relay account or fix the channel in the gateway',
        );
      } else {
        const backoff = this.backoffs.get(channel) ?? new Backoff(JOIN_BACKOFF);
        this.backoffs.set(channel, backoff);
        delayMs = verdict.kind === 'rate-limited' ? verdict.retryAfterMs : backoff.next();
        log.warn({ channel, reason: errorMessage(error), delayMs }, 'joining Matrix room failed, retrying');
      }
      this.timers.set(
        channel,
        setTimeout(() => void this.join(channel), delayMs),
      );
    }
  }

  private async checkEncryption(roomId: string): Promise<void> {
    try {
      await this.options.api.request({
        method: 'GET',
        path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.encryption/`,
      });
      this.markEncrypted(roomId);
    } catch (error) {
      const verdict = classifyMatrixError(error);
      if (verdict.kind === 'fatal') return; // M_NOT_FOUND: not encrypted
      this.options.log.debug({ roomId, reason: errorMessage(error) }, 'could not check room encryption');
    }
  }

  /** An invite: joins when the room is one of ours (by id, resolved alias or its canonical alias). */
  onInvite(roomId: string, inviteState: readonly unknown[]): void {
    const aliases = new Set<string>();
    for (const event of inviteState) {
      if (!isObject(event) || event.type !== 'm.room.canonical_alias' || !isObject(event.content)) continue;
      if (typeof event.content.alias === 'string') aliases.add(event.content.alias);
      if (Array.isArray(event.content.alt_aliases))
        for (const a of event.content.alt_aliases) if (typeof a === 'string') aliases.add(a);
    }
    const channel = this.options.channels.find(
      (c) => c === roomId || this.roomOf.get(c) === roomId || aliases.has(c),
    );
    if (channel === undefined) {
      this.options.log.info({ roomId }, 'ignoring invite to a room that is in no gateway');
      return;
    }
    if (!channel.startsWith('!')) this.roomOf.set(channel, roomId);
    this.options.log.info({ channel, roomId }, 'invited to a configured room, joining');
    void this.join(channel);
  }

  /** We left or were removed from a room: configured rooms are joined again later. */
  onLeave(roomId: string, membership: string): void {
    this.serverJoined.delete(roomId);
    if (!this.joined.delete(roomId)) return;
    for (const channel of this.channelsOf(roomId)) {
      this.options.log.warn({ channel, membership }, 'removed from Matrix room, will try to join again');
      this.timers.set(
        channel,
        setTimeout(
          () => void this.join(channel),
          membership === 'ban' ? JOIN_RETRY_REFUSED_MS : JOIN_BACKOFF.initialMs * 5,
        ),
      );
    }
  }

  /** Learns from a state or timeline event: display names, encryption. */
  observe(roomId: string, event: unknown): void {
    if (!isObject(event) || typeof event.type !== 'string') return;
    if (event.type === 'm.room.member' && typeof event.state_key === 'string' && isObject(event.content)) {
      const name =
        typeof event.content.displayname === 'string' && event.content.displayname.trim() !== ''
          ? event.content.displayname
          : null;
      this.namesOf(roomId).set(event.state_key, name);
    } else if (event.type === 'm.room.encryption' || event.type === 'm.room.encrypted') {
      this.markEncrypted(roomId);
    }
  }

  private markEncrypted(roomId: string): void {
    this.encrypted.add(roomId);
    // The account may sit in other rooms too; only the gateways' rooms concern the relay.
    if (this.options.encryption || this.warnedEncrypted.has(roomId) || this.channelsOf(roomId).length === 0)
      return;
    this.warnedEncrypted.add(roomId);
    // matterbridge fails silently here (its issue #170): say it once, clearly.
    this.options.log.warn(
      { roomId, channels: this.channelsOf(roomId) },
      `Matrix room ${roomId} is end-to-end encrypted but [${this.options.accountId}] has encryption = false: ` +
        'messages sent there cannot be read or relayed, and relayed messages go in unencrypted. ' +
        'Set encryption = true (see docs/matrix.md) or turn encryption off for the room',
    );
  }

  /** The sender's display name in the room, falling back to the localpart of the user id. */
  async displayName(roomId: string, userId: string): Promise<string> {
    const names = this.namesOf(roomId);
    let name = names.get(userId);
    if (name === undefined) {
      try {
        const member = (await this.options.api.request({
          method: 'GET',
          path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`,
        })) as Json;
        name =
          typeof member.displayname === 'string' && member.displayname.trim() !== ''
            ? member.displayname
            : null;
      } catch (error) {
        if (error instanceof MatrixAuthFailure) throw error;
        // M_NOT_FOUND: no member event (never cached as a failure when it was only the network).
        if (classifyMatrixError(error).kind !== 'fatal') return localpart(userId);
        name = null;
      }
      names.set(userId, name);
    }
    return name ?? localpart(userId);
  }

  private namesOf(roomId: string): Map<string, string | null> {
    let names = this.names.get(roomId);
    if (names === undefined) {
      names = new Map();
      this.names.set(roomId, names);
    }
    return names;
  }
}

export function localpart(userId: string): string {
  const match = /^@([^:]+):/.exec(userId);
  return match?.[1] ?? userId;
}
