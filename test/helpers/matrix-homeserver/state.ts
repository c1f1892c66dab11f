/**
 * The homeserver emulator's data: users, devices, access and refresh tokens, rooms with their
 * state and timelines, one global stream ordering for /sync. Shapes follow the Client-Server API
 * (event format, membership, stripped state); nothing here knows about our client.
 */
import { randomBytes } from 'node:crypto';

export interface StoredEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
  state_key?: string;
  origin_server_ts: number;
  redacts?: string;
  /** Stream position (orders /sync). */
  pos: number;
  /** Who sent it with which transaction id (spec: echoed back as unsigned.transaction_id to that device). */
  txn?: { deviceId: string; txnId: string };
  redactedBecause?: StoredEvent;
}

export interface Device {
  deviceId: string;
  displayName: string | undefined;
}

export interface User {
  userId: string;
  localpart: string;
  password: string;
  displayName: string | undefined;
  devices: Map<string, Device>;
  filters: Map<string, unknown>;
  accountData: Map<string, unknown>;
}

export interface AccessToken {
  token: string;
  userId: string;
  deviceId: string;
  expiresAt: number | undefined;
  /** undefined while valid; set when invalidated (soft_logout says whether the device remains). */
  invalid: { softLogout: boolean } | undefined;
  /** Tokens this one replaced through /refresh: invalidated when this one is first used (spec). */
  replaces: { access: AccessToken; refresh: RefreshToken } | undefined;
}

export interface RefreshToken {
  token: string;
  userId: string;
  deviceId: string;
  used: boolean;
  revoked: boolean;
}

export type Membership = 'join' | 'invite' | 'leave' | 'ban';

export interface Room {
  roomId: string;
  aliases: Set<string>;
  events: StoredEvent[];
  /** Current state by `${type}\u0000${state_key}`. */
  state: Map<string, StoredEvent>;
}

export const stateKey = (type: string, key: string): string => `${type}\u0000${key}`;

export class HomeserverState {
  readonly users = new Map<string, User>();
  readonly accessTokens = new Map<string, AccessToken>();
  readonly refreshTokens = new Map<string, RefreshToken>();
  readonly rooms = new Map<string, Room>();
  readonly aliases = new Map<string, string>();
  /** `${userId}|${deviceId}|${txnId}` -> event id (idempotent sends, spec §"Transaction identifiers"). */
  readonly transactions = new Map<string, string>();
  pos = 0;
  /**
   * soft_logout of the 401 for an expired access token: true as Synapse answers (spec §"Soft
   * logout"); false behind MAS, where Synapse answers "Token is not active" without it.
   */
  expiredTokenSoftLogout = true;
  /** Called for every new event (the bench timestamps arrivals here). */
  readonly onAppend: ((event: StoredEvent) => void)[] = [];
  private readonly waiters = new Set<() => void>();
  private counter = 0;

  constructor(readonly serverName: string) {}

  id(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter.toString(36)}${randomBytes(6).toString('hex')}`;
  }

  userIdFor(user: string): string {
    return user.startsWith('@') ? user : `@${user}:${this.serverName}`;
  }

  registerUser(localpart: string, password: string, displayName?: string): User {
    const userId = this.userIdFor(localpart);
    const user: User = {
      userId,
      localpart: userId.slice(1, userId.indexOf(':')),
      password,
      displayName,
      devices: new Map(),
      filters: new Map(),
      accountData: new Map(),
    };
    this.users.set(userId, user);
    return user;
  }

  issueAccessToken(userId: string, deviceId: string, lifetimeMs: number | undefined): AccessToken {
    const token: AccessToken = {
      token: `syt_${this.id('')}${randomBytes(12).toString('hex')}`,
      userId,
      deviceId,
      expiresAt: lifetimeMs === undefined ? undefined : Date.now() + lifetimeMs,
      invalid: undefined,
      replaces: undefined,
    };
    this.accessTokens.set(token.token, token);
    return token;
  }

  issueRefreshToken(userId: string, deviceId: string): RefreshToken {
    const token: RefreshToken = {
      token: `syr_${randomBytes(16).toString('hex')}`,
      userId,
      deviceId,
      used: false,
      revoked: false,
    };
    this.refreshTokens.set(token.token, token);
    return token;
  }

  /** m.room.create's room_version ("1" when absent, spec §"m.room.create"). */
  roomVersion(room: Room): string {
    const version = room.state.get(stateKey('m.room.create', ''))?.content.room_version;
    return typeof version === 'string' ? version : '1';
  }

  /** The user's power level in the room and the level an action needs (spec §"m.room.power_levels"). */
  powerLevel(room: Room, userId: string, action: 'redact'): { user: number; needed: number } {
    const levels = room.state.get(stateKey('m.room.power_levels', ''))?.content ?? {};
    const users =
      typeof levels.users === 'object' && levels.users !== null
        ? (levels.users as Record<string, unknown>)
        : {};
    const own = users[userId];
    const fallback = typeof levels.users_default === 'number' ? levels.users_default : 0;
    const needed = levels[action];
    return {
      user: typeof own === 'number' ? own : fallback,
      needed: typeof needed === 'number' ? needed : 50,
    };
  }

  resolveRoom(idOrAlias: string): Room | undefined {
    const roomId = idOrAlias.startsWith('#') ? this.aliases.get(idOrAlias) : idOrAlias;
    return roomId === undefined ? undefined : this.rooms.get(roomId);
  }

  membership(room: Room, userId: string): { membership: Membership; pos: number } | undefined {
    const event = room.state.get(stateKey('m.room.member', userId));
    if (event === undefined) return undefined;
    return { membership: event.content.membership as Membership, pos: event.pos };
  }

  joinRule(room: Room): string {
    const rule = room.state.get(stateKey('m.room.join_rules', ''))?.content.join_rule;
    return typeof rule === 'string' ? rule : 'invite';
  }

  /** Appends an event to a room (and its state when state_key is set) and wakes /sync waiters. */
  append(
    room: Room,
    event: Omit<StoredEvent, 'event_id' | 'room_id' | 'pos' | 'origin_server_ts'>,
  ): StoredEvent {
    this.pos += 1;
    const stored: StoredEvent = {
      ...event,
      event_id: `$${this.id('ev')}`,
      room_id: room.roomId,
      origin_server_ts: Date.now(),
      pos: this.pos,
    };
    room.events.push(stored);
    if (stored.state_key !== undefined) room.state.set(stateKey(stored.type, stored.state_key), stored);
    // The redacted event: top-level `redacts` before room version 11, `content.redacts` from 11 on.
    const redacts = stored.redacts ?? stored.content.redacts;
    if (stored.type === 'm.room.redaction' && typeof redacts === 'string') {
      const target = room.events.find((e) => e.event_id === redacts);
      if (target !== undefined) {
        target.content = {};
        target.redactedBecause = stored;
      }
    }
    for (const listener of this.onAppend) listener(stored);
    this.wake();
    return stored;
  }

  /** Resolves on the next append (or after timeoutMs); the /sync long-poll. */
  waitForEvents(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
