/**
 * GET and HEAD /media/{server}/{media id}/{mac}/{file name} (docs/media.md): checks the mac, asks
 * the media sources (the Matrix accounts) for the file and streams it through, capped in size,
 * never stored or buffered whole.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ByteLimit, ByteLimitError } from './byte-limit.js';
import { contentDispositionOf, contentTypeOf, MEDIA_SECURITY_HEADERS } from './content-headers.js';
import { parseMediaPath, type MediaSigner } from './links.js';
import type { MediaDownload, MediaSource } from './types.js';

export type MediaHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface MediaHandlerOptions {
  readonly signer: MediaSigner;
  /** Asked in order; the first that has the file serves it. Read per request (accounts come and go). */
  readonly sources: () => readonly MediaSource[];
  /** general.media_max_mb in bytes. */
  readonly maxBytes: number;
  readonly logger: Logger;
}

/** Error answers carry no file: never sniffed, never cached. */
const ERROR_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-type': 'application/json',
};

function answer(
  response: ServerResponse,
  code: number,
  error: string,
  extra: Record<string, string> = {},
): void {
  response.writeHead(code, { ...ERROR_HEADERS, ...extra }).end(JSON.stringify({ error }));
}

type Found =
  | { readonly kind: 'found'; readonly download: MediaDownload }
  | { readonly kind: 'missing' }
  | { readonly kind: 'failed'; readonly error: unknown };

/** The first source that has the file; 'failed' when none has it and one of them failed. */
async function find(
  sources: readonly MediaSource[],
  server: string,
  mediaId: string,
  signal: AbortSignal,
): Promise<Found> {
  let failure: Found = { kind: 'missing' };
  for (const source of sources) {
    if (signal.aborted) break;
    try {
      const download = await source.download(server, mediaId, signal);
      if (download !== undefined) return { kind: 'found', download };
    } catch (error) {
      failure = { kind: 'failed', error };
    }
  }
  return failure;
}

export function createMediaHandler(options: MediaHandlerOptions): MediaHandler {
  const log = options.logger.child({ component: 'media' });

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, 'method not allowed', { allow: 'GET, HEAD' });
      return;
    }
    const path = parseMediaPath(request.url ?? '');
    // A malformed path and a wrong mac look the same from outside: nothing is here.
    if (path === undefined || !options.signer.verify(path.ref, path.mac)) {
      log.debug('media request with a malformed path or a wrong mac');
      answer(response, 404, 'not found');
      return;
    }
    const { server, mediaId } = path.ref;
    const sources = options.sources();
    if (sources.length === 0) {
      answer(response, 404, 'not found');
      return;
    }
    // The client going away aborts the download (and the homeserver request behind it).
    const upstream = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) upstream.abort();
    });
    const found = await find(sources, server, mediaId, upstream.signal);
    if (upstream.signal.aborted) {
      if (found.kind === 'found') found.download.body.destroy();
      return;
    }
    if (found.kind === 'missing') {
      answer(response, 404, 'not found');
      return;
    }
    if (found.kind === 'failed') {
      log.warn({ err: found.error, server, mediaId }, 'media download failed');
      answer(response, 502, 'the homeserver did not deliver the file');
      return;
    }
    const { download } = found;
    // A length that is not a byte count is no length (the body is then capped while streaming).
    const length = download.contentLength;
    const declared = length !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    if (declared !== undefined && declared > options.maxBytes) {
      download.body.destroy();
      upstream.abort();
      log.warn(
        { server, mediaId, bytes: declared, maxBytes: options.maxBytes },
        'media file over general.media_max_mb, not served',
      );
      answer(response, 413, 'the file is larger than this relay serves');
      return;
    }
    const contentType = contentTypeOf(download.contentType);
    response.writeHead(200, {
      ...MEDIA_SECURITY_HEADERS,
      'content-type': contentType,
      'content-disposition': contentDispositionOf(contentType, path.fileName),
      ...(declared === undefined ? {} : { 'content-length': String(declared) }),
    });
    if (request.method === 'HEAD') {
      download.body.destroy();
      upstream.abort();
      response.end();
      return;
    }
    const limit = new ByteLimit(options.maxBytes, declared);
    try {
      await pipeline(download.body, limit, response);
    } catch (error) {
      // Headers are out, so the answer cannot become 413 or 502: the pipeline has destroyed the
      // response, and the client sees a connection closed before the body's end.
      upstream.abort();
      if (error instanceof ByteLimitError && error.breach === 'over-cap')
        log.warn(
          { server, mediaId, maxBytes: options.maxBytes },
          'media file grew past general.media_max_mb, cut',
        );
      else if (error instanceof ByteLimitError)
        log.warn(
          { server, mediaId, bytes: limit.count, declared, breach: error.breach },
          'media file did not match its Content-Length, cut',
        );
      // The response closed under the pipeline: the client went away (a failing body is its own error).
      else if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
        log.debug({ server, mediaId }, 'media client went away');
      else log.warn({ err: error, server, mediaId }, 'media download failed while streaming');
    }
  };

  return (request, response) => {
    serve(request, response).catch((error: unknown) => {
      log.warn({ err: error }, 'media request failed');
      if (!response.headersSent) answer(response, 502, 'the homeserver did not deliver the file');
      else response.destroy();
    });
  };
}
