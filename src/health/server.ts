import http from 'node:http';
import type { Logger } from 'pino';
import { parseHostPort } from '../config/host-port.js';
import { Counter, Gauge, Registry } from 'prom-client';
import type { MediaHandler } from '../media/handler.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './page.js';
import { buildStatus, type HealthSource } from './status.js';
import { packageVersion } from './version.js';

export type { HealthSource } from './status.js';

export interface HealthServerOptions {
  /** Shown as the uptime's start; default: when the server starts. */
  readonly startedAt?: Date;
  readonly version?: string;
  readonly now?: () => number;
  /** Serves /media/ (docs/media.md); absent (no general.public_url): /media/ is a 404 like any unknown path. */
  readonly media?: MediaHandler;
}

/** Sent with every answer: no answer is ever sniffed as another type, none is cached. */
const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Splits "host:port" or "[::1]:port" (general.http_listen, validated by the config schema). */
export function parseListen(listen: string): { host: string; port: number } {
  const address = parseHostPort(listen);
  if (address?.port === undefined) throw new Error(`not host:port: ${listen}`);
  return { host: address.host, port: address.port };
}

/**
 * GET /healthz: every account's state, since when, and its queue depth; 200 when all accounts are
 * connected, else 503 (issue 2 §6); plus what the status page shows (status.ts). GET /status.json:
 * the same, always 200. GET /: the status page (issue 10 §2), which reads /status.json. GET /metrics:
 * Prometheus text, built at scrape time from the same source so nothing is counted twice. GET and
 * HEAD /media/...: files posted on Matrix, when options.media is given (docs/media.md).
 */
export async function startHealthServer(
  listen: string,
  source: HealthSource,
  logger: Logger,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const log = logger.child({ component: 'health' });
  const now = options.now ?? Date.now;
  const startedAt = options.startedAt ?? new Date(now());
  const version = options.version ?? packageVersion();
  const registry = new Registry();
  const state = new Gauge({
    name: 'relay_account_connected',
    help: '1 when the account is connected',
    labelNames: ['account'],
    registers: [registry],
    collect() {
      for (const a of source.accounts())
        this.set({ account: a.account }, a.status.state === 'connected' ? 1 : 0);
    },
  });
  const depth = new Gauge({
    name: 'relay_queue_depth',
    help: 'messages waiting per destination channel',
    labelNames: ['account', 'channel'],
    registers: [registry],
    collect() {
      for (const q of source.queues()) this.set({ account: q.account, channel: q.channel }, q.depth);
    },
  });
  const delivered = new Counter({
    name: 'relay_messages_delivered_total',
    help: 'messages delivered per destination channel',
    labelNames: ['account', 'channel'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'relay_messages_dropped_total',
    help: 'messages dropped per destination channel (queue bounds or rejected)',
    labelNames: ['account', 'channel'],
    registers: [registry],
  });
  const received = new Counter({
    name: 'relay_messages_received_total',
    help: 'messages read from all networks',
    registers: [registry],
  });
  void state;
  void depth;

  const refreshCounters = (): void => {
    delivered.reset();
    dropped.reset();
    for (const q of source.queues()) {
      delivered.inc({ account: q.account, channel: q.channel }, q.delivered);
      dropped.inc({ account: q.account, channel: q.channel }, q.dropped);
    }
    received.reset();
    received.inc(source.counters().received);
  };

  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/media/') && options.media !== undefined) {
      options.media(request, response);
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz' || path === '/status.json') {
      const { healthy, body } = buildStatus(source, { version, startedAt, now: new Date(now()) });
      // /status.json is the same document, always 200: for the page, a degraded relay is an
      // answer, not a failed request (browsers log every 503 as an error).
      const code = healthy || path === '/status.json' ? 200 : 503;
      response
        .writeHead(code, { ...COMMON_HEADERS, 'content-type': 'application/json' })
        .end(JSON.stringify(body));
      return;
    }
    if (path === '/') {
      response
        .writeHead(200, {
          ...COMMON_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': STATUS_PAGE_CSP,
          'referrer-policy': 'no-referrer',
        })
        .end(STATUS_PAGE_HTML);
      return;
    }
    if (path === '/favicon.ico') {
      response.writeHead(204, COMMON_HEADERS).end(); // browsers ask; a 404 would only add noise
      return;
    }
    if (path === '/metrics') {
      refreshCounters();
      registry
        .metrics()
        .then((text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text))
        .catch((error: unknown) => {
          log.warn({ err: error }, 'metrics failed');
          response.writeHead(500).end();
        });
      return;
    }
    response
      .writeHead(404, { ...COMMON_HEADERS, 'content-type': 'application/json' })
      .end('{"error":"not found"}');
  });
  const { host, port } = parseListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  log.info({ host, port: boundPort }, 'health endpoint listening');
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
