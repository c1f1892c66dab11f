import http from 'node:http';
import type { Socket } from 'node:net';
import { graphql } from './graphql.js';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { archivePage, type ArchiveFields } from './archive.js';
import { EventChannel } from './channel.js';
import { handleHttp, type HttpContext } from './http.js';
import { kosmiSchema } from './schema.js';
import { EmulatorState, roomNotFound, type Connection, type EmulatedUser } from './state.js';
import { EmulatorTokens } from './tokens.js';

export type { EmulatedMessage, EmulatedUser } from './state.js';
export type { ArchiveFields } from './archive.js';

import {
  DEFAULT_TOKEN_LIFETIME_S,
  type InitRecord,
  type KosmiEmulator,
  type KosmiEmulatorOptions,
} from './types.js';

export {
  DEFAULT_TOKEN_LIFETIME_S,
  type InitRecord,
  type KosmiEmulator,
  type KosmiEmulatorOptions,
} from './types.js';

export async function startKosmiEmulator(options: KosmiEmulatorOptions = {}): Promise<KosmiEmulator> {
  const state = new EmulatorState();
  const tokens = new EmulatorTokens();
  for (const room of options.rooms ?? ['@movienight']) state.rooms.add(room);
  for (const user of options.users ?? [])
    state.addUser({ ...user, username: user.username ?? user.displayName, isAnonymous: false });
  let lifetime = options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_S;
  let showLoginButton = options.showLoginButton ?? true;
  let rejectAll = false;
  let loginDelayMs = options.loginDelayMs ?? 0;
  let anonLoginDelayMs = options.anonLoginDelayMs ?? 0;
  let skewSeconds = options.clockSkewSeconds ?? 0;
  let archiveFields: ArchiveFields = 'full';
  let refuseSendMessage2 = false;
  const archiveQueries = { count: 0 };
  const inits: InitRecord[] = [];
  const initCloses: number[] = [];
  const issue = (sub: string, seconds: number): Promise<string> =>
    tokens.issue(sub, seconds, Math.floor(Date.now() / 1000) + skewSeconds);
  const logins = { anon: 0, email: 0, emailRefused: 0 };
  const jitter = options.replyJitterMs ?? 20;
  const schema = kosmiSchema({ replies: options.messageReplies ?? true });
  const delay = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.random() * jitter));

  const anonLoginResolver = async (): Promise<{ token: string; user: EmulatedUser }> => {
    logins.anon += 1;
    const user = state.addUser({
      displayName: `Anonymous ${Math.floor(Math.random() * 9000 + 1000)}`,
      username: '',
      isAnonymous: true,
    });
    return { token: await issue(user.id, lifetime), user };
  };
  const subscription = (
    kind: 'newMessage' | 'roomDisconnect',
    room: string,
    connection: Connection,
  ): EventChannel<unknown> => {
    const channel: EventChannel<unknown> = new EventChannel(() => connection[kind].delete(channel));
    connection[kind].set(channel, room);
    return channel;
  };
  const roots = {
    query: {
      currentUser: async (_args: unknown, connection: Connection) => {
        await delay();
        return state.users.get(connection.sub ?? '');
      },
      chatArchive: async ({ roomId, cursor }: { roomId: string; cursor?: string | null }) => {
        await delay();
        if (!state.rooms.has(roomId)) throw roomNotFound();
        archiveQueries.count += 1;
        const room = state.messages.filter((m) => m.roomId === roomId);
        return archivePage(room, cursor, options.archivePageSize ?? 50, archiveFields);
      },
    },
    mutation: {
      anonLogin: anonLoginResolver,
      joinRoom: async (
        { id, disconnectOtherConnections }: { id: string; disconnectOtherConnections?: boolean },
        connection: Connection,
      ) => {
        await delay();
        if (!state.rooms.has(id)) throw roomNotFound();
        connection.joined.add(id);
        if (disconnectOtherConnections === true) state.disconnectRoom(id, connection, connection.sub);
        return { ok: true };
      },
      sendMessage: async (
        {
          body,
          roomId,
          replyToMessageId,
        }: { body: string; roomId: string; replyToMessageId?: string | null },
        connection: Connection,
      ) => {
        await delay();
        if (!state.rooms.has(roomId)) throw roomNotFound();
        const user = state.users.get(connection.sub ?? '');
        if (!connection.joined.has(roomId) || user === undefined)
          state.undelivered.push({ roomId, body, sub: connection.sub });
        // §4.6: v2's replyToMessageId comes back to every subscriber as the message's replyTo.
        else state.publish(roomId, user, body, replyToMessageId);
        return { ok: true };
      },
    },
    subscription: {
      newMessage: ({ roomId }: { roomId: string }, connection: Connection) => {
        if (!state.rooms.has(roomId)) throw roomNotFound();
        return subscription('newMessage', roomId, connection);
      },
      roomDisconnect: ({ id }: { id: string }, connection: Connection) => {
        if (!state.rooms.has(id)) throw roomNotFound();
        return subscription('roomDisconnect', id, connection);
      },
    },
  };

  const httpContext: HttpContext = {
    state,
    schema,
    logins,
    page: () => ({ showLoginButton, loginDelayMs, anonLoginDelayMs }),
    issue: (sub) => issue(sub, lifetime),
    anonLogin: anonLoginResolver,
  };
  const server = http.createServer((request, response) => {
    void handleHttp(httpContext, request, response).catch((error: unknown) => {
      response.writeHead(500, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ message: String(error) }] }));
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  const rawSockets = new Map<WebSocket, Socket>();
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const expectedOrigin = `http://127.0.0.1:${port}`;
    if (url.pathname !== '/gql-ws') return refuseUpgrade(socket, 404, 'Not Found');
    if ((options.requireOrigin ?? true) && request.headers.origin !== expectedOrigin)
      return refuseUpgrade(socket, 403, 'Forbidden');
    wss.handleUpgrade(request, socket, head, (ws) => {
      rawSockets.set(ws, socket as Socket);
      ws.once('close', () => rawSockets.delete(ws));
      wss.emit('connection', ws, request);
    });
  });

  let nextConnectionId = 1;
  const byContext = new WeakMap<object, Connection>();
  const connectionOf = (ctx: { extra: { socket: WebSocket } }): Connection => {
    let connection = byContext.get(ctx.extra);
    if (connection === undefined) {
      connection = {
        id: nextConnectionId++,
        socket: ctx.extra.socket,
        raw: rawSockets.get(ctx.extra.socket) as Socket,
        joined: new Set(),
        operations: [],
        newMessage: new Map(),
        roomDisconnect: new Map(),
        messageSubscriptions: new Map(),
      };
      byContext.set(ctx.extra, connection);
      state.connections.add(connection);
      ctx.extra.socket.once('close', () => state.connections.delete(connection as Connection));
    }
    return connection;
  };
  useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
    {
      schema,
      roots,
      context: (ctx) => connectionOf(ctx),
      onConnect: async (ctx) => {
        const connection = connectionOf(ctx);
        const jti = EmulatorTokens.peekJti(ctx.connectionParams?.token);
        const closeCode = initCloses.shift();
        if (closeCode !== undefined) {
          // §9 [I]: what the real server does during init is unknown; any close is possible.
          inits.push({ jti, accepted: false, closeCode });
          ctx.extra.socket.close(closeCode, 'closed during init');
          return false; // graphql-ws's own 4403 goes nowhere: the socket is already closing
        }
        if (rejectAll) {
          inits.push({ jti, accepted: false, closeCode: 4403 });
          return false;
        }
        // §11: connection_init must carry payload.token; ua, v and r are ignored. false -> 4403.
        const verdict = await tokens.verify(ctx.connectionParams?.token);
        inits.push({
          jti,
          accepted: !('refused' in verdict),
          ...('refused' in verdict ? { closeCode: 4403 } : {}),
        });
        if ('refused' in verdict) return false;
        connection.sub = verdict.sub;
        connection.jti = verdict.jti;
        closeAtExpiry(ctx.extra.socket, verdict.exp);
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connectionOf(ctx);
        const field = /\{\s*(\w+)/.exec(payload.query)?.[1] ?? '?';
        connection.operations.push(payload.operationName ?? field);
        if (field === 'newMessage')
          connection.messageSubscriptions.set(id, String(payload.variables?.roomId));
        if (refuseSendMessage2 && payload.operationName === 'SendMessage2')
          // What graphql-js says for an argument the server's schema lacks (an `error` frame).
          return [new graphql.GraphQLError('Unknown argument "channelId" on field "Mutation.sendMessage".')];
        return undefined;
      },
    },
    wss,
  );

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  const live = (): Connection[] => [...state.connections];
  /**
   * A connection outlives its token only until exp: then it is closed with 4403 Forbidden. What the
   * real server does is unknown (docs/kosmi-protocol.md §9, §12.3); §9 [I] suggests 4403 for a bad token,
   * and an expired one is a bad token, so this is the strict choice: a client that keeps a socket on
   * an expired token gets cut off here, as it might be on Kosmi.
   */
  const closeAtExpiry = (socket: WebSocket, exp: number): void => {
    const delayMs = exp * 1000 - Date.now();
    if (delayMs > 2_147_483_647) return; // beyond setTimeout's range (364-day tokens): no test lives that long
    const timer = setTimeout(() => socket.close(4403, 'Forbidden: token expired'), Math.max(0, delayMs));
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  return {
    url,
    webUrl: url,
    apiUrl: `${url}/`,
    wsUrl: `ws://127.0.0.1:${port}/gql-ws`,
    logins,
    inits,
    closeNextInits: (code, count = 1) => {
      for (let i = 0; i < count; i++) initCloses.push(code);
    },
    setLoginDelayMs: (ms) => {
      loginDelayMs = ms;
    },
    setAnonLoginDelayMs: (ms) => {
      anonLoginDelayMs = ms;
    },
    setClockSkew: (seconds) => {
      skewSeconds = seconds;
    },
    state,
    postAs: (roomId, name, body, replyTo) => {
      if (!state.rooms.has(roomId)) throw new Error(`no room ${roomId}`);
      return state.publish(roomId, state.userNamed(name), body, replyTo);
    },
    messages: (roomId, userId) =>
      state.messages.filter((m) => m.roomId === roomId && (userId === undefined || m.user.id === userId)),
    listeners: (roomId) =>
      live().filter(
        (c) => c.sub !== undefined && c.joined.has(roomId) && [...c.newMessage.values()].includes(roomId),
      ),
    connections: live,
    issueToken: (sub, lifetimeSeconds) => issue(sub, lifetimeSeconds ?? lifetime),
    dropAllSockets: () => {
      const sockets = [...wss.clients];
      for (const socket of sockets) socket.terminate();
      return sockets.length;
    },
    freezeSockets: () => {
      for (const raw of rawSockets.values()) raw.pause();
    },
    revokeAllTokens: (revokeOptions) => {
      tokens.revokeAll();
      if (revokeOptions?.closeConnections === true)
        for (const socket of wss.clients) socket.close(4403, 'Forbidden');
    },
    rejectAllTokens: (on) => {
      rejectAll = on;
    },
    setTokenLifetime: (seconds) => {
      lifetime = seconds;
    },
    setShowLoginButton: (show) => {
      showLoginButton = show;
    },
    disconnectRoom: (roomId) => state.disconnectRoom(roomId),
    archiveQueries,
    setArchiveFields: (fields) => {
      archiveFields = fields;
    },
    rejectSendMessage2: (on) => {
      refuseSendMessage2 = on;
    },
    endMessageSubscriptions: (roomId, how) => {
      let ended = 0;
      for (const connection of state.connections) {
        if (how === 'error')
          for (const [id, room] of connection.messageSubscriptions)
            if (room === roomId)
              connection.socket.send(
                JSON.stringify({ id, type: 'error', payload: [{ message: 'Internal server error' }] }),
              );
        for (const [channel, room] of connection.newMessage) {
          if (room !== roomId) continue;
          channel.close(); // graphql-ws's server then sends `complete` (ignored after an `error`)
          ended += 1;
        }
        for (const [id, room] of connection.messageSubscriptions)
          if (room === roomId) connection.messageSubscriptions.delete(id);
      }
      return ended;
    },
    sendRawFrame: (text) => {
      const targets = live().filter((c) => c.sub !== undefined);
      for (const connection of targets) connection.socket.send(text);
      return targets.length;
    },
    injectRaw: (roomId, newMessage) => {
      for (const connection of state.connections) {
        for (const [channel, room] of connection.newMessage)
          if (room === roomId) channel.push({ newMessage });
      }
    },
    close: async () => {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function refuseUpgrade(socket: import('node:stream').Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
