import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserLogin } from '../../src/auth/browser-login.js';
import { LoginFailedError } from '../../src/auth/errors.js';
import { decodeJwt } from '../../src/auth/jwt.js';
import { KosmiTokenManager } from '../../src/auth/token-manager.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { kosmiSettings, tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { waitFor } from '../helpers/wait-for.js';

const USER = { email: 'relay@example.org', password: 'correct horse', displayName: 'Relay Bot' };

/** One Chromium a login started: its pid (playwright starts it detached: pid = process group id) and profile dir. */
interface Launched {
  readonly pid: number;
  readonly userDataDir: string | undefined;
}

function cmdline(pid: string | number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return ''; // gone meanwhile
  }
}

/** Every process of Chromium's group, orphans included; and every process still using its unique profile. */
function leftovers(launched: Launched): string[] {
  const found: string[] = [];
  try {
    process.kill(-launched.pid, 0);
    found.push(`process group ${launched.pid}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  if (launched.userDataDir !== undefined) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      if (cmdline(entry).includes(launched.userDataDir)) found.push(`pid ${entry} (${launched.userDataDir})`);
    }
  }
  return found;
}

/** Waits (bounded) until nothing of that Chromium is left: the group empty, no process on its profile. */
async function expectNoChromiumLeft(launched: Launched | undefined): Promise<void> {
  expect(launched?.pid).toBeGreaterThan(0);
  expect(launched?.userDataDir).toMatch(/./);
  await waitFor(() => leftovers(launched as Launched).length === 0, {
    timeoutMs: 5_000,
    what: `no Chromium left: ${leftovers(launched as Launched).join(', ')}`,
  });
}

describe('browser login with Debian Chromium against the emulated web app', () => {
  let emulator: KosmiEmulator;
  const launched: Launched[] = [];
  beforeAll(async () => {
    emulator = await startKosmiEmulator({ users: [USER], loginDelayMs: 200 });
  });
  afterAll(async () => {
    await emulator.close();
  });

  const login = (overrides: { password?: string; timeoutMs?: number; dataDir?: string } = {}) => {
    const settings = kosmiSettings(emulator);
    const log = memoryLogger();
    return {
      log,
      run: browserLogin({
        webUrl: emulator.webUrl,
        email: USER.email,
        password: overrides.password ?? USER.password,
        timeoutMs: overrides.timeoutMs ?? 30_000,
        selectors: settings.login_selectors,
        userAgent: settings.user_agent,
        dataDir: overrides.dataDir ?? tempDataDir(),
        account: 'kosmi.main',
        logger: log.logger,
        onBrowserPid: (pid) =>
          launched.push({ pid, userDataDir: /--user-data-dir=(\S+)/.exec(cmdline(pid))?.[1] }),
      }),
    };
  };

  it("logs in and returns the user's token, not the anonymous one the page held first", async () => {
    const anonBefore = emulator.logins.anon;
    const token = await login().run;
    const user = [...emulator.state.users.values()].find((u) => u.email === USER.email);
    expect(decodeJwt(token)?.sub).toBe(user?.id);
    expect(emulator.logins.email).toBe(1);
    expect(emulator.logins.anon).toBe(anonBefore + 1); // the page's first visit
    await expectNoChromiumLeft(launched.at(-1));
  });

  it("a page whose own anonymous login is slower than 5 s: still the user's token, never the late anonymous one", async () => {
    emulator.setAnonLoginDelayMs(6_000);
    emulator.setLoginDelayMs(2_000);
    try {
      const token = await login().run;
      const user = [...emulator.state.users.values()].find((u) => u.email === USER.email);
      expect(decodeJwt(token)?.sub).toBe(user?.id);
      await expectNoChromiumLeft(launched.at(-1));
    } finally {
      emulator.setAnonLoginDelayMs(0);
      emulator.setLoginDelayMs(200);
    }
  }, 40_000);

  it('a page that never gets an anonymous token fails with a clear error, not with a token it cannot tell apart', async () => {
    emulator.setAnonLoginDelayMs(Infinity);
    try {
      // The login's one deadline also covers starting Chromium and opening the page, which take
      // several seconds on a loaded machine: the budget leaves room for them, so the wait that
      // runs out is the one this test is about.
      const error = await login({ timeoutMs: 12_000 }).run.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoginFailedError);
      expect((error as Error).message).toMatch(
        /no anonymous token in localStorage within the 12s login timeout/,
      );
      await expectNoChromiumLeft(launched.at(-1));
    } finally {
      emulator.setAnonLoginDelayMs(0);
    }
  });

  it('a wrong password fails with an error quoting the page, saves a screenshot and the HTML, leaves no Chromium', async () => {
    const dataDir = tempDataDir();
    const { run, log } = login({ password: 'wrong', dataDir });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toBe(
      'Kosmi login failed: the page says "Invalid email or password" (check email and password)',
    );
    expect(existsSync(path.join(dataDir, 'kosmi-login-failure-kosmi.main.png'))).toBe(true);
    expect(readFileSync(path.join(dataDir, 'kosmi-login-failure-kosmi.main.html'), 'utf8')).toContain(
      'Invalid email or password',
    );
    expect(log.text()).not.toContain('wrong');
    await expectNoChromiumLeft(launched.at(-1));
  });

  it('a page that never shows the login button times out, saves a screenshot, leaves no Chromium', async () => {
    emulator.setShowLoginButton(false);
    try {
      const dataDir = tempDataDir();
      const started = Date.now();
      // As above: room in the one deadline for Chromium's start on a loaded machine.
      const error = await login({ timeoutMs: 12_000, dataDir }).run.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoginFailedError);
      expect((error as Error).message).toMatch(
        /could not click "Login".*not found within the 12s login timeout/,
      );
      expect(Date.now() - started).toBeLessThan(28_000);
      expect(existsSync(path.join(dataDir, 'kosmi-login-failure-kosmi.main.png'))).toBe(true);
      await expectNoChromiumLeft(launched.at(-1));
    } finally {
      emulator.setShowLoginButton(true);
    }
  });

  it('a missing Chromium is a clear LoginFailedError naming CHROMIUM_PATH', async () => {
    const settings = kosmiSettings(emulator);
    const error = await browserLogin({
      webUrl: emulator.webUrl,
      email: USER.email,
      password: USER.password,
      timeoutMs: 5_000,
      selectors: settings.login_selectors,
      userAgent: settings.user_agent,
      dataDir: tempDataDir(),
      account: 'kosmi.main',
      logger: memoryLogger().logger,
      env: { CHROMIUM_PATH: '/nonexistent/chromium' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toMatch(/not found at \/nonexistent\/chromium.*CHROMIUM_PATH/);
  });

  it('the token manager logs in by browser once, with the log lines users know, and caches the token', async () => {
    const dataDir = tempDataDir();
    const log = memoryLogger();
    const settings = kosmiSettings(emulator, { email: USER.email, password: USER.password });
    const before = emulator.logins.email;
    const manager = new KosmiTokenManager({ account: 'kosmi.main', settings, dataDir, logger: log.logger });
    const info = await manager.getToken();
    expect(emulator.logins.email).toBe(before + 1);
    const messages = log.lines.map((l) => l.msg);
    expect(messages).toContain('No cached token found, performing authentication...');
    expect(messages).toContain('Starting browser automation for authentication...');
    expect(messages).toContain('Token cached (expires in 8736h)');
    expect(JSON.parse(readFileSync(path.join(dataDir, 'kosmi_token_cache.json'), 'utf8'))).toMatchObject({
      token: info.token,
      email: USER.email,
    });
    expect(log.text()).not.toContain(info.token);
    expect(log.text()).not.toContain(USER.password);
    const again = new KosmiTokenManager({ account: 'kosmi.main', settings, dataDir, logger: log.logger });
    expect((await again.getToken()).token).toBe(info.token);
    expect(emulator.logins.email).toBe(before + 1);
  });
});
