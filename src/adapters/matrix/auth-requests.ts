/**
 * The three authentication requests of the token lifecycle (spec §"Login", §"Refreshing access
 * tokens", §"whoami") and the retry rule they share: network errors and 5xx back off, 429 waits
 * retry_after_ms, a token or client error is an answer for the caller to judge (never retried
 * blindly, so a wrong password cannot hammer the login endpoint).
 */
import type { Logger } from 'pino';
import type { MatrixAccountConfig } from '../../config/matrix.js';
import { Backoff, sleep } from '../../core/backoff.js';
import { classifyMatrixError, type MatrixErrorClass } from './errors.js';
import { matrixRequest } from './http.js';

const AUTH_BACKOFF = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };

export interface LoginResponse {
  user_id?: unknown;
  access_token?: unknown;
  device_id?: unknown;
  refresh_token?: unknown;
  expires_in_ms?: unknown;
}

export type AuthAnswer =
  { kind: 'ok'; value: unknown } | { kind: 'rejected'; errcode: string; message: string };

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
        log.warn(
          { what, reason: verdict.message, retryInMs: delayMs },
          'Matrix homeserver unreachable, retrying',
        );
        await sleep(delayMs, signal);
        break;
      }
      case 'rate-limited':
        log.warn({ what, retryAfterMs: verdict.retryAfterMs }, 'Matrix homeserver rate-limited us, waiting');
        await sleep(verdict.retryAfterMs, signal);
        break;
      case 'token':
        return { kind: 'rejected', errcode: verdict.errcode, message: '' };
      case 'forbidden':
        return { kind: 'rejected', errcode: 'M_FORBIDDEN', message: verdict.message };
      case 'fatal':
        return { kind: 'rejected', errcode: verdict.errcode, message: verdict.message };
    }
  }
}

export function whoamiRequest(
  homeserver: string,
  accessToken: string,
  signal: AbortSignal,
): Promise<unknown> {
  return matrixRequest(homeserver, {
    method: 'GET',
    path: '/_matrix/client/v3/account/whoami',
    accessToken,
    signal,
  });
}

export function refreshRequest(
  homeserver: string,
  refreshToken: string,
  signal: AbortSignal,
): Promise<unknown> {
  return matrixRequest(homeserver, {
    method: 'POST',
    path: '/_matrix/client/v3/refresh',
    body: { refresh_token: refreshToken },
    signal,
  });
}

/** m.login.password with an m.id.user identifier, the known device id, and a refresh token asked for (spec v1.3). */
export function loginRequest(
  homeserver: string,
  settings: MatrixAccountConfig,
  deviceId: string | undefined,
  signal: AbortSignal,
): Promise<unknown> {
  return matrixRequest(homeserver, {
    method: 'POST',
    path: '/_matrix/client/v3/login',
    body: {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: settings.user_id },
      password: settings.password ?? '',
      ...(deviceId === undefined || deviceId === '' ? {} : { device_id: deviceId }),
      initial_device_display_name: settings.device_name,
      refresh_token: true,
    },
    signal,
  });
}
