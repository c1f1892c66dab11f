import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumArgs, DEFAULT_CHROMIUM_PATH } from '../../src/auth/chromium.js';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { daemonConfig, inoutGateway, ircAccount } from '../helpers/daemon-config.js';

/** Screenshots land here (gitignored), at stable names so a person can look at them after a run. */
const OUTPUT_DIR = path.resolve(import.meta.dirname, '..', '..', 'test-output');
/** The page polls every 3 s; an IRC reconnect waits up to 8 s of backoff after a short outage. */
const PAGE_UPDATE_TIMEOUT_MS = 20_000;
const RECONNECT_TIMEOUT_MS = 45_000;

/**
 * GET / on general.http_listen, in Debian's Chromium (issue 10 §2): the built daemon between two
 * ngircd servers; the page follows one server going away and coming back by itself, shows no
 * secret and no message text, and runs under its strict CSP without a violation.
 */
describe('e2e: the status page', () => {
  let serverA: NgircdServer;
  let serverB: NgircdServer;
  let daemon: Daemon;
  let alice: TestIrcClient;
  let browser: Browser;
  let page: Page;
  let healthPort: number;
  const consoleProblems: string[] = [];
  const serverPassword = `pw-${uniqueName('secret')}`;
  const channelA = `#${uniqueName('status')}`;
  // Channel names come from other networks: this one is HTML that would load an image if the page
  // ever parsed data as markup. (An IRC channel name may hold anything but space, comma and BEL.)
  const channelB = `#<img/src=x/onerror=alert(1)>${uniqueName('b')}`;
  const relayA = uniqueName('sa');
  const relayB = uniqueName('sb');
  const firstText = `first-${uniqueName('text')}`;
  const outageText = `outage-${uniqueName('text')}`;

  const cardOf = (account: string, state?: string): string =>
    `article.account[data-account="${account}"]` + (state === undefined ? '' : `[data-state="${state}"]`);
  const healthz = async (): Promise<{ text: string; json: HealthJson }> => {
    const text = await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).text();
    return { text, json: JSON.parse(text) as HealthJson };
  };
  const screenshot = async (name: string): Promise<void> => {
    const file = path.join(OUTPUT_DIR, name);
    await page.screenshot({ path: file, fullPage: true });
    process.stdout.write(`status page screenshot: ${file}\n`);
  };

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    [serverA, serverB] = await Promise.all([startNgircd({ password: serverPassword }), startNgircd()]);
    alice = await connectIrcClient({
      port: serverA.port,
      nick: uniqueName('alice'),
      channels: [channelA],
      password: serverPassword,
    });
    healthPort = await freePort();
    daemon = startDaemon({
      config: daemonConfig({
        general: { http_listen: `127.0.0.1:${healthPort}` },
        accounts: {
          'irc.a': ircAccount(serverA.port, relayA, { password: serverPassword }),
          'irc.b': ircAccount(serverB.port, relayB),
        },
        gateways: [
          inoutGateway('status-e2e', [
            ['irc.a', channelA],
            ['irc.b', channelB],
          ]),
        ],
      }),
    });
    await alice.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(' JOIN '), 20_000);
    await daemon.waitForLog((l) => l.account === 'irc.b' && l.msg === 'joined');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH,
      headless: true,
      args: chromiumArgs(),
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleProblems.push(m.text());
    });
    page.on('pageerror', (error) => consoleProblems.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    const code = await daemon?.stop('SIGTERM');
    await alice?.quit();
    await Promise.all([serverA?.stop(), serverB?.stop()]);
    if (daemon !== undefined) removeDir(daemon.dir);
    expect(code).toBe(0);
  });

  it('serves the page with a strict CSP that still runs its own script', async () => {
    const response = await page.goto(`http://127.0.0.1:${healthPort}/`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['x-content-type-options']).toBe('nosniff');
    const csp = headers['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: PAGE_UPDATE_TIMEOUT_MS });
    expect(await page.locator('meta[name="viewport"]').count()).toBe(1);
    // Nothing but the relay itself was asked for anything.
    const requested = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    for (const url of requested) expect(url.startsWith(`http://127.0.0.1:${healthPort}/`)).toBe(true);
  });

  it('shows both accounts connected and the gateway with its channels', async () => {
    await page.waitForSelector(cardOf('irc.a', 'connected'), { timeout: PAGE_UPDATE_TIMEOUT_MS });
    await page.waitForSelector(cardOf('irc.b', 'connected'), { timeout: PAGE_UPDATE_TIMEOUT_MS });
    const gateway = page.locator('article.gateway[data-gateway="status-e2e"]');
    await expect
      .poll(() => gateway.locator('li.endpoint .channel').allTextContents())
      .toEqual([channelA, channelB]);
    // The hostile channel name is text, not markup.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#overall').getAttribute('data-status')).toBe('ok');
    expect(await page.locator('#version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await page.locator('#store').textContent()).toBe('durable');
  });

  it('counts a relayed message per direction', async () => {
    await alice.say(channelA, firstText);
    await waitFor(async () => (await healthz()).json.traffic.directions.length > 0, {
      what: 'the relayed message in /healthz',
    });
    const { json } = await healthz();
    expect(json.traffic).toEqual({
      window_seconds: 3600,
      directions: [{ from: 'irc.a', to: 'irc.b', messages: 1 }],
    });
    await page.waitForSelector('#traffic li[data-from="irc.a"][data-to="irc.b"]', {
      timeout: PAGE_UPDATE_TIMEOUT_MS,
    });
    expect(await page.locator('#traffic li .count').textContent()).toBe('1');
  });

  it('follows a server going away and coming back, and shows the waiting message meanwhile', async () => {
    await serverB.stop();
    await page.waitForSelector(`${cardOf('irc.b')}:not([data-state="connected"])`, {
      timeout: PAGE_UPDATE_TIMEOUT_MS,
    });
    expect(await page.locator('#overall').getAttribute('data-status')).toBe('degraded');
    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(health.status).toBe(503); // the machine interface is unchanged
    const forPage = await fetch(`http://127.0.0.1:${healthPort}/status.json`);
    expect(forPage.status).toBe(200); // the page's copy: degraded is an answer, not an error
    expect(((await forPage.json()) as HealthJson).status).toBe('degraded');
    await alice.say(channelA, outageText);
    await page.waitForSelector(`#queue-rows tr[data-account="irc.b"].waiting`, {
      timeout: PAGE_UPDATE_TIMEOUT_MS,
    });
    const waiting = (await healthz()).json.queues.find((q) => q.account === 'irc.b');
    expect(waiting?.depth).toBe(1);
    expect(Date.parse(waiting?.oldest_enqueued_at ?? '')).toBeGreaterThan(0);
    await screenshot('status-page-degraded.png');

    await serverB.start();
    await page.waitForSelector(cardOf('irc.b', 'connected'), { timeout: RECONNECT_TIMEOUT_MS });
    await page.waitForSelector(`#queue-rows tr[data-account="irc.b"]:not(.waiting)`, {
      timeout: PAGE_UPDATE_TIMEOUT_MS,
    });
    await page.waitForSelector('#overall[data-status="ok"]', { timeout: PAGE_UPDATE_TIMEOUT_MS });
    await screenshot('status-page.png');
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot('status-page-phone.png');
  });

  it('shows no secret and no message text, and the CSP was never violated', async () => {
    const html = await page.content();
    const { text } = await healthz();
    for (const document of [html, text]) {
      expect(document).not.toContain(serverPassword);
      expect(document).not.toContain(firstText);
      expect(document).not.toContain(outageText);
    }
    expect(consoleProblems).toEqual([]);
  });
});

interface HealthJson {
  status: string;
  traffic: { window_seconds: number; directions: { from: string; to: string; messages: number }[] };
  queues: { account: string; channel: string; depth: number; oldest_enqueued_at: string | null }[];
}
