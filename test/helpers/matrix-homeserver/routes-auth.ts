/**
 * Versions, login, refresh, whoami, logout (spec §"Client Authentication", §"Login",
 * §"Refreshing access tokens", §"Soft logout").
 */
import { errors, MatrixHttpError, objectBody, type Request, type Routes } from './http.js';
import type { AccessToken, HomeserverState, User } from './state.js';

export interface AuthSettings {
  /** When set, logins that ask for refresh_token: true get one, and access tokens expire after this. */
  tokenLifetimeMs: number | undefined;
  /** Remaining /refresh calls to refuse (M_UNKNOWN_TOKEN, soft_logout false). */
  failRefreshes: number;
  readonly counters: { loginAttempts: number; loginsOk: number; refreshes: number; whoamis: number };
  /** Every login request body's device_id (undefined when absent), in order. */
  readonly loginDeviceIds: (string | undefined)[];
}

/** The token of an authenticated request, or the spec's 401 (M_MISSING_TOKEN / M_UNKNOWN_TOKEN). */
export function authenticate(state: HomeserverState, request: Request): AccessToken {
  const header = request.headers.authorization;
  const fromHeader = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
  const presented = fromHeader ?? request.query.get('access_token') ?? undefined;
  if (presented === undefined || presented === '') throw errors.missingToken();
  const token = state.accessTokens.get(presented);
  if (token === undefined) throw errors.unknownToken(false);
  if (token.invalid !== undefined) throw errors.unknownToken(token.invalid.softLogout);
  if (token.expiresAt !== undefined && Date.now() >= token.expiresAt) throw errors.unknownToken(true);
  // Spec: the old access and refresh token stay valid until the new access token is used.
  if (token.replaces !== undefined) {
    token.replaces.access.invalid ??= { softLogout: true };
    token.replaces.refresh.revoked = true;
    token.replaces = undefined;
  }
  return token;
}

/** A new login on a known device: its earlier tokens answer 401 M_UNKNOWN_TOKEN, soft_logout false. */
function invalidateDeviceTokens(state: HomeserverState, userId: string, deviceId: string): void {
  for (const token of state.accessTokens.values()) {
    if (token.userId === userId && token.deviceId === deviceId) token.invalid ??= { softLogout: false };
  }
  for (const refresh of state.refreshTokens.values()) {
    if (refresh.userId === userId && refresh.deviceId === deviceId) refresh.revoked = true;
  }
  state.wake(); // a /sync long-polling with an old token answers 401 now
}

export function addAuthRoutes(routes: Routes, state: HomeserverState, settings: AuthSettings): void {
  routes.add('GET', '/_matrix/client/versions', () => ({
    versions: ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'],
    unstable_features: {},
  }));

  routes.add('GET', '/_matrix/client/v3/login', () => ({ flows: [{ type: 'm.login.password' }] }));

  routes.add('POST', '/_matrix/client/v3/login', (request) => {
    const body = objectBody(request);
    settings.counters.loginAttempts += 1;
    settings.loginDeviceIds.push(typeof body.device_id === 'string' ? body.device_id : undefined);
    if (body.type !== 'm.login.password') throw new MatrixHttpError(400, 'M_UNKNOWN', 'Unknown login type');
    const identifier = body.identifier as { type?: unknown; user?: unknown } | undefined;
    let name: unknown = body.user; // deprecated top-level form
    if (identifier !== undefined) {
      if (identifier.type !== 'm.id.user')
        throw new MatrixHttpError(400, 'M_UNKNOWN', 'Unknown identifier type');
      name = identifier.user;
    }
    if (typeof name !== 'string' || typeof body.password !== 'string')
      throw errors.missingParam('Missing identifier or password');
    const user: User | undefined = state.users.get(state.userIdFor(name));
    if (user === undefined || user.password !== body.password)
      throw errors.forbidden('Invalid username or password');
    // Spec (POST /login, device_id): "If this does not correspond to a known client device, a new
    // device will be created. The server will invalidate any access token previously associated
    // with this device." A known one is reused, and its earlier access and refresh tokens die.
    const deviceId =
      typeof body.device_id === 'string' && body.device_id !== ''
        ? body.device_id
        : state.id('DEV').toUpperCase();
    if (user.devices.has(deviceId)) {
      invalidateDeviceTokens(state, user.userId, deviceId);
    } else {
      const displayName =
        typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined;
      user.devices.set(deviceId, { deviceId, displayName });
    }
    const wantsRefresh = body.refresh_token === true && settings.tokenLifetimeMs !== undefined;
    const access = state.issueAccessToken(
      user.userId,
      deviceId,
      wantsRefresh ? settings.tokenLifetimeMs : undefined,
    );
    settings.counters.loginsOk += 1;
    return {
      user_id: user.userId,
      access_token: access.token,
      device_id: deviceId,
      home_server: state.serverName,
      ...(wantsRefresh
        ? {
            refresh_token: state.issueRefreshToken(user.userId, deviceId).token,
            expires_in_ms: settings.tokenLifetimeMs,
          }
        : {}),
    };
  });

  routes.add('POST', '/_matrix/client/v3/refresh', (request) => {
    const body = objectBody(request);
    if (typeof body.refresh_token !== 'string') throw errors.missingParam('Missing refresh_token');
    const refresh = state.refreshTokens.get(body.refresh_token);
    if (refresh === undefined || refresh.revoked || refresh.used) throw errors.unknownToken(false);
    if (settings.failRefreshes > 0) {
      settings.failRefreshes -= 1;
      refresh.revoked = true;
      throw errors.unknownToken(false);
    }
    settings.counters.refreshes += 1;
    refresh.used = true;
    const previous = [...state.accessTokens.values()].find(
      (t) => t.deviceId === refresh.deviceId && t.userId === refresh.userId && t.invalid === undefined,
    );
    const access = state.issueAccessToken(refresh.userId, refresh.deviceId, settings.tokenLifetimeMs);
    if (previous !== undefined) access.replaces = { access: previous, refresh };
    return {
      access_token: access.token,
      refresh_token: state.issueRefreshToken(refresh.userId, refresh.deviceId).token,
      ...(settings.tokenLifetimeMs === undefined ? {} : { expires_in_ms: settings.tokenLifetimeMs }),
    };
  });

  routes.add('GET', '/_matrix/client/v3/account/whoami', (request) => {
    const token = authenticate(state, request);
    settings.counters.whoamis += 1;
    return { user_id: token.userId, device_id: token.deviceId, is_guest: false };
  });

  routes.add('POST', '/_matrix/client/v3/logout', (request) => {
    const token = authenticate(state, request);
    token.invalid = { softLogout: false };
    state.users.get(token.userId)?.devices.delete(token.deviceId);
    return {};
  });

  routes.add('POST', '/_matrix/client/v3/logout/all', (request) => {
    const token = authenticate(state, request);
    for (const other of state.accessTokens.values())
      if (other.userId === token.userId) other.invalid = { softLogout: false };
    state.users.get(token.userId)?.devices.clear();
    return {};
  });
}
