/**
 * Versions, login, refresh, whoami, logout (spec §"Client Authentication", §"Login",
 * §"Refreshing access tokens", §"Soft logout").
 *
 * Switches for real servers that differ from the spec's happy path:
 * - `refreshV3`: Synapse 1.49 to about 1.7x served refresh only at /v1/refresh; /v3/refresh
 *   answered 400 M_UNRECOGNIZED (or, behind some proxies, a bare 404 / 405 without a JSON body).
 * - `mas`: the Matrix Authentication Service's compatibility layer (matrix.org since 2025): a
 *   refresh expires the previous access token at once and consumes the refresh token
 *   (crates/handlers/src/compat/refresh.rs); Synapse behind it answers an expired or unknown token
 *   401 M_UNKNOWN_TOKEN with soft_logout false ("Token is not active", msc3861_delegated.py).
 * - `passwordLogin: false`: MAS with passwords disabled: GET /login lists no m.login.password and
 *   a password login answers 400 M_UNRECOGNIZED "Invalid login type" (compat/login.rs).
 */
import { BareHttpError, errors, MatrixHttpError, objectBody, type Request, type Routes } from './http.js';
import type { AccessToken, HomeserverState, User } from './state.js';

export interface AuthSettings {
  /** When set, logins that ask for refresh_token: true get one, and access tokens expire after this. */
  tokenLifetimeMs: number | undefined;
  /** Remaining /refresh calls to refuse (M_UNKNOWN_TOKEN, soft_logout false). */
  failRefreshes: number;
  /** How POST /v3/refresh answers: served, or as an unknown endpoint (Synapse 400, a proxy's bare 404/405). */
  refreshV3: 'served' | 'M_UNRECOGNIZED' | 404 | 405;
  /** Behave like the Matrix Authentication Service's compatibility layer (see above). */
  mas: boolean;
  /** Whether m.login.password is offered and accepted. */
  passwordLogin: boolean;
  readonly counters: {
    loginAttempts: number;
    loginsOk: number;
    /** Successful refreshes, on either path. */
    refreshes: number;
    /** POST /refresh requests by path version, answered or not. */
    refreshCalls: { v1: number; v3: number };
    /** Refresh tokens presented again after they were used once (a client must never do this). */
    refreshReuses: number;
    whoamis: number;
    loginFlowRequests: number;
  };
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
  if (token.expiresAt !== undefined && Date.now() >= token.expiresAt)
    throw errors.unknownToken(state.expiredTokenSoftLogout);
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

  routes.add('GET', '/_matrix/client/v3/login', () => {
    settings.counters.loginFlowRequests += 1;
    if (settings.passwordLogin) return { flows: [{ type: 'm.login.password' }] };
    // MAS with passwords disabled (compat/login.rs): SSO through MAS, and login tokens.
    return {
      flows: [
        { type: 'm.login.sso', 'org.matrix.msc3824.delegated_oidc_compatibility': true },
        { type: 'm.login.token' },
      ],
    };
  });

  routes.add('POST', '/_matrix/client/v3/login', (request) => {
    const body = objectBody(request);
    settings.counters.loginAttempts += 1;
    settings.loginDeviceIds.push(typeof body.device_id === 'string' ? body.device_id : undefined);
    if (body.type === 'm.login.password' && !settings.passwordLogin)
      throw new MatrixHttpError(400, 'M_UNRECOGNIZED', 'Invalid login type');
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

  const refresh = (version: 'v1' | 'v3') => (request: Request) => {
    settings.counters.refreshCalls[version] += 1;
    if (version === 'v3' && settings.refreshV3 !== 'served') {
      if (settings.refreshV3 === 'M_UNRECOGNIZED') throw errors.unrecognized(400);
      throw new BareHttpError(settings.refreshV3);
    }
    return refreshTokens(state, settings, request);
  };
  routes.add('POST', '/_matrix/client/v1/refresh', refresh('v1'));
  routes.add('POST', '/_matrix/client/v3/refresh', refresh('v3'));

  routes.add('GET', '/_matrix/client/v3/account/whoami', (request) => {
    const token = authenticate(state, request);
    settings.counters.whoamis += 1;
    return { user_id: token.userId, device_id: token.deviceId, is_guest: false };
  });

  routes.add('POST', '/_matrix/client/v3/logout', (request) => {
    const token = authenticate(state, request);
    logoutDevice(state, token.userId, token.deviceId);
    return {};
  });

  routes.add('POST', '/_matrix/client/v3/logout/all', (request) => {
    const token = authenticate(state, request);
    for (const other of state.accessTokens.values())
      if (other.userId === token.userId) other.invalid = { softLogout: false };
    for (const refresh of state.refreshTokens.values())
      if (refresh.userId === token.userId) refresh.revoked = true;
    state.users.get(token.userId)?.devices.clear();
    return {};
  });
}

/**
 * Spec §"Logout": the token is invalidated and the device deleted (its refresh tokens die with it);
 * later requests with its tokens answer 401 M_UNKNOWN_TOKEN, soft_logout false.
 */
export function logoutDevice(state: HomeserverState, userId: string, deviceId: string): void {
  invalidateDeviceTokens(state, userId, deviceId);
  state.users.get(userId)?.devices.delete(deviceId);
}

/** POST /refresh: a new access token and a new refresh token; the presented one is used up. */
function refreshTokens(state: HomeserverState, settings: AuthSettings, request: Request): unknown {
  const body = objectBody(request);
  if (typeof body.refresh_token !== 'string') throw errors.missingParam('Missing refresh_token');
  const refresh = state.refreshTokens.get(body.refresh_token);
  if (refresh?.used === true) settings.counters.refreshReuses += 1;
  if (refresh === undefined || refresh.revoked || refresh.used) {
    // MAS: 401 M_UNKNOWN_TOKEN "Invalid refresh token", without soft_logout (compat/refresh.rs).
    if (settings.mas) throw new MatrixHttpError(401, 'M_UNKNOWN_TOKEN', 'Invalid refresh token');
    throw errors.unknownToken(false);
  }
  if (settings.failRefreshes > 0) {
    settings.failRefreshes -= 1;
    refresh.revoked = true;
    throw errors.unknownToken(false);
  }
  settings.counters.refreshes += 1;
  refresh.used = true;
  // The device's newest access token still in force (Map order is issue order).
  const previous = [...state.accessTokens.values()]
    .filter((t) => t.deviceId === refresh.deviceId && t.userId === refresh.userId && t.invalid === undefined)
    .at(-1);
  const access = state.issueAccessToken(refresh.userId, refresh.deviceId, settings.tokenLifetimeMs);
  // MAS expires the previous access token at once; the spec lets it live until the new one is used.
  if (previous !== undefined && settings.mas) {
    previous.invalid = { softLogout: false };
    state.wake();
  } else if (previous !== undefined) access.replaces = { access: previous, refresh };
  return {
    access_token: access.token,
    refresh_token: state.issueRefreshToken(refresh.userId, refresh.deviceId).token,
    ...(settings.tokenLifetimeMs === undefined ? {} : { expires_in_ms: settings.tokenLifetimeMs }),
  };
}
