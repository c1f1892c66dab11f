/**
 * One HTTP POST and its whole answer, over node:http / node:https. Not fetch: Node's fetch is
 * undici, whose first use costs about 20 MiB of RSS for the life of the process (its HTTP parser is
 * WebAssembly), and the anonymous login is the only fetch the daemon made (issue 9 §2,
 * bench/results/memory.md); node:http is loaded anyway (ws and the Matrix adapter use it).
 * src/adapters/matrix/http.ts made the same move for the Matrix client.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpPostOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Ends the request, whatever stage it is in (connecting, sending, reading the answer). */
  readonly signal: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * Rejects on a network error, an abort (with the signal's reason) or an answer cut off before its
 * end. Redirects are not followed (an API endpoint that redirects a POST is misconfigured: the
 * caller sees the 3xx status). No Accept-Encoding is sent, so the answer is not compressed.
 */
export function httpPost(url: string, options: HttpPostOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const body = Buffer.from(options.body, 'utf8');
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const req = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...options.headers, 'Content-Length': String(body.byteLength) },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
        // The server or an abort closed the connection before the answer was complete.
        res.on('close', () => {
          if (!res.complete) reject(signal.aborted ? abortReason(signal) : new Error('answer cut off'));
        });
      },
    );
    req.on('error', (error) => reject(signal.aborted ? abortReason(signal) : error));
    req.end(body);
  });
}

function abortReason(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}
