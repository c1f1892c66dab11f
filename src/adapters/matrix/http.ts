/**
 * The adapter's HTTP transport to the Client-Server API: node:http / node:https with an AbortSignal,
 * so every request (the /sync long-poll included) ends when the adapter stops, and every failure
 * becomes a MatrixApiError or MatrixNetworkError for classifyMatrixError(). The exchange itself is
 * the daemon's one HTTP client (src/net/http.ts, which says why it is not fetch). With encryption on, matrix-bot-sdk
 * runs on top of it (client.ts overrides its doRequest), which replaces the SDK's `request`-based
 * client: that one cannot be aborted and keeps sockets open after stop.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { MatrixApiError, MatrixNetworkError, isAbort } from './errors.js';
import { errorMessage } from '../../core/errors.js';
import { httpExchange, transportFor, type HttpAnswer } from '../../net/http.js';

export type QueryValue = string | number | boolean | readonly string[] | undefined | null;

export interface MatrixRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Starts with /_matrix/... */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>> | null;
  /** Sent as JSON unless a Buffer. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accessToken?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
  /** 'json' (default), 'buffer' (media), 'response' ({ statusCode, headers, body }). */
  readonly responseType?: 'json' | 'buffer' | 'response';
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export function buildUrl(
  baseUrl: string,
  path: string,
  query?: Readonly<Record<string, QueryValue>> | null,
): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') for (const item of value) url.searchParams.append(name, item);
    else url.searchParams.set(name, String(value));
  }
  return url.toString();
}

export async function matrixRequest(baseUrl: string, request: MatrixRequest): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.accessToken !== undefined && request.accessToken !== '')
    headers.authorization = `Bearer ${request.accessToken}`;
  let body: Buffer | undefined;
  if (request.body !== undefined && request.body !== null) {
    if (Buffer.isBuffer(request.body)) {
      body = request.body;
      headers['content-type'] = request.contentType ?? 'application/octet-stream';
    } else {
      body = Buffer.from(JSON.stringify(request.body), 'utf8');
      headers['content-type'] = 'application/json';
    }
  }
  const timeout = AbortSignal.timeout(request.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
  let response: RawResponse;
  try {
    response = await httpExchange(new URL(buildUrl(baseUrl, request.path, request.query)), {
      method: request.method,
      headers,
      body,
      signal,
    });
  } catch (error) {
    if (request.signal?.aborted === true)
      throw request.signal.reason instanceof Error ? request.signal.reason : abortError();
    if (timeout.aborted || isAbort(error))
      throw new MatrixNetworkError(`${request.method} ${request.path}: timed out`, { cause: error });
    throw new MatrixNetworkError(`${request.method} ${request.path}: ${describeNetworkError(error)}`, {
      cause: error,
    });
  }
  const raw = response.body;
  if (response.status < 200 || response.status > 299) throw apiError(response, raw);
  switch (request.responseType ?? 'json') {
    case 'buffer':
      return raw;
    case 'response': {
      const responseHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers))
        if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
      return { statusCode: response.status, headers: responseHeaders, body: parseJson(raw) ?? raw };
    }
    case 'json':
      return raw.length === 0 ? {} : (parseJson(raw) ?? {});
  }
}

type RawResponse = HttpAnswer;

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined; // not JSON (a proxy's HTML error page): the caller falls back to the status
  }
}

function apiError(
  response: Pick<RawResponse, 'status' | 'statusText' | 'headers'>,
  raw: Buffer,
): MatrixApiError {
  const parsed = parseJson(raw);
  const body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const errcode = typeof body.errcode === 'string' ? body.errcode : `HTTP_${response.status}`;
  const message = typeof body.error === 'string' ? body.error.slice(0, 300) : response.statusText;
  let retryAfterMs = typeof body.retry_after_ms === 'number' ? body.retry_after_ms : undefined;
  // Spec v1.10 moved the delay to the Retry-After header (seconds); either may be present.
  const header = response.headers['retry-after'];
  if (retryAfterMs === undefined && header !== undefined && /^\d+$/.test(header.trim()))
    retryAfterMs = Number(header.trim()) * 1000;
  return new MatrixApiError(response.status, errcode, message, {
    softLogout: body.soft_logout === true,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** A streamed answer (media downloads): headers now, the body as it arrives. */
export interface StreamedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
}

/** Error bodies are JSON of a few hundred bytes; more than this is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * A GET whose 2xx body is handed over as a stream, never buffered (media, issue 8 §3). `timeoutMs`
 * bounds the wait for the headers only; a slow body is bounded by the caller's signal, which
 * destroys the body when it aborts. A non-2xx answer becomes a MatrixApiError as for matrixRequest.
 */
export async function matrixStream(
  baseUrl: string,
  request: { path: string; accessToken?: string | undefined; signal: AbortSignal; timeoutMs?: number },
): Promise<StreamedResponse> {
  const headers: Record<string, string> = {};
  if (request.accessToken !== undefined && request.accessToken !== '')
    headers.authorization = `Bearer ${request.accessToken}`;
  const url = new URL(buildUrl(baseUrl, request.path));
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = transportFor(url).request(url, { method: 'GET', headers, signal: request.signal }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    const timer = setTimeout(
      () => req.destroy(new MatrixNetworkError(`GET ${request.path}: timed out`)),
      request.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      if (request.signal.aborted)
        reject(request.signal.reason instanceof Error ? request.signal.reason : abortError());
      else if (error instanceof MatrixNetworkError) reject(error);
      else
        reject(
          new MatrixNetworkError(`GET ${request.path}: ${describeNetworkError(error)}`, { cause: error }),
        );
    });
    req.end();
  });
  const status = response.statusCode ?? 0;
  if (status >= 200 && status <= 299) return { status, headers: response.headers, body: response };
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
      if (size > MAX_ERROR_BODY_BYTES) break;
    }
  } catch (error) {
    throw new MatrixNetworkError(`GET ${request.path}: ${describeNetworkError(error)}`, { cause: error });
  } finally {
    response.destroy();
  }
  throw apiError(
    { status, statusText: response.statusMessage ?? '', headers: response.headers },
    Buffer.concat(chunks),
  );
}

function describeNetworkError(error: unknown): string {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return errorMessage(error);
}

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}
