import { LoginFailedError, TransientLoginError } from './errors.js';
import { httpExchange, type HttpAnswer } from '../net/http.js';

/** docs/kosmi-protocol.md §4.1: the document the web app and the old relay send, over HTTP. */
export const ANON_LOGIN_DOCUMENT = 'mutation AnonLogin { anonLogin { token user { id displayName } } }';

const ANON_LOGIN_TIMEOUT_MS = 20_000;

export interface AnonLoginOptions {
  readonly apiUrl: string;
  readonly webUrl: string;
  readonly userAgent: string;
  readonly signal?: AbortSignal;
}

/**
 * Anonymous login: `anonLogin` over HTTP POST on the engine root (§4.1, §6.1), with the headers the
 * old relay copied from the browser (§1). Returns the JWT. Over node:http, not fetch (http-post.ts
 * says why).
 */
export async function anonLogin(options: AnonLoginOptions): Promise<string> {
  const signals = [AbortSignal.timeout(ANON_LOGIN_TIMEOUT_MS)];
  if (options.signal !== undefined) signals.push(options.signal);
  let response: HttpAnswer;
  try {
    response = await httpExchange(new URL(options.apiUrl), {
      method: 'POST',
      headers: {
        Accept: '*/*',
        'Content-Type': 'application/json',
        Referer: `${new URL(options.webUrl).origin}/`,
        Origin: new URL(options.webUrl).origin,
        'User-Agent': options.userAgent,
      },
      body: Buffer.from(
        JSON.stringify({ query: ANON_LOGIN_DOCUMENT, operationName: 'AnonLogin', variables: {} }),
        'utf8',
      ),
      signal: AbortSignal.any(signals),
    });
  } catch (error) {
    throw new TransientLoginError(`anonymous login: cannot reach ${options.apiUrl}: ${describe(error)}`, {
      cause: error,
    });
  }
  const text = response.body.toString('utf8');
  if (response.status >= 500 || response.status === 429) {
    throw new TransientLoginError(`anonymous login: ${options.apiUrl} answered HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TransientLoginError(
      `anonymous login: ${options.apiUrl} answered HTTP ${response.status} without JSON`,
    );
  }
  const token = (body as { data?: { anonLogin?: { token?: unknown } } } | null)?.data?.anonLogin?.token;
  if (typeof token === 'string' && token !== '') return token;
  const errors = (body as { errors?: { message?: unknown }[] } | null)?.errors;
  const reason = errors?.map((e) => String(e.message)).join('; ') ?? 'no token in the answer';
  throw new LoginFailedError(
    `anonymous login refused by ${options.apiUrl} (HTTP ${response.status}): ${reason}`,
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
