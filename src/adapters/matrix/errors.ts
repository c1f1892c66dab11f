import { errorMessage } from '../../core/errors.js';
/**
 * Matrix errors and the one place that decides what an error means (house style: "Each adapter
 * has one place that decides retry vs fatal"). Error bodies follow the Client-Server API's
 * "Standard error response" ({ errcode, error }); see spec §"API Standards".
 */

/** A non-2xx answer from the homeserver. Never carries a secret: the request is not quoted. */
export class MatrixApiError extends Error {
  override readonly name = 'MatrixApiError';
  constructor(
    readonly status: number,
    readonly errcode: string,
    readonly serverMessage: string,
    readonly extra: { readonly softLogout?: boolean; readonly retryAfterMs?: number } = {},
  ) {
    super(`${errcode} (HTTP ${status})${serverMessage === '' ? '' : `: ${serverMessage}`}`);
  }
}

/** A human must act (the message says what); retried only slowly by the adapter. */
export class MatrixAuthFailure extends Error {
  override readonly name = 'MatrixAuthFailure';
}

/** The homeserver could not be reached or did not answer in time. */
export class MatrixNetworkError extends Error {
  override readonly name = 'MatrixNetworkError';
}

export type MatrixErrorClass =
  /** The access token is unknown, expired or missing: log in again (spec §"Soft logout"). */
  | { readonly kind: 'token'; readonly errcode: string; readonly softLogout: boolean }
  /** M_LIMIT_EXCEEDED: wait and retry the same request; never a login. */
  | { readonly kind: 'rate-limited'; readonly retryAfterMs: number }
  /** M_FORBIDDEN outside login: not in the room, banned, no power. Not retried. */
  | { readonly kind: 'forbidden'; readonly message: string }
  /** Network failure, timeout, 5xx: retry with backoff. */
  | { readonly kind: 'transient'; readonly message: string }
  /** Any other client error (M_NOT_FOUND, M_TOO_LARGE, ...): not retried. */
  | { readonly kind: 'fatal'; readonly errcode: string; readonly message: string }
  /** We aborted the request ourselves (stop, restart of the sync loop). */
  | { readonly kind: 'aborted' };

/** Used when a 429 carries no retry_after_ms and no Retry-After header. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A server asking for longer than this is obeyed in steps of this, so stop() stays prompt. */
export const MAX_RETRY_AFTER_MS = 120_000;

export function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR')
  );
}

export function classifyMatrixError(error: unknown): MatrixErrorClass {
  if (isAbort(error)) return { kind: 'aborted' };
  if (error instanceof MatrixNetworkError) return { kind: 'transient', message: error.message };
  const api = asApiError(error);
  if (api === undefined) return { kind: 'transient', message: errorMessage(error) };
  switch (api.errcode) {
    case 'M_UNKNOWN_TOKEN':
    case 'M_MISSING_TOKEN':
      return { kind: 'token', errcode: api.errcode, softLogout: api.extra.softLogout === true };
    case 'M_LIMIT_EXCEEDED':
      return { kind: 'rate-limited', retryAfterMs: clampRetry(api.extra.retryAfterMs) };
    case 'M_FORBIDDEN':
      return { kind: 'forbidden', message: api.message };
  }
  if (api.status === 429) return { kind: 'rate-limited', retryAfterMs: clampRetry(api.extra.retryAfterMs) };
  if (api.status >= 500 || api.status === 408) return { kind: 'transient', message: api.message };
  // A 401 without a token errcode (some proxies) is still a rejected token.
  if (api.status === 401)
    return { kind: 'token', errcode: api.errcode, softLogout: api.extra.softLogout === true };
  return { kind: 'fatal', errcode: api.errcode, message: api.message };
}

/**
 * True when an error code says the server does not serve the endpoint at all (as opposed to
 * refusing the request): the spec's M_UNRECOGNIZED (spec §"Unsupported endpoints": 404 for an
 * unknown path, 405 for a known path with another method; Synapse before 1.7x answers 400 for an
 * unknown path), or a bare 404 / 405 without an errcode from a reverse proxy (http.ts then makes up
 * `HTTP_404` / `HTTP_405`).
 */
export function isUnrecognizedEndpoint(errcode: string): boolean {
  return errcode === 'M_UNRECOGNIZED' || errcode === 'HTTP_404' || errcode === 'HTTP_405';
}

function clampRetry(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** Our MatrixApiError, or the SDK's MatrixError shape ({ errcode, statusCode, retryAfterMs }). */
function asApiError(error: unknown): MatrixApiError | undefined {
  if (error instanceof MatrixApiError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    errcode?: unknown;
    statusCode?: unknown;
    retryAfterMs?: unknown;
    body?: { soft_logout?: unknown; error?: unknown };
  };
  if (typeof e.errcode !== 'string' || typeof e.statusCode !== 'number') return undefined;
  return new MatrixApiError(e.statusCode, e.errcode, typeof e.body?.error === 'string' ? e.body.error : '', {
    softLogout: e.body?.soft_logout === true,
    ...(typeof e.retryAfterMs === 'number' ? { retryAfterMs: e.retryAfterMs } : {}),
  });
}
