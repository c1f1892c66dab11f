/**
 * One HTTP request and its whole answer, over node:http / node:https: the daemon's one HTTP client
 * (the Matrix adapter's transport, src/adapters/matrix/http.ts, and the Kosmi anonymous login).
 * Not fetch: Node's fetch is undici, whose first use costs about 20 MiB of RSS for the life of the
 * process (its HTTP parser is WebAssembly); node:http is loaded anyway (ws uses it). Sockets are
 * kept alive by the global agents (their default since Node 19). Redirects are not followed and no
 * Accept-Encoding is sent, so an answer is never compressed.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface HttpExchange {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | undefined;
  /** Ends the request, whatever stage it is in (connecting, sending, reading the answer). */
  readonly signal: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Rejects on a network error, an abort (with the signal's reason) or an answer cut off before its
 * end; any status resolves.
 */
export function httpExchange(url: URL, options: HttpExchange): Promise<HttpAnswer> {
  const transport = transportFor(url);
  const { method, signal } = options;
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(options.body.byteLength);
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const req = transport.request(url, { method, headers, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
      // The server or an abort closed the connection before the answer was complete.
      res.on('close', () => {
        if (!res.complete) reject(signal.aborted ? abortReason(signal) : new Error('answer cut off'));
      });
    });
    req.on('error', (error) => reject(signal.aborted ? abortReason(signal) : error));
    req.end(options.body);
  });
}

/** node:http or node:https, for the URL's scheme. */
export function transportFor(url: URL): typeof http | typeof https {
  return url.protocol === 'https:' ? https : http;
}

/** The signal's reason when it is an Error, else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}
