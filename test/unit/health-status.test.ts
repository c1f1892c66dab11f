import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '../../src/health/page.js';
import { STATUS_PAGE_SCRIPT } from '../../src/health/page-script.js';
import { startHealthServer, type HealthServer } from '../../src/health/server.js';
import { buildStatus, type HealthSource } from '../../src/health/status.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function source(overrides: Partial<HealthSource> = {}): HealthSource {
  return {
    durable: () => true,
    accounts: () => [
      {
        account: 'kosmi.main',
        status: { state: 'connected', since: new Date(T0 - 60_000) },
        queueDepth: 0,
        protocol: 'kosmi',
        channels: ['https://app.kosmi.io/room/@relay'],
        details: { tokenExpiresAt: new Date(T0 + 30 * 86_400_000) },
      },
      {
        account: 'matrix.hs',
        status: { state: 'disconnected', since: new Date(T0 - 5_000), reason: 'sync failed: 502' },
        queueDepth: 2,
        protocol: 'matrix',
        channels: ['!room:hs.test'],
        details: { hasRefreshToken: false },
      },
    ],
    queues: () => [
      {
        account: 'matrix.hs',
        channel: '!room:hs.test',
        depth: 2,
        delivered: 7,
        dropped: 1,
        oldestEnqueuedAt: T0 - 42_500,
      },
      {
        account: 'kosmi.main',
        channel: 'https://app.kosmi.io/room/@relay',
        depth: 0,
        delivered: 3,
        dropped: 0,
      },
    ],
    counters: () => ({ received: 10, relayed: 10, echoes: 0 }),
    gateways: () => [
      {
        name: 'main',
        endpoints: [
          { account: 'kosmi.main', channel: 'https://app.kosmi.io/room/@relay', direction: 'inout' },
          { account: 'matrix.hs', channel: '!room:hs.test', direction: 'out' },
        ],
      },
    ],
    traffic: () => [{ from: 'kosmi.main', to: 'matrix.hs', messages: 10 }],
    trafficWindowMs: 3_600_000,
    ...overrides,
  };
}

const meta = { version: '1.2.3', startedAt: new Date(T0 - 3_723_400), now: new Date(T0) };

describe('buildStatus', () => {
  it('keeps the fields of issue 2 and adds what the status page shows', () => {
    const { healthy, body } = buildStatus(source(), meta);
    expect(healthy).toBe(false);
    expect(body).toEqual({
      status: 'degraded',
      accounts: {
        'kosmi.main': {
          state: 'connected',
          since: '2026-01-01T11:59:00.000Z',
          queue_depth: 0,
          protocol: 'kosmi',
          channels: ['https://app.kosmi.io/room/@relay'],
          token_expires_at: '2026-01-31T12:00:00.000Z',
        },
        'matrix.hs': {
          state: 'disconnected',
          since: '2026-01-01T11:59:55.000Z',
          reason: 'sync failed: 502',
          queue_depth: 2,
          protocol: 'matrix',
          channels: ['!room:hs.test'],
          has_refresh_token: false,
        },
      },
      version: '1.2.3',
      started_at: '2026-01-01T10:57:56.600Z',
      uptime_seconds: 3723,
      generated_at: '2026-01-01T12:00:00.000Z',
      durable: true,
      gateways: [
        {
          name: 'main',
          endpoints: [
            { account: 'kosmi.main', channel: 'https://app.kosmi.io/room/@relay', direction: 'inout' },
            { account: 'matrix.hs', channel: '!room:hs.test', direction: 'out' },
          ],
        },
      ],
      queues: [
        {
          account: 'matrix.hs',
          channel: '!room:hs.test',
          depth: 2,
          oldest_enqueued_at: '2026-01-01T11:59:17.500Z',
          oldest_age_seconds: 42,
          delivered: 7,
          dropped: 1,
        },
        {
          account: 'kosmi.main',
          channel: 'https://app.kosmi.io/room/@relay',
          depth: 0,
          oldest_enqueued_at: null,
          oldest_age_seconds: null,
          delivered: 3,
          dropped: 0,
        },
      ],
      traffic: { window_seconds: 3600, directions: [{ from: 'kosmi.main', to: 'matrix.hs', messages: 10 }] },
    });
  });

  it('says whether the store is durable once the app tells it', () => {
    expect(buildStatus(source({ durable: () => true }), meta).body.durable).toBe(true);
    expect(buildStatus(source({ durable: () => false }), meta).body.durable).toBe(false);
  });
});

describe('status page', () => {
  it('allows exactly its own inline script by hash, and nothing from elsewhere', () => {
    const hash = createHash('sha256').update(STATUS_PAGE_SCRIPT).digest('base64');
    expect(STATUS_PAGE_CSP).toContain(`script-src 'sha256-${hash}'`);
    expect(STATUS_PAGE_HTML).toContain(`<script>${STATUS_PAGE_SCRIPT}</script>`);
    expect(STATUS_PAGE_CSP).not.toMatch(/unsafe|\*|https?:/);
    expect(STATUS_PAGE_HTML).not.toMatch(/(src|href)="(https?:)?\/\//);
    // Data goes in as text: the script never hands a string to the HTML parser.
    expect(STATUS_PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('health server routes', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the page with its headers, /healthz 503 when degraded, /status.json always 200', async () => {
    server = await startHealthServer('127.0.0.1:0', source(), pino({ level: 'silent' }), {
      version: '1.2.3',
      startedAt: new Date(T0),
      now: () => T0 + 1_000,
    });
    const base = `http://127.0.0.1:${server.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(STATUS_PAGE_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toBe(STATUS_PAGE_HTML);

    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(503);
    expect(healthz.headers.get('x-content-type-options')).toBe('nosniff');
    const statusJson = await fetch(`${base}/status.json`);
    expect(statusJson.status).toBe(200);
    expect(await statusJson.json()).toEqual(await healthz.json());

    expect((await fetch(`${base}/favicon.ico`)).status).toBe(204);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});
