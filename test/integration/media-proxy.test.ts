import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../src/health/server.js';
import type { HealthSource } from '../../src/health/status.js';
import {
  BYTES_PER_MB,
  createMedia,
  type Media,
  type MediaDownload,
  type MediaSource,
} from '../../src/media/index.js';
import { MEDIA_KEY_SECRET } from '../../src/media/links.js';
import { memoryLogger, type MemoryLogger } from '../helpers/memory-logger.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The /media/ route on the real health listener (docs/media.md), asked by a plain node:http client
 * without any token. The Matrix side is a test double of MediaSource that keeps its contract:
 * aborting the signal destroys the body (the Matrix download itself is tested with the Matrix
 * adapter).
 */

const MAX_MB = 6;
const CHUNK_BYTES = 64 * 1024;

const health: HealthSource = {
  durable: () => true,
  accounts: () => [],
  queues: () => [],
  counters: () => ({ received: 0, relayed: 0, echoes: 0 }),
  gateways: () => [],
  traffic: () => [],
  trafficWindowMs: 3_600_000,
};

interface FakeFile {
  readonly contentType?: string;
  /** Content-Length to announce; default: none. */
  readonly contentLength?: number;
  /** The body, or its size (filled with "a"). */
  readonly bytes: Buffer | number;
  /** Push this many bytes, then nothing more until aborted (a stalled homeserver). */
  readonly stallAfter?: number;
  /** Fail the body after this many bytes. */
  readonly failAfter?: number;
}

interface Call {
  readonly mediaId: string;
  readonly signal: AbortSignal;
  readonly body?: Readable;
  /** Bytes the handler pulled from the body. */
  pulled: number;
}

/** A homeserver's media as the relay's MediaSource sees it. */
class FakeSource implements MediaSource {
  readonly calls: Call[] = [];
  constructor(
    readonly files: Map<string, FakeFile | 'fail'>,
    readonly server = 'hs.test',
  ) {}

  download(server: string, mediaId: string, signal: AbortSignal): Promise<MediaDownload | undefined> {
    const file = server === this.server ? this.files.get(mediaId) : undefined;
    if (file === 'fail') {
      this.calls.push({ mediaId, signal, pulled: 0 });
      return Promise.reject(new Error('homeserver answered 500'));
    }
    if (file === undefined) {
      this.calls.push({ mediaId, signal, pulled: 0 });
      return Promise.resolve(undefined);
    }
    const total = typeof file.bytes === 'number' ? file.bytes : file.bytes.length;
    let offset = 0;
    const call: Call = {
      mediaId,
      signal,
      pulled: 0,
      body: new Readable({
        read() {
          if (file.stallAfter !== undefined && offset >= file.stallAfter) return;
          if (file.failAfter !== undefined && offset >= file.failAfter) {
            this.destroy(new Error('connection reset by the homeserver'));
            return;
          }
          if (offset >= total) {
            this.push(null);
            return;
          }
          const n = Math.min(CHUNK_BYTES, total - offset);
          const chunk =
            typeof file.bytes === 'number' ? Buffer.alloc(n, 0x61) : file.bytes.subarray(offset, offset + n);
          offset += n;
          call.pulled += n;
          this.push(chunk);
        },
      }),
    };
    signal.addEventListener('abort', () => call.body?.destroy(), { once: true });
    this.calls.push(call);
    return Promise.resolve({
      body: call.body as Readable,
      ...(file.contentType === undefined ? {} : { contentType: file.contentType }),
      ...(file.contentLength === undefined ? {} : { contentLength: file.contentLength }),
    });
  }
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The whole body arrived (false: the connection closed before its end). */
  readonly complete: boolean;
}

/** A plain HTTP request, no token, no retries. */
function request(url: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => undefined); // "aborted": reported through `complete` below
      response.on('close', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
          complete: response.complete,
        }),
      );
    });
    // The connection closed before any answer (a body that failed before its first byte).
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), complete: false }));
    req.end();
  });
}

describe('media proxy on the health listener', () => {
  let server: HealthServer | undefined;
  let logs: MemoryLogger;
  let media: Media;
  let secrets: Map<string, string>;
  let files: Map<string, FakeFile | 'fail'>;
  let source: FakeSource;
  let sources: MediaSource[];
  let base: string;

  const link = (mediaId: string, name = 'file.bin', server = 'hs.test'): string => {
    const made = media.links.link(`mxc://${server}/${mediaId}`, name);
    if (made === undefined) throw new Error('no link');
    return made;
  };

  beforeEach(async () => {
    logs = memoryLogger();
    secrets = new Map();
    files = new Map();
    source = new FakeSource(files);
    sources = [source];
    // The real wiring: links need the public URL (the port), the listener needs the handler.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    media = createMedia({
      publicUrl: `${base}/`,
      maxBytes: MAX_MB * BYTES_PER_MB,
      secrets: {
        secret(name, generate) {
          const value = secrets.get(name) ?? generate();
          secrets.set(name, value);
          return value;
        },
      },
      sources: () => sources,
      logger: logs.logger,
    });
    server = await startHealthServer(`127.0.0.1:${port}`, health, logs.logger, { media: media.handler });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('streams a multi-MB file byte for byte with every header', async () => {
    const bytes = randomBytes(5 * BYTES_PER_MB + 123);
    files.set('photo', { bytes, contentType: 'image/png', contentLength: bytes.length });
    const url = link('photo', 'holiday pic ü.png');
    expect(url.startsWith(`${base}/media/hs.test/photo/`)).toBe(true);
    const answer = await request(url);
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(true);
    expect(answer.body.length).toBe(bytes.length);
    expect(createHash('sha256').update(answer.body).digest('hex')).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    );
    expect(answer.headers).toMatchObject({
      'content-type': 'image/png',
      'content-length': String(bytes.length),
      'content-disposition': `inline; filename="holiday pic _.png"; filename*=UTF-8''holiday%20pic%20%C3%BC.png`,
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=31536000, immutable',
      'referrer-policy': 'no-referrer',
    });
    // The key was made once and kept in the store, never logged.
    const key = secrets.get(MEDIA_KEY_SECRET) ?? '';
    expect(key.length).toBeGreaterThan(40);
    expect(logs.text()).not.toContain(key);
  });

  it('downloads anything but safe media types, and defaults the type to application/octet-stream', async () => {
    files.set('page', { bytes: Buffer.from('<script>alert(1)</script>'), contentType: 'text/html' });
    files.set('vector', { bytes: Buffer.from('<svg/>'), contentType: 'image/svg+xml' });
    files.set('blob', { bytes: Buffer.from('xyz') });
    const page = await request(link('page', 'page.html'));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html');
    expect(page.headers['content-disposition']).toBe(
      `attachment; filename="page.html"; filename*=UTF-8''page.html`,
    );
    expect(page.headers['content-security-policy']).toBe('sandbox');
    expect(page.headers['content-length']).toBeUndefined(); // none announced: chunked
    expect(page.body.toString()).toBe('<script>alert(1)</script>');
    expect((await request(link('vector', 'v.svg'))).headers['content-disposition']).toMatch(/^attachment;/);
    const blob = await request(link('blob', 'b'));
    expect(blob.headers['content-type']).toBe('application/octet-stream');
    expect(blob.headers['content-disposition']).toMatch(/^attachment;/);
  });

  it('answers 404 to a forged mac or a malformed path, without asking the homeserver', async () => {
    files.set('photo', { bytes: 10, contentType: 'image/png' });
    const good = new URL(link('photo', 'p.png'));
    const parts = good.pathname.split('/');
    const mac = parts[4] ?? '';
    const forged = [...parts];
    forged[4] = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const other = [...parts];
    other[3] = 'secret'; // a valid mac for another file does not open this one
    for (const path of [
      forged.join('/'),
      other.join('/'),
      '/media/',
      '/media/hs.test/photo',
      `/media/hs.test/photo/${mac}`,
      `/media/hs.test/ph.oto/${mac}/p.png`,
      `/media/hs.test/photo/${mac}/%ZZ`,
    ]) {
      const answer = await request(`${base}${path}`);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(source.calls).toEqual([]);
    expect((await request(good.href)).status).toBe(200);
  });

  it('leaves the other routes alone: /healthz and /status.json answer, unknown paths 404', async () => {
    const healthz = await request(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body.toString())).toHaveProperty('accounts');
    expect((await request(`${base}/status.json`)).status).toBe(200);
    expect((await request(`${base}/mediax/a`)).status).toBe(404);
    expect(source.calls).toEqual([]);
  });

  it('answers 413 when Content-Length is over the cap, without reading the body, with one log line', async () => {
    files.set('huge', { bytes: 7 * BYTES_PER_MB, contentLength: 7 * BYTES_PER_MB, contentType: 'video/mp4' });
    const answer = await request(link('huge', 'movie.mp4'));
    expect(answer.status).toBe(413);
    expect(source.calls[0]?.pulled).toBe(0);
    expect(source.calls[0]?.signal.aborted).toBe(true);
    expect(source.calls[0]?.body?.destroyed).toBe(true);
    const lines = logs.lines.filter((l) => l.msg.includes('media_max_mb'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, bytes: 7 * BYTES_PER_MB, maxBytes: MAX_MB * BYTES_PER_MB });
  });

  it('cuts a file that grows past the cap while streaming (the status is already 200)', async () => {
    files.set('growing', { bytes: 20 * BYTES_PER_MB, contentType: 'video/mp4' });
    const answer = await request(link('growing', 'movie.mp4'));
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(false);
    expect(answer.body.length).toBeLessThanOrEqual(MAX_MB * BYTES_PER_MB);
    await waitFor(() => source.calls[0]?.signal.aborted, { what: 'the upstream aborted' });
    expect(source.calls[0]?.body?.destroyed).toBe(true);
    expect(source.calls[0]?.pulled).toBeLessThan(20 * BYTES_PER_MB);
    await waitFor(() => logs.lines.some((l) => l.msg.includes('grew past')), { what: 'the log line' });
    expect(logs.lines.filter((l) => l.msg.includes('media_max_mb'))).toHaveLength(1);
  });

  it('cuts a body longer or shorter than its own Content-Length', async () => {
    files.set('liar', { bytes: 300_000, contentLength: 100_000 });
    files.set('short', { bytes: 100_000, contentLength: 300_000 });
    const liar = await request(link('liar'));
    expect(liar.complete).toBe(false);
    expect(liar.body.length).toBeLessThanOrEqual(100_000);
    const short = await request(link('short'));
    expect(short.complete).toBe(false);
    expect(short.body.length).toBeLessThanOrEqual(100_000);
  });

  it('answers HEAD with the headers and no body, and releases the download', async () => {
    files.set('photo', {
      bytes: 2 * BYTES_PER_MB,
      contentType: 'image/jpeg',
      contentLength: 2 * BYTES_PER_MB,
    });
    const answer = await request(link('photo', 'p.jpg'), 'HEAD');
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(0);
    expect(answer.headers).toMatchObject({
      'content-type': 'image/jpeg',
      'content-length': String(2 * BYTES_PER_MB),
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
    });
    expect(answer.headers['content-disposition']).toMatch(/^inline;/);
    expect(source.calls[0]?.signal.aborted).toBe(true);
    expect(source.calls[0]?.body?.destroyed).toBe(true);
    const post = await request(link('photo', 'p.jpg'), 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('aborts the upstream download when the client goes away', async () => {
    files.set('stalled', { bytes: 4 * BYTES_PER_MB, stallAfter: CHUNK_BYTES, contentType: 'video/webm' });
    const url = link('stalled', 'v.webm');
    const firstBytes = await new Promise<number>((resolve) => {
      const req = http.get(url, { agent: false }, (response) => {
        response.on('error', () => undefined); // "aborted": we closed it
        response.once('data', (chunk: Buffer) => {
          resolve(chunk.length);
          req.destroy(); // the viewer closes the tab
        });
      });
      req.on('error', () => resolve(0));
    });
    expect(firstBytes).toBeGreaterThan(0);
    await waitFor(() => source.calls[0]?.signal.aborted, { what: 'the upstream aborted' });
    expect(source.calls[0]?.body?.destroyed).toBe(true);
    expect(logs.at('warn')).toEqual([]);
  });

  it('answers 404 when no source has the file, 502 with one log line when the homeserver failed', async () => {
    expect((await request(link('unknown'))).status).toBe(404);
    files.set('broken', 'fail');
    const broken = await request(link('broken'));
    expect(broken.status).toBe(502);
    expect(logs.at('warn').filter((l) => l.msg === 'media download failed')).toHaveLength(1);
    files.set('reset', { bytes: 1 * BYTES_PER_MB, failAfter: CHUNK_BYTES });
    const reset = await request(link('reset'));
    expect(reset.complete).toBe(false);
    expect(reset.body.length).toBeLessThan(BYTES_PER_MB);
    await waitFor(() => logs.lines.some((l) => l.msg === 'media download failed while streaming'), {
      what: 'the log line',
    });
  });

  it('asks the sources in order, the first that has the file serves it; none at all: 404', async () => {
    const second = new FakeSource(new Map([['elsewhere', { bytes: Buffer.from('found') }]]));
    sources = [source, second];
    const answer = await request(link('elsewhere'));
    expect(answer.body.toString()).toBe('found');
    expect(source.calls.map((c) => c.mediaId)).toEqual(['elsewhere']);
    sources = [];
    expect((await request(link('elsewhere'))).status).toBe(404);
  });

  it('has no /media/ route without the media handler (no public_url)', async () => {
    const bare = await startHealthServer('127.0.0.1:0', health, logs.logger);
    try {
      files.set('photo', { bytes: 10 });
      const path = new URL(link('photo')).pathname;
      expect((await request(`http://127.0.0.1:${bare.port}${path}`)).status).toBe(404);
      expect(source.calls).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});
