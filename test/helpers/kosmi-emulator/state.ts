import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { GraphQLError } from 'graphql';
import { graphql } from './graphql.js';
import type { WebSocket } from 'ws';
import { EventChannel } from './channel.js';

export interface EmulatedUser {
  readonly id: string;
  readonly displayName: string;
  readonly username: string;
  readonly isAnonymous: boolean;
  readonly email?: string;
  readonly password?: string;
}

export interface EmulatedMessage {
  readonly id: string;
  readonly roomId: string;
  readonly body: string;
  /** UNIX seconds (§4.5). */
  readonly time: number;
  readonly user: EmulatedUser;
  readonly member: { id: string; role: string };
  readonly reactions: never[];
  /** The message it answers (SendMessage2's replyToMessageId, §4.6), or null. */
  readonly replyTo: RepliedMessage | null;
  /** When the emulator stored it: epoch ms with sub-ms precision (for latency measurements). */
  readonly receivedAt: number;
}

/**
 * A reply's link as subscribers see it (§4.5 [relay: I]). The notes do not say what Kosmi does
 * with a replyToMessageId it does not know: the emulator accepts it and stores it as given, with
 * body and user null.
 */
export interface RepliedMessage {
  readonly id: string;
  readonly body: string | null;
  readonly user: EmulatedUser | null;
}

/** One WebSocket connection as the emulator sees it. */
export interface Connection {
  readonly id: number;
  readonly socket: WebSocket;
  readonly raw: Socket;
  sub?: string;
  jti?: string;
  readonly joined: Set<string>;
  /** Operation names (or root fields) in the order the client sent them. */
  readonly operations: string[];
  readonly newMessage: Map<EventChannel<unknown>, string>;
  readonly roomDisconnect: Map<EventChannel<unknown>, string>;
  /** Operation ids of the connection's newMessage subscriptions, with their room. */
  readonly messageSubscriptions: Map<string, string>;
}

export function roomNotFound(): GraphQLError {
  // §9: where the code appears (message or extensions.code) is unknown, so both carry it.
  return new graphql.GraphQLError('ROOM_NOT_FOUND', { extensions: { code: 'ROOM_NOT_FOUND' } });
}

/** Rooms, users, messages and connections of one emulator. */
export class EmulatorState {
  readonly rooms = new Set<string>();
  readonly users = new Map<string, EmulatedUser>();
  readonly messages: EmulatedMessage[] = [];
  /** sendMessage calls from connections that never joined: answered ok:true, shown to nobody (§3.1). */
  readonly undelivered: { roomId: string; body: string; sub: string | undefined }[] = [];
  readonly connections = new Set<Connection>();

  addUser(user: Omit<EmulatedUser, 'id'> & { id?: string }): EmulatedUser {
    const created = { ...user, id: user.id ?? randomUUID() };
    this.users.set(created.id, created);
    return created;
  }

  userNamed(name: string): EmulatedUser {
    for (const user of this.users.values()) if (user.username === name) return user;
    return this.addUser({ displayName: name, username: name, isAnonymous: false });
  }

  /**
   * Stores the message and sends it to every connection that joined the room and subscribed.
   * `replyTo`: the id of the message it answers (any id, see RepliedMessage).
   */
  publish(roomId: string, user: EmulatedUser, body: string, replyTo?: string | null): EmulatedMessage {
    const original =
      replyTo === undefined || replyTo === null ? undefined : this.messages.find((m) => m.id === replyTo);
    const message: EmulatedMessage = {
      id: randomUUID(),
      roomId,
      body,
      time: Math.floor(Date.now() / 1000),
      user,
      member: { id: `member-${user.id}`, role: 'USER' },
      reactions: [],
      replyTo:
        replyTo === undefined || replyTo === null
          ? null
          : { id: replyTo, body: original?.body ?? null, user: original?.user ?? null },
      receivedAt: performance.timeOrigin + performance.now(),
    };
    this.messages.push(message);
    for (const connection of this.connections) {
      if (!connection.joined.has(roomId)) continue;
      for (const [channel, room] of connection.newMessage)
        if (room === roomId) channel.push({ newMessage: message });
    }
    return message;
  }

  disconnectRoom(roomId: string, except?: Connection, sub?: string): void {
    for (const connection of this.connections) {
      if (connection === except || (sub !== undefined && connection.sub !== sub)) continue;
      for (const [channel, room] of connection.roomDisconnect)
        if (room === roomId) channel.push({ roomDisconnect: { ok: true } });
    }
  }
}
