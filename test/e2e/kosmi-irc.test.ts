import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const USER = { email: 'relay@example.org', password: 'e2e-kosmi-password', displayName: 'Relay Bot' };

/**
 * Issue 3 §5 end to end: the built daemon with an email Kosmi account (browser login with Debian's
 * Chromium against the emulator's page), ngircd, and the token cache across restarts.
 */
describe('e2e: Kosmi <-> IRC with an email account and the token cache', () => {
  let ngircd: NgircdServer;
  let kosmi: KosmiEmulator;
  let alice: TestIrcClient;
  let daemon: Daemon | undefined;
  const dir = tempDataDir();
  const channel = `#${uniqueName('k')}`;
  const room = `@${uniqueName('k')}`;
  const ircNick = uniqueName('relay');
  const cacheFile = path.join(dir, 'data', 'kosmi_token_cache.json');
  const config = (): string => `
[general]
data_dir = "./data"
remote_nick_format = "[{PROTOCOL}] <{NICK}> "

[irc.net]
server = "127.0.0.1:${ngircd.port}"
nick = "${ircNick}"

[kosmi.main]
email = "${USER.email}"
password = "\${KOSMI_PASSWORD}"
web_url = "${kosmi.webUrl}"
api_url = "${kosmi.apiUrl}"
ws_url = "${kosmi.wsUrl}"
send_rate_per_second = 200
send_burst = 200
login_timeout_seconds = 30

[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.net"
  channel = "${channel}"
  [[gateway.inout]]
  account = "kosmi.main"
  channel = "${kosmi.webUrl}/room/${room}"
`;
  const start = async (): Promise<Daemon> => {
    const started = startDaemon({ config: config(), dir, env: { KOSMI_PASSWORD: USER.password } });
    daemon = started;
    await started.waitForLog((l) => l.account === 'kosmi.main' && l.msg === 'connected', 40_000);
    await waitFor(() => kosmi.listeners(room).length === 1, {
      timeoutMs: 20_000,
      what: 'Kosmi relay subscribed',
    });
    await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' JOIN '), 20_000);
    return started;
  };
  const stop = async (): Promise<void> => {
    expect(await daemon?.stop()).toBe(0);
    await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' QUIT'), 10_000);
    alice.lines.length = 0;
  };
  const relayUserId = (): string | undefined =>
    [...kosmi.state.users.values()].find((u) => u.email === USER.email)?.id;
  const kosmiFromRelay = (): string[] => kosmi.messages(room, relayUserId()).map((m) => m.body);
  const ircFromRelay = (): string[] => alice.messages.filter((m) => m.nick === ircNick).map((m) => m.text);

  beforeAll(async () => {
    [ngircd, kosmi] = await Promise.all([
      startNgircd(),
      startKosmiEmulator({ rooms: [room], users: [USER] }),
    ]);
    alice = await connectIrcClient({ port: ngircd.port, nick: uniqueName('alice'), channels: [channel] });
  });
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await alice?.quit();
    await Promise.all([ngircd?.stop(), kosmi?.close()]);
    removeDir(dir);
  });

  it('logs in once by browser, relays both ways in the nick format, and never echoes its own Kosmi messages', async () => {
    const d = await start();
    expect(kosmi.logins.email).toBe(1);
    expect(d.logs().map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'No cached token found, performing authentication...',
        'Starting browser automation for authentication...',
        'Token cached (expires in 8736h)',
      ]),
    );
    expect(d.output()).not.toContain(USER.password);

    kosmi.postAs(room, 'dave', 'hello from kosmi');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> hello from kosmi');

    await alice.say(channel, 'hello from irc');
    await waitFor(() => kosmiFromRelay().includes(`[irc] <${alice.nick}> hello from irc`), {
      what: 'IRC -> Kosmi',
    });

    // The relay's own Kosmi message comes back on its newMessage subscription; it must not reach IRC.
    kosmi.postAs(room, 'dave', 'marker');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> marker');
    expect(ircFromRelay()).toEqual(['[kosmi] <dave> hello from kosmi', '[kosmi] <dave> marker']);
    const token = (JSON.parse(readFileSync(cacheFile, 'utf8')) as { token: string }).token;
    expect(d.output()).not.toContain(token);
  });

  it('a restart with a valid cache performs no login; token-status shows the cache', async () => {
    await stop();
    const anonBefore = kosmi.logins.anon;
    const d = await start();
    expect(kosmi.logins.email).toBe(1);
    expect(kosmi.logins.anon).toBe(anonBefore);
    expect(d.logs().some((l) => l.msg === 'Using cached token (expires in 8736h)')).toBe(true);
    kosmi.postAs(room, 'dave', 'after restart');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> after restart');

    const status = await runCli(['token-status', '--config', d.configPath], {
      cwd: dir,
      env: { KOSMI_PASSWORD: USER.password },
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^kosmi\.main: email=relay@example\.org saved_at=\S+Z expires_at=\S+Z left=873\dh \(valid\)$/m,
    );
  });

  it('deleting the cache makes the next start log in again; kosmi-login logs in on demand', async () => {
    await stop();
    rmSync(cacheFile);
    const d = await start();
    expect(kosmi.logins.email).toBe(2);
    expect(existsSync(cacheFile)).toBe(true);
    await alice.say(channel, 'still relaying');
    await waitFor(() => kosmiFromRelay().includes(`[irc] <${alice.nick}> still relaying`), {
      what: 'IRC -> Kosmi after re-login',
    });

    const login = await runCli(['kosmi-login', '--account', 'main', '--config', d.configPath], {
      cwd: dir,
      env: { KOSMI_PASSWORD: USER.password },
      timeoutMs: 60_000,
    });
    expect(login.code).toBe(0);
    expect(kosmi.logins.email).toBe(3);
  });

  it('dropping every Kosmi socket mid-burst loses nothing and keeps order', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
    const relayed = (): string[] =>
      kosmiFromRelay()
        .filter((b) => b.includes('> burst '))
        .map((b) => b.slice(b.indexOf('> ') + 2));
    const sending = (async () => {
      for (const line of burst) await alice.say(channel, line);
    })();
    await waitFor(() => relayed().length >= 8, { what: 'part of the burst on Kosmi' });
    expect(kosmi.dropAllSockets()).toBe(1);
    await sending;
    await waitFor(() => new Set(relayed()).size === burst.length, {
      timeoutMs: 30_000,
      what: 'the whole burst on Kosmi',
    });
    const bodies = relayed();
    expect(bodies.filter((b, i) => bodies.indexOf(b) === i)).toEqual(burst);
    expect(bodies.length - burst.length).toBeLessThanOrEqual(1); // at most the one in flight, at least once
  });

  it('a revoked token is renewed (one new browser login) and relaying goes on with nothing lost', async () => {
    const logins = kosmi.logins.email;
    const revokedJtis = kosmi.connections().map((c) => c.jti);
    expect(revokedJtis).toHaveLength(1);
    const mark = kosmi.inits.length;
    kosmi.revokeAllTokens({ closeConnections: true });
    await alice.say(channel, 'during renewal 1');
    await alice.say(channel, 'during renewal 2');
    await waitFor(() => kosmiFromRelay().includes(`[irc] <${alice.nick}> during renewal 2`), {
      timeoutMs: 40_000,
      what: 'IRC -> Kosmi after renewal',
    });
    const bodies = kosmiFromRelay().filter((b) => b.includes('during renewal'));
    expect(bodies.filter((b, i) => bodies.indexOf(b) === i)).toEqual([
      `[irc] <${alice.nick}> during renewal 1`,
      `[irc] <${alice.nick}> during renewal 2`,
    ]);
    expect(kosmi.logins.email).toBe(logins + 1);
    // The revoked token is never presented again at connection_init.
    const later = kosmi.inits.slice(mark);
    expect(later.length).toBeGreaterThanOrEqual(1);
    for (const init of later) expect(revokedJtis).not.toContain(init.jti);
    kosmi.postAs(room, 'dave', 'kosmi side still read');
    await alice.waitForMessage(
      (m) => m.nick === ircNick && m.text === '[kosmi] <dave> kosmi side still read',
    );
  });

  it('a 30-second token (the emulator closes a connection at its exp) keeps relaying across 35 s', async () => {
    await stop();
    rmSync(cacheFile);
    kosmi.setTokenLifetime(30);
    try {
      const d = await start();
      const logins = kosmi.logins.email;
      const startedAt = Date.now();
      const ticks: string[] = [];
      for (let i = 0; Date.now() - startedAt < 35_000 && i < 10; i++) {
        const tick = `tick ${i}`;
        ticks.push(tick);
        await alice.say(channel, tick);
        // 20 s: the tick that meets the renewal waits for a browser login, slow on a loaded machine.
        await waitFor(() => kosmiFromRelay().includes(`[irc] <${alice.nick}> ${tick}`), {
          timeoutMs: 20_000,
          what: `${tick} on Kosmi`,
        });
        kosmi.postAs(room, 'dave', `k${tick}`);
        await alice.waitForMessage((m) => m.nick === ircNick && m.text === `[kosmi] <dave> k${tick}`, 20_000);
        await waitFor(() => Date.now() - startedAt >= (i + 1) * 5_000, { timeoutMs: 6_000, intervalMs: 100 });
      }
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(35_000);
      const relayed = kosmiFromRelay().filter((b) => b.includes('> tick '));
      expect(relayed.filter((b, i) => relayed.indexOf(b) === i)).toEqual(
        ticks.map((x) => `[irc] <${alice.nick}> ${x}`),
      );
      // Renewed ahead of exp (a browser login each), switched seamlessly: never cut off at exp.
      expect(kosmi.logins.email).toBeGreaterThanOrEqual(logins + 1);
      expect(d.logs().some((l) => l.msg === 'reconnected with the renewed token')).toBe(true);
      expect(d.logs().some((l) => String(l.msg).includes('rejected the token'))).toBe(false);
    } finally {
      kosmi.setTokenLifetime(31_449_600);
    }
  }, 90_000);
});
