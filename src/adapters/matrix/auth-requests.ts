/**
 * The authentication requests of the token lifecycle (spec §"Login", §"Refreshing access tokens",
 * §"whoami") and the retry rule they share: network errors and 5xx back off, 429 waits
 * retry_after_ms, a token or client error is an answer for the caller to judge (never retried
 * blindly, so a wrong password cannot hammer the login endpoint).
 */
import type { Logger } from 'pino';
import type { MatrixAccountConfig } from '../../config/matrix.js';
import { Backoff, sleep } from '../../core/backoff.js';
import {
  classifyMatrixError,
  isUnrecognizedEndpoint,
  MatrixAuthFailure,
  type MatrixErrorClass,
} from './errors.js';
import { matrixRequest } from './http.js';
import { registerSecret } from './log-bridge.js';
import type { MatrixSession } from './session-store.js';

const AUTH_BACKOFF = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };

export interface LoginResponse {
  user_id?: unknown;
  access_token?: unknown;
  device_id?: unknown;
  refresh_token?: unknown;
  expires_in_ms?: unknown;
}

export type AuthAnswer =
  | { kind: 'ok'; value: unknown }
  | { kind: 'rejected'; errcode: string; message: string; softLogout: boolean };

export interface RetryContext {
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** Runs one auth request until it gets an answer; rejects only when aborted. */
export async function withAuthRetries(
  what: string,
  context: RetryContext,
  run: (signal: AbortSignal) => Promise<unknown>,
): Promise<AuthAnswer> {
  const backoff = new Backoff(AUTH_BACKOFF);
  const { signal, log } = context;
  for (;;) {
    let verdict: MatrixErrorClass;
    try {
      return { kind: 'ok', value: await run(signal) };
    } catch (error) {
      verdict = classifyMatrixError(error);
      if (verdict.kind === 'aborted' || signal.aborted) throw error;
    }
    switch (verdict.kind) {
      case 'transient': {
        const delayMs = backoff.next();
        log.warn({ what, reason: verdict.message, delayMs }, 'Matrix homeserver unreachable, retrying');
        await sleep(delayMs, signal);
        break;
      }
      case 'rate-limited':
        log.warn({ what, delayMs: verdict.retryAfterMs }, 'Matrix homeserver rate-limited us, waiting');
        await sleep(verdict.retryAfterMs, signal);
        break;
      case 'token':
        return { kind: 'rejected', errcode: verdict.errcode, message: '', softLogout: verdict.softLogout };
      case 'forbidden':
        return { kind: 'rejected', errcode: 'M_FORBIDDEN', message: verdict.message, softLogout: false };
      case 'fatal':
        return { kind: 'rejected', errcode: verdict.errcode, message: verdict.message, softLogout: false };
    }
  }
}

/**
 * Where POST /refresh lives. Spec v1.3 names /v3/refresh; Synapse 1.49 to about 1.7x (late 2022)
 * serves it only as /v1/refresh and answers /v3/refresh 400 M_UNRECOGNIZED (some proxies: a bare
 * 404 or 405). matrix-js-sdk tries v3 and falls back to v1 the same way (its PR #3016).
 */
export type RefreshApi = 'v3' | 'v1';

export type RefreshOutcome =
  | { kind: 'ok'; value: unknown; api: RefreshApi }
  | { kind: 'rejected'; errcode: string; message: string; softLogout: boolean }
  /** Neither /v3/refresh nor /v1/refresh is served: the server cannot refresh at all. */
  | { kind: 'unsupported' };

function refreshRequest(
  homeserver: string,
  api: RefreshApi,
  refreshToken: string,
  signal: AbortSignal,
): Promise<unknown> {
  return matrixRequest(homeserver, {
    method: 'POST',
    path: `/_matrix/client/${api}/refresh`,
    body: { refresh_token: refreshToken },
    signal,
  });
}

/**
 * POST /refresh on `preferred` (the one that worked before, else v3), and on the other version
 * when the server does not serve that path. Safe to repeat: an unserved path consumes nothing.
 */
export async function refreshWithFallback(
  homeserver: string,
  refreshToken: string,
  preferred: RefreshApi,
  context: RetryContext,
): Promise<RefreshOutcome> {
  const order: RefreshApi[] = preferred === 'v3' ? ['v3', 'v1'] : ['v1', 'v3'];
  for (const [index, api] of order.entries()) {
    const answer = await withAuthRetries(`refresh ${api}`, context, (signal) =>
      refreshRequest(homeserver, api, refreshToken, signal),
    );
    if (answer.kind === 'ok') return { kind: 'ok', value: answer.value, api };
    if (!isUnrecognizedEndpoint(answer.errcode)) return answer;
    const next = order[index + 1];
    if (next !== undefined)
      context.log.info(
        { api, next, errcode: answer.errcode },
        'Matrix refresh endpoint not served here, trying the other version',
      );
  }
  return { kind: 'unsupported' };
}

/** GET /login: the login types the server offers (spec §"GET /_matrix/client/v3/login"). */
function loginFlowsRequest(homeserver: string, signal: AbortSignal): Promise<unknown> {
  return matrixRequest(homeserver, { method: 'GET', path: '/_matrix/client/v3/login', signal });
}

/** Whether a GET /login answer lists m.login.password. */
function offersPasswordLogin(body: unknown): boolean {
  const flows = (body as { flows?: unknown } | null)?.flows;
  return (
    Array.isArray(flows) &&
    flows.some((flow) => (flow as { type?: unknown } | null)?.type === 'm.login.password')
  );
}

/**
 * m.login.password with an m.id.user identifier, the known device id (when it may be reused), and a
 * refresh token asked for (spec v1.3) unless the server has shown it cannot refresh.
 */
function loginRequest(
  homeserver: string,
  settings: MatrixAccountConfig,
  options: { deviceId: string | undefined; refreshToken: boolean },
  signal: AbortSignal,
): Promise<unknown> {
  const { deviceId } = options;
  return matrixRequest(homeserver, {
    method: 'POST',
    path: '/_matrix/client/v3/login',
    body: {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: settings.user_id },
      password: settings.password ?? '',
      ...(deviceId === undefined || deviceId === '' ? {} : { device_id: deviceId }),
      initial_device_display_name: settings.device_name,
      refresh_token: options.refreshToken,
    },
    signal,
  });
}

export interface LoginAccount {
  /** Base URL without the trailing slash. */
  readonly homeserver: string;
  readonly accountId: string;
  readonly settings: MatrixAccountConfig;
}

/**
 * A password login, judged: the new session, or a MatrixAuthFailure that says what the operator
 * must do. GET /login comes first: a server that does not list m.login.password (the Matrix
 * Authentication Service with passwords disabled) gets no password at all. A GET /login the server
 * refuses proves nothing; the login itself tells.
 */
export async function passwordLogin(
  account: LoginAccount,
  options: { deviceId: string | undefined; refreshToken: boolean },
  context: RetryContext,
  onAttempt: () => void,
): Promise<MatrixSession> {
  const { homeserver, settings, accountId } = account;
  const flows = await withAuthRetries('login flows', context, (signal) =>
    loginFlowsRequest(homeserver, signal),
  );
  if (flows.kind === 'ok' && !offersPasswordLogin(flows.value))
    throw passwordLoginUnavailable(account, 'm.login.password is not among its login flows');
  const answer = await withAuthRetries('login', context, (signal) => {
    onAttempt();
    return loginRequest(homeserver, settings, options, signal);
  });
  if (answer.kind === 'rejected') {
    // classifyMatrixError's message already starts with the errcode ("M_X (HTTP 400): ...").
    const detail =
      answer.message === ''
        ? answer.errcode
        : answer.message.startsWith(answer.errcode)
          ? answer.message
          : `${answer.errcode}: ${answer.message}`;
    // MAS answers m.login.password with passwords disabled 400 M_UNRECOGNIZED "Invalid login type"
    // (matrix-authentication-service, crates/handlers/src/compat/login.rs).
    if (answer.errcode === 'M_UNRECOGNIZED')
      throw passwordLoginUnavailable(account, `login answered ${detail}`);
    const hint =
      answer.errcode === 'M_FORBIDDEN'
        ? `check password in [${accountId}] (with the Matrix Authentication Service the account may have no password: see docs/matrix.md)`
        : `the homeserver may not allow password logins; use an access_token in [${accountId}]`;
    throw new MatrixAuthFailure(`Matrix login as ${settings.user_id} was rejected (${detail}): ${hint}`);
  }
  const body = answer.value as LoginResponse;
  if (typeof body.access_token !== 'string' || typeof body.device_id !== 'string')
    throw new MatrixAuthFailure(`Matrix login as ${settings.user_id} returned no access token or device id`);
  registerSecret(body.access_token);
  registerSecret(typeof body.refresh_token === 'string' ? body.refresh_token : undefined);
  context.log.info({ device: body.device_id }, `Matrix login OK (device ${body.device_id})`);
  return {
    homeserver,
    userId: typeof body.user_id === 'string' ? body.user_id : settings.user_id,
    deviceId: body.device_id,
    accessToken: body.access_token,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    ...(typeof body.expires_in_ms === 'number' ? { expiresAt: Date.now() + body.expires_in_ms } : {}),
    source: 'login',
  };
}

/** The server takes no password logins: only a token issued by its admin can work (docs/matrix.md). */
function passwordLoginUnavailable(account: LoginAccount, detail: string): MatrixAuthFailure {
  const { homeserver, settings, accountId } = account;
  const localpart = settings.user_id.slice(1).split(':')[0] ?? settings.user_id;
  return new MatrixAuthFailure(
    `Matrix homeserver ${homeserver} does not accept password logins (${detail}), so [${accountId}] cannot log in ` +
      `as ${settings.user_id} by itself: set access_token in [${accountId}] to a token issued by the server's admin ` +
      `(Matrix Authentication Service: mas-cli manage issue-compatibility-token ${localpart})`,
  );
}

/** whoami with the candidate's token: the session (device id filled in), or how it was rejected. */
export async function checkToken(
  account: LoginAccount,
  candidate: MatrixSession,
  context: RetryContext,
): Promise<
  { kind: 'ok'; session: MatrixSession } | { kind: 'rejected'; errcode: string; softLogout: boolean }
> {
  const answer = await withAuthRetries('whoami', context, (signal) =>
    matrixRequest(account.homeserver, {
      method: 'GET',
      path: '/_matrix/client/v3/account/whoami',
      accessToken: candidate.accessToken,
      signal,
    }),
  );
  if (answer.kind === 'rejected') return answer;
  const body = answer.value as { user_id?: unknown; device_id?: unknown };
  const { settings, accountId } = account;
  if (body.user_id !== settings.user_id) {
    throw new MatrixAuthFailure(
      `the Matrix access token of [${accountId}] belongs to ${String(body.user_id)}, not ${settings.user_id}: fix user_id or access_token`,
    );
  }
  const deviceId = typeof body.device_id === 'string' ? body.device_id : candidate.deviceId;
  return { kind: 'ok', session: { ...candidate, deviceId } };
}
