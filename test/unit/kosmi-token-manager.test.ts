import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoginFailedError } from '../../src/auth/errors.js';
import { writeTokenCache } from '../../src/auth/token-cache.js';
import { KosmiTokenManager, MIN_RENEW_INTERVAL_MS, renewalTime } from '../../src/auth/token-manager.js';
import { decodeJwt } from '../../src/auth/jwt.js';
import { kosmiAccountSchema } from '../../src/config/kosmi.js';
import { fakeKosmiJwt } from '../helpers/kosmi-jwt.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const DAY_S = 86_400;

function setup(
  options: {
    email?: string;
    lifetimeSeconds?: number;
    now?: () => number;
    /** The issuing server's clock minus ours, in seconds. */
    skewSeconds?: number;
  } = {},
) {
  const dataDir = tempDataDir();
  const { logger, lines, text } = memoryLogger();
  const settings = kosmiAccountSchema.parse(
    options.email === undefined ? {} : { email: options.email, password: 'secret-pw' },
  );
  const issued: string[] = [];
  const manager = new KosmiTokenManager({
    account: 'kosmi.main',
    settings,
    dataDir,
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
    login: () => {
      const token = fakeKosmiJwt({
        lifetimeSeconds: options.lifetimeSeconds ?? 364 * DAY_S,
        issuedAt: Math.floor((options.now?.() ?? Date.now()) / 1000) + (options.skewSeconds ?? 0),
      });
      issued.push(token);
      return Promise.resolve(token);
    },
  });
  const cacheFile = path.join(dataDir, 'kosmi_token_cache.json');
  const messages = (): string[] => lines.map((l) => String(l.msg));
  return { manager, issued, cacheFile, lines, messages, text };
}

async function seed(cacheFile: string, token: string, email: string): Promise<void> {
  const claims = decodeJwt(token);
  await writeTokenCache(cacheFile, {
    token,
    email,
    expiresAt: new Date((claims?.exp ?? 0) * 1000),
    savedAt: new Date(),
  });
}

describe('kosmi token manager: startup cases (issue 3 §3)', () => {
  it('no cache: logs in and caches the token', async () => {
    const t = setup({ email: 'me@example.org' });
    const info = await t.manager.getToken();
    expect(t.issued).toHaveLength(1);
    expect(info.token).toBe(t.issued[0]);
    expect(t.messages()).toContain('No cached token found, performing authentication...');
    expect(t.messages()).toContain('Token cached (expires in 8736h)');
    expect(JSON.parse(await fs.readFile(t.cacheFile, 'utf8'))).toMatchObject({
      token: t.issued[0],
      email: 'me@example.org',
    });
  });

  it('valid cache with the same email: uses it, no login', async () => {
    const t = setup({ email: 'me@example.org' });
    const token = fakeKosmiJwt({ issuedAt: Math.floor(Date.now() / 1000) - DAY_S });
    await seed(t.cacheFile, token, 'Me@Example.org');
    expect((await t.manager.getToken()).token).toBe(token);
    expect(await t.manager.getToken()).toMatchObject({ token });
    expect(t.issued).toHaveLength(0);
    expect(t.messages()).toContain('Using cached token (expires in 8712h)');
  });

  it('cache inside the refresh window: logs in again', async () => {
    const t = setup({ email: 'me@example.org' });
    const token = fakeKosmiJwt({ issuedAt: Math.floor(Date.now() / 1000) - 360 * DAY_S });
    await seed(t.cacheFile, token, 'me@example.org');
    const info = await t.manager.getToken();
    expect(info.token).not.toBe(token);
    expect(t.issued).toHaveLength(1);
    const exp = new Date((decodeJwt(token)?.exp ?? 0) * 1000).toISOString().replace('.000', '');
    expect(t.messages()).toContain(`Cached token expires soon (${exp}), will refresh`);
  });

  it('expired cache: logs in again', async () => {
    const t = setup();
    await seed(t.cacheFile, fakeKosmiJwt({ issuedAt: Math.floor(Date.now() / 1000) - 400 * DAY_S }), '');
    await t.manager.getToken();
    expect(t.issued).toHaveLength(1);
  });

  it('different email, anonymous to email, email to anonymous: logs in again', async () => {
    for (const [cached, configured] of [
      ['old@example.org', 'new@example.org'],
      ['', 'me@example.org'],
      ['me@example.org', undefined],
    ] as const) {
      const t = setup(configured === undefined ? {} : { email: configured });
      await seed(t.cacheFile, fakeKosmiJwt(), cached);
      await t.manager.getToken();
      expect(t.issued).toHaveLength(1);
      expect(t.messages().some((m) => m.startsWith('Cached token belongs to other credentials'))).toBe(true);
      expect(JSON.parse(await fs.readFile(t.cacheFile, 'utf8'))).toMatchObject({ email: configured ?? '' });
    }
  });

  it('corrupt cache: a warning, then a login; never a crash', async () => {
    const t = setup();
    await fs.writeFile(t.cacheFile, '{"token": ', { mode: 0o600 });
    await t.manager.getToken();
    expect(t.issued).toHaveLength(1);
    expect(t.lines.some((l) => l.level === 40 && String(l.msg).includes('token cache unreadable'))).toBe(
      true,
    );
  });

  it('a cache that cannot be written: the token still works, an error is logged', async () => {
    const t = setup();
    await fs.mkdir(path.join(t.cacheFile, 'x'), { recursive: true });
    await t.manager.getToken();
    expect(t.lines.some((l) => l.level === 50 && l.msg === 'cannot write the token cache')).toBe(true);
  });

  it('never logs the token or the password', async () => {
    const t = setup({ email: 'me@example.org' });
    await t.manager.getToken();
    await t.manager.invalidate(t.issued[0] ?? '');
    await t.manager.getToken();
    for (const token of t.issued) expect(t.text()).not.toContain(token);
    expect(t.text()).not.toContain('secret-pw');
  });
});

describe('kosmi token manager: renewal', () => {
  it('a 30-second token is renewed shortly before exp, not in a loop', async () => {
    let now = Date.now();
    const t = setup({ lifetimeSeconds: 30, now: () => now });
    const first = await t.manager.getToken();
    expect(first.renewAt.getTime() - first.expiresAt.getTime()).toBe(-7_500);
    expect(await t.manager.getToken()).toBe(first);
    now += 20_000;
    expect(await t.manager.getToken()).toBe(first);
    expect(t.issued).toHaveLength(1);
    now += 3_000;
    const second = await t.manager.getToken();
    expect(second.token).not.toBe(first.token);
    expect(await t.manager.getToken()).toBe(second);
    expect(t.issued).toHaveLength(2);
  });

  it('a cached 30-second token with 25 s left is reused after a restart', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 5;
    const t = setup({ now: () => (issuedAt + 5) * 1000 });
    const token = fakeKosmiJwt({ lifetimeSeconds: 30, issuedAt });
    await seed(t.cacheFile, token, '');
    expect((await t.manager.getToken()).token).toBe(token);
    expect(t.messages()).toContain('Using cached token (expires in 25s)');
  });

  it('renewal time: the window for long tokens, a quarter of the lifetime for short ones', () => {
    const window = 7 * DAY_S * 1000;
    expect(renewalTime({ iat: 0, exp: 364 * DAY_S }, window, 0).getTime()).toBe(357 * DAY_S * 1000);
    expect(renewalTime({ iat: 0, exp: 30 }, window, 0).getTime()).toBe(22_500);
    expect(renewalTime({ exp: 40 }, window, 0).getTime()).toBe(30_000);
  });

  it('concurrent callers share one login; a rejected token is never returned again', async () => {
    const t = setup();
    const [a, b] = await Promise.all([t.manager.getToken(), t.manager.getToken()]);
    expect(a).toBe(b);
    expect(t.issued).toHaveLength(1);
    await t.manager.invalidate(a.token);
    await expect(fs.access(t.cacheFile)).rejects.toThrow();
    const c = await t.manager.getToken();
    expect(c.token).not.toBe(a.token);
  });

  it('concurrent first callers with a valid cache read it once and log in zero times', async () => {
    const t = setup();
    const token = fakeKosmiJwt();
    await seed(t.cacheFile, token, '');
    const [a, b, c] = await Promise.all([t.manager.getToken(), t.manager.getToken(), t.manager.getToken()]);
    expect([a.token, b.token, c.token]).toEqual([token, token, token]);
    expect(t.issued).toHaveLength(0);
    expect(t.messages().filter((m) => m.startsWith('Using cached token'))).toHaveLength(1);
  });

  it('a fresh token already inside its window (clock skew) is renewed halfway to exp, not in a loop', async () => {
    let now = Date.now();
    // Issued "100 s ago" by the server's clock with a 120 s lifetime: 20 s left, and its renewal
    // time (exp - lifetime/4 = 10 s ago) already past when it arrives.
    const t = setup({ lifetimeSeconds: 120, skewSeconds: -100, now: () => now });
    const first = await t.manager.getToken();
    expect(first.renewAt.getTime() - now).toBe(10_000);
    for (let i = 0; i < 4; i++) {
      now += 2_000;
      expect(await t.manager.getToken()).toBe(first);
    }
    expect(t.issued).toHaveLength(1);
    now += 2_000;
    const second = await t.manager.getToken();
    expect(second.token).not.toBe(first.token);
    expect(await t.manager.getToken()).toBe(second);
    expect(t.issued).toHaveLength(2);
    const warnings = t.lines.filter(
      (l) => l.level === 40 && String(l.msg).includes('already inside its renewal window'),
    );
    expect(warnings).toHaveLength(1);
    // A token with less than twice the minimum left is still not renewed sooner than the minimum.
    const t2 = setup({ lifetimeSeconds: 104, skewSeconds: -100, now: () => now });
    const short = await t2.manager.getToken();
    expect(short.renewAt.getTime() - now).toBe(MIN_RENEW_INTERVAL_MS);
  });

  it('a login returning garbage or an expired token is a LoginFailedError', async () => {
    const dataDir = tempDataDir();
    const { logger } = memoryLogger();
    const settings = kosmiAccountSchema.parse({});
    for (const token of ['garbage', fakeKosmiJwt({ issuedAt: 1000, lifetimeSeconds: 10 })]) {
      const manager = new KosmiTokenManager({
        account: 'kosmi.x',
        settings,
        dataDir,
        logger,
        login: () => Promise.resolve(token),
      });
      await expect(manager.getToken()).rejects.toBeInstanceOf(LoginFailedError);
    }
  });
});
