/**
 * A Matrix homeserver emulator for the tests (issue 4 §4), on node:http and a free loopback port.
 * It follows the Client-Server API (v3 paths, spec error bodies, 401 M_UNKNOWN_TOKEN with
 * soft_logout), not our client's habits; unknown endpoints get 404 M_UNRECOGNIZED as the spec says.
 *
 * Test controls: users and rooms, posting as another user (text, emotes, edits, replies, media,
 * stickers, redactions, encrypted events), media uploads and downloads (v1 authenticated, v3 frozen
 * or the only one), reading what was posted, invalidating or expiring tokens,
 * refresh tokens with a lifetime, failing refreshes, 429 with retry_after_ms, 5xx outages,
 * login counters, a request log.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BareHttpError,
  errors,
  MatrixHttpError,
  RawAnswer,
  readBody,
  Routes,
  sendError,
  sendJson,
} from './http.js';
import { addAuthRoutes, logoutDevice, type AuthSettings } from './routes-auth.js';
import { RoomControls } from './room-controls.js';
import { addMediaRoutes, MediaStore } from './routes-media.js';
import { addRoomRoutes } from './routes-rooms.js';
import { addSyncRoutes } from './routes-sync.js';
import { HomeserverState } from './state.js';

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  status: number;
  readonly at: number;
}

interface Fault {
  readonly match: (method: string, path: string) => boolean;
  remaining: number;
  readonly until: number;
  readonly respond: (response: ServerResponse) => void;
}

export interface FaultOptions {
  /** Requests whose path matches (default: every /_matrix/client request except /versions). */
  readonly path?: RegExp;
  readonly method?: string;
  /** How many requests to fail (default: unlimited while `forMs` lasts). */
  readonly times?: number;
  /** How long to fail (default: until `times` are used up). */
  readonly forMs?: number;
}

const CLIENT_PATH = /^\/_matrix\/client\/(?!versions)/;

export class MatrixHomeserver extends RoomControls {
  readonly requests: RequestRecord[] = [];
  readonly auth: AuthSettings = {
    tokenLifetimeMs: undefined,
    failRefreshes: 0,
    refreshV3: 'served',
    mas: false,
    passwordLogin: true,
    counters: {
      loginAttempts: 0,
      loginsOk: 0,
      refreshes: 0,
      refreshCalls: { v1: 0, v3: 0 },
      refreshReuses: 0,
      whoamis: 0,
      loginFlowRequests: 0,
    },
    loginDeviceIds: [],
  };
  /** Called before each request is handled (tests use it to act at an exact moment). */
  readonly beforeRequest: ((method: string, path: string) => void)[] = [];
  /** The content repository: uploads, v1 and v3 downloads, and its server-kind switches. */
  readonly mediaStore: MediaStore;
  private readonly routes = new Routes();
  private readonly faults: Fault[] = [];
  private server: http.Server | undefined;
  private readonly closing = new AbortController();
  private port = 0;

  constructor(serverName = 'localhost') {
    super(new HomeserverState(serverName));
    addAuthRoutes(this.routes, this.state, this.auth);
    addRoomRoutes(this.routes, this.state);
    addSyncRoutes(this.routes, this.state);
    this.mediaStore = new MediaStore(serverName);
    addMediaRoutes(this.routes, this.state, this.mediaStore);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    const server = http.createServer((request, response) => void this.handle(request, response));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.state.wake();
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const record: RequestRecord = { method, path: url.pathname, status: 0, at: Date.now() };
    this.requests.push(record);
    const closed = new AbortController();
    const onClosing = (): void => closed.abort();
    this.closing.signal.addEventListener('abort', onClosing, { once: true });
    response.on('close', () => {
      closed.abort();
      this.closing.signal.removeEventListener('abort', onClosing);
    });
    response.on('finish', () => (record.status = response.statusCode));
    try {
      for (const hook of this.beforeRequest) hook(method, url.pathname);
      const fault = this.takeFault(method, url.pathname);
      if (fault !== undefined) {
        fault.respond(response);
        return;
      }
      const route = this.routes.find(method, url.pathname);
      const { raw, json } = await readBody(request);
      const result = await route.handler({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        body: json,
        raw,
        params: route.params,
        closed: closed.signal,
      });
      if (result instanceof RawAnswer) await result.write(response);
      else if (!response.headersSent && !response.destroyed) sendJson(response, 200, result);
    } catch (error) {
      if (response.headersSent || response.destroyed) return;
      if (error instanceof MatrixHttpError) sendError(response, error);
      else if (error instanceof BareHttpError) {
        response.writeHead(error.status, { 'content-type': 'text/plain' });
        response.end(error.message);
      } else
        sendJson(response, 500, {
          errcode: 'M_UNKNOWN',
          error: error instanceof Error ? error.message : String(error),
        });
    }
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const now = Date.now();
    for (const fault of this.faults) {
      if (fault.remaining <= 0 || now > fault.until || !fault.match(method, path)) continue;
      fault.remaining -= 1;
      return fault;
    }
    return undefined;
  }

  private addFault(options: FaultOptions, respond: (response: ServerResponse) => void): void {
    const pattern = options.path ?? CLIENT_PATH;
    this.faults.push({
      match: (method, path) =>
        pattern.test(path) && (options.method === undefined || options.method === method),
      remaining: options.times ?? Number.POSITIVE_INFINITY,
      until: options.forMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.forMs,
      respond,
    });
  }

  // ---- test controls: faults ----

  /** Answers matching requests 429 M_LIMIT_EXCEEDED with retry_after_ms (and Retry-After). */
  rateLimit(retryAfterMs: number, options: FaultOptions = {}): void {
    this.addFault(options, (response) => sendError(response, errors.limitExceeded(retryAfterMs)));
  }

  /**
   * Answers matching requests with a 5xx; `html` mimics a reverse proxy's error page (not JSON).
   * Open connections (the /sync long-poll) are cut first, as when the server behind the proxy dies;
   * `keepOpen` leaves them.
   */
  failWith(status: number, options: FaultOptions & { html?: boolean; keepOpen?: boolean } = {}): void {
    if (options.keepOpen !== true) this.server?.closeAllConnections();
    this.addFault(options, (response) => {
      if (options.html === true) {
        response.writeHead(status, { 'content-type': 'text/html' });
        response.end(`<html><body><h1>${status} Bad Gateway</h1></body></html>`);
      } else {
        sendJson(response, status, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      }
    });
  }

  /** Answers matching requests with a spec error body, e.g. 403 M_FORBIDDEN (power levels, ACLs). */
  failWithError(status: number, errcode: string, message: string, options: FaultOptions = {}): void {
    this.addFault(options, (response) => sendError(response, new MatrixHttpError(status, errcode, message)));
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  // ---- test controls: server kinds ----

  /**
   * Synapse before /v3/refresh (1.49 to about 1.7x, e.g. 1.67): refresh only at /v1/refresh;
   * /v3/refresh answers 400 M_UNRECOGNIZED, or a proxy's bare 404 / 405.
   */
  emulateLegacyRefresh(answer: 'M_UNRECOGNIZED' | 404 | 405 = 'M_UNRECOGNIZED'): void {
    this.auth.refreshV3 = answer;
  }

  /**
   * The Matrix Authentication Service's compatibility layer (matrix.org since April 2025): refresh
   * tokens die at their first use, the previous access token at the refresh, expired tokens answer
   * soft_logout false; with `passwords: false` no m.login.password is offered or accepted.
   */
  emulateMas(options: { passwords: boolean }): void {
    this.auth.mas = true;
    this.auth.passwordLogin = options.passwords;
    this.state.expiredTokenSoftLogout = false;
  }

  /**
   * matrix.org since September 2024: files uploaded from now on are not served by the
   * unauthenticated /_matrix/media/v3/download (404 M_NOT_FOUND), only by the v1 endpoint.
   */
  frozenUnauthenticatedMedia(): void {
    this.mediaStore.frozen = true;
  }

  /** A server from before Matrix v1.11: no /_matrix/client/v1/media paths (404 M_UNRECOGNIZED). */
  noV1Media(): void {
    this.mediaStore.noV1 = true;
  }

  /** Stores a file as an upload would (tests: POST /_matrix/media/v3/upload does the same). */
  uploadMedia(content: Buffer, contentType: string, fileName?: string): string {
    return this.mediaStore.add(content, contentType, fileName);
  }

  // ---- test controls: accounts and tokens ----

  /** Signs a device out (as from another client's session list): tokens die, soft_logout false. */
  logoutDevice(userId: string, deviceId: string): void {
    logoutDevice(this.state, userId, deviceId);
  }

  registerUser(localpart: string, password: string, displayName?: string): string {
    return this.state.registerUser(localpart, password, displayName).userId;
  }

  setPassword(userId: string, password: string): void {
    const user = this.state.users.get(userId);
    if (user !== undefined) user.password = password;
  }

  /** An access token made outside the login endpoint (as users copy one from their client). */
  createAccessToken(
    userId: string,
    deviceId = this.state.id('PRE').toUpperCase(),
  ): { token: string; deviceId: string } {
    this.state.users.get(userId)?.devices.set(deviceId, { deviceId, displayName: 'pre-made' });
    return { token: this.state.issueAccessToken(userId, deviceId, undefined).token, deviceId };
  }

  /** Invalidates every valid access token of the user (soft_logout: device kept, log in again). */
  invalidateTokens(userId: string, options: { softLogout?: boolean } = {}): number {
    let count = 0;
    for (const token of this.state.accessTokens.values()) {
      if (token.userId !== userId || token.invalid !== undefined) continue;
      token.invalid = { softLogout: options.softLogout ?? false };
      count += 1;
    }
    this.state.wake(); // long-polling syncs answer 401 now
    return count;
  }

  /** The currently valid access tokens of a user. */
  validTokens(userId: string): string[] {
    const now = Date.now();
    return [...this.state.accessTokens.values()]
      .filter(
        (t) =>
          t.userId === userId && t.invalid === undefined && (t.expiresAt === undefined || t.expiresAt > now),
      )
      .map((t) => t.token);
  }

  devices(userId: string): string[] {
    return [...(this.state.users.get(userId)?.devices.keys() ?? [])];
  }
}

/** Starts an emulator on a free loopback port. */
export async function startHomeserver(serverName = 'localhost'): Promise<MatrixHomeserver> {
  return new MatrixHomeserver(serverName).listen();
}
