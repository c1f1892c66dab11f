/**
 * Request plumbing of the homeserver emulator: a route table on v3 paths, JSON bodies, and the
 * spec's standard error responses ({ errcode, error }, spec §"Standard error response").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class MatrixHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** An error answer without a spec body: a reverse proxy's bare 404 or 405 (text, no errcode). */
export class BareHttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

export const errors = {
  unrecognized: (status = 404): MatrixHttpError =>
    new MatrixHttpError(status, 'M_UNRECOGNIZED', 'Unrecognized request'),
  notFound: (what: string): MatrixHttpError => new MatrixHttpError(404, 'M_NOT_FOUND', what),
  forbidden: (what: string): MatrixHttpError => new MatrixHttpError(403, 'M_FORBIDDEN', what),
  badJson: (what: string): MatrixHttpError => new MatrixHttpError(400, 'M_BAD_JSON', what),
  notJson: (): MatrixHttpError => new MatrixHttpError(400, 'M_NOT_JSON', 'Content not JSON.'),
  missingParam: (what: string): MatrixHttpError => new MatrixHttpError(400, 'M_MISSING_PARAM', what),
  missingToken: (): MatrixHttpError => new MatrixHttpError(401, 'M_MISSING_TOKEN', 'Missing access token'),
  unknownToken: (softLogout: boolean): MatrixHttpError =>
    new MatrixHttpError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: softLogout }),
  limitExceeded: (retryAfterMs: number): MatrixHttpError =>
    new MatrixHttpError(
      429,
      'M_LIMIT_EXCEEDED',
      'Too many requests',
      { retry_after_ms: retryAfterMs },
      {
        'retry-after': String(Math.ceil(retryAfterMs / 1000)),
      },
    ),
};

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  /** The body's bytes (media uploads). */
  readonly raw: Buffer;
  readonly params: readonly string[];
  /** Aborted when the client goes away (the /sync long-poll stops waiting). */
  readonly closed: AbortSignal;
}

export type Handler = (request: Request) => unknown;

/** A handler's answer that is not JSON (media): it writes the response itself. */
export class RawAnswer {
  constructor(readonly write: (response: ServerResponse) => Promise<void>) {}
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

export class Routes {
  private readonly routes: Route[] = [];

  /** `path` uses {name} for one segment, e.g. /_matrix/client/v3/rooms/{roomId}/send/{type}/{txnId}. */
  add(method: string, path: string, handler: Handler): void {
    const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    this.routes.push({ method, pattern, handler });
  }

  /** The handler for method+path, or a spec error: 404 unknown path, 405 known path with another method. */
  find(method: string, path: string): { handler: Handler; params: string[] } {
    let pathKnown = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (match === null) continue;
      pathKnown = true;
      if (route.method === method)
        return { handler: route.handler, params: match.slice(1).map((p) => decodeURIComponent(p)) };
    }
    throw errors.unrecognized(pathKnown ? 405 : 404);
  }
}

/**
 * The request body: `raw` always, `json` parsed when it is JSON (no content type, or a JSON one);
 * a media upload's bytes are only `raw`.
 */
export async function readBody(request: IncomingMessage): Promise<{ raw: Buffer; json: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = request.headers['content-type'];
  if (type !== undefined && !type.includes('json')) return { raw, json: undefined };
  return { raw, json: parseJsonBody(raw) };
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.notJson();
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

export function sendError(response: ServerResponse, error: MatrixHttpError): void {
  sendJson(
    response,
    error.status,
    { errcode: error.errcode, error: error.message, ...error.extra },
    error.headers,
  );
}

export function objectBody(request: Request): Record<string, unknown> {
  const body = request.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw errors.badJson('Body must be a JSON object');
  return body as Record<string, unknown>;
}
