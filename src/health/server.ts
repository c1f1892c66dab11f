import http from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { AdapterStatus } from '../core/adapter.js';

export interface HealthSource {
  accounts(): { account: string; status: AdapterStatus; queueDepth: number }[];
  queues(): { account: string; channel: string; depth: number; delivered: number; dropped: number }[];
  counters(): { received: number; relayed: number; echoes: number };
  /** False while the store cannot write (messages are then kept in memory only). */
  durable(): boolean;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Splits "host:port" or "[::1]:port". */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (match === null) throw new Error(`not host:port: ${listen}`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port: Number(match[3]) };
}

/**
 * GET /healthz: every account's state, since when, and its queue depth; 200 when all accounts are
 * connected, else 503 (issue 2 §6). GET /metrics: Prometheus text, built at scrape time from the
 * same source so nothing is counted twice.
 */
export async function startHealthServer(
  listen: string,
  source: HealthSource,
  logger: Logger,
): Promise<HealthServer> {
  const log = logger.child({ component: 'health' });
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
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const accounts = source.accounts();
      const healthy = accounts.every((a) => a.status.state === 'connected');
      const body = {
        status: healthy ? 'ok' : 'degraded',
        durable: source.durable(),
        accounts: Object.fromEntries(
          accounts.map((a) => [
            a.account,
            {
              state: a.status.state,
              since: a.status.since.toISOString(),
              ...(a.status.reason === undefined ? {} : { reason: a.status.reason }),
              queue_depth: a.queueDepth,
            },
          ]),
        ),
      };
      response
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(body));
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
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
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
