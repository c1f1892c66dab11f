import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startHomeserver, type MatrixHomeserver } from '../helpers/matrix-homeserver/index.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  daemonConfig,
  inoutGateway,
  ircAccount,
  kosmiAccount,
  matrixAccount,
} from '../helpers/daemon-config.js';

const MATRIX_PASSWORD = 'e2e-matrix-password';

/**
 * Issue 4 §5, end to end: the built daemon relays Matrix (homeserver emulator) <-> IRC (ngircd)
 * <-> Kosmi (emulator) in one gateway, and heals a revoked Matrix token mid-run without losing or
 * reordering anything.
 */
describe('e2e: Matrix <-> IRC <-> Kosmi in one gateway', () => {
  let ngircd: NgircdServer;
  let hs: MatrixHomeserver;
  let kosmi: KosmiEmulator;
  let daemon: Daemon;
  let alice: TestIrcClient;
  let relayId: string;
  let carolId: string;
  const channel = `#${uniqueName('all')}`;
  const alias = `#${uniqueName('all')}:localhost`;
  const kosmiRoom = `@${uniqueName('all')}`;
  const ircNick = uniqueName('relay');

  const matrixBodies = (): string[] => hs.messagesFrom(relayId, alias).map((c) => String(c.body));
  const kosmiBodies = (): string[] => kosmi.messages(kosmiRoom).map((m) => m.body);
  const ircTexts = (): string[] => alice.messages.filter((m) => m.nick === ircNick).map((m) => m.text);

  beforeAll(async () => {
    [ngircd, hs, kosmi] = await Promise.all([
      startNgircd(),
      startHomeserver(),
      startKosmiEmulator({ rooms: [kosmiRoom] }),
    ]);
    relayId = hs.registerUser(uniqueName('mrelay'), MATRIX_PASSWORD, 'Relay');
    carolId = hs.registerUser(uniqueName('carol'), 'carol-pw', 'Carol');
    hs.createRoom({ creator: carolId, alias });
    alice = await connectIrcClient({ port: ngircd.port, nick: uniqueName('alice'), channels: [channel] });
    daemon = startDaemon({
      env: { MATRIX_PASSWORD },
      config: daemonConfig({
        accounts: {
          'irc.net': ircAccount(ngircd.port, ircNick),
          'matrix.home': matrixAccount(hs.url, relayId, 'MATRIX_PASSWORD', { sync_timeout_seconds: 5 }),
          'kosmi.main': kosmiAccount(kosmi, { send_rate_per_second: 200, send_burst: 200 }),
        },
        gateways: [
          inoutGateway('all', [
            ['irc.net', channel],
            ['matrix.home', alias],
            ['kosmi.main', kosmiRoom],
          ]),
        ],
      }),
    });
    await daemon.explain(async () => {
      await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' JOIN '), 20_000);
      await waitFor(() => hs.isJoined(relayId, alias), { timeoutMs: 20_000, what: 'Matrix relay joined' });
      await waitFor(() => kosmi.listeners(kosmiRoom).length > 0, {
        timeoutMs: 20_000,
        what: 'Kosmi relay subscribed',
      });
      await daemon.waitForLog((l) => l.account === 'matrix.home' && l.msg === 'connected');
    });
  });

  afterAll(async () => {
    const code = await daemon?.stop('SIGTERM');
    await alice?.quit();
    await Promise.all([ngircd?.stop(), hs?.close(), kosmi?.close()]);
    if (daemon !== undefined) removeDir(daemon.dir);
    expect(code).toBe(0);
  });

  it('relays each network to the two others, with the nick format and no echo', async () => {
    await alice.say(channel, 'hello from irc');
    await waitFor(() => matrixBodies().includes(`[irc] <${alice.nick}> hello from irc`), {
      what: 'IRC -> Matrix',
    });
    await waitFor(() => kosmiBodies().includes(`[irc] <${alice.nick}> hello from irc`), {
      what: 'IRC -> Kosmi',
    });

    hs.text(carolId, alias, 'hello from <matrix> & co');
    await waitFor(() => ircTexts().includes('[matrix] <Carol> hello from <matrix> & co'), {
      what: 'Matrix -> IRC',
    });
    await waitFor(() => kosmiBodies().includes('[matrix] <Carol> hello from <matrix> & co'), {
      what: 'Matrix -> Kosmi',
    });

    kosmi.postAs(kosmiRoom, 'dave', 'hello from kosmi');
    await waitFor(() => ircTexts().some((t) => t.endsWith('hello from kosmi') && t.startsWith('[kosmi] <')), {
      what: 'Kosmi -> IRC',
    });
    await waitFor(() => matrixBodies().some((b) => b.endsWith('hello from kosmi')), {
      what: 'Kosmi -> Matrix',
    });
    const formatted = hs
      .messagesFrom(relayId, alias)
      .find((c) => String(c.body).endsWith('hello from kosmi'));
    expect(formatted?.formatted_body).toMatch(/^\[kosmi\] &lt;<strong>.+<\/strong>&gt; hello from kosmi$/);

    // Marker round so late echoes would have arrived, then count: each message exactly once per network.
    await alice.say(channel, 'marker');
    await waitFor(
      () =>
        matrixBodies().some((b) => b.endsWith('marker')) && kosmiBodies().some((b) => b.endsWith('marker')),
    );
    expect(matrixBodies().filter((b) => b.includes('hello from')).length).toBe(2);
    expect(kosmiBodies().filter((b) => b.includes('hello from')).length).toBe(3); // dave's own + 2 relayed
    expect(ircTexts().filter((t) => t.includes('hello from')).length).toBe(2);
  });

  it('heals a revoked Matrix token with one login and loses nothing', async () => {
    const loginsBefore = hs.auth.counters.loginAttempts;
    hs.invalidateTokens(relayId, { softLogout: true });
    const lines = Array.from({ length: 20 }, (_, i) => `after revocation ${i + 1}`);
    for (const line of lines) await alice.say(channel, line);
    await waitFor(() => matrixBodies().filter((b) => b.includes('after revocation')).length === 20, {
      timeoutMs: 30_000,
      what: '20 lines on Matrix',
    });
    expect(matrixBodies().filter((b) => b.includes('after revocation'))).toEqual(
      lines.map((l) => `[irc] <${alice.nick}> ${l}`),
    );
    expect(hs.auth.counters.loginAttempts - loginsBefore).toBe(1);
    await daemon.waitForLog(
      (l) => l.msg === 'Matrix access token rejected (M_UNKNOWN_TOKEN), logging in again',
    );

    // And the Matrix side still reads: a message after the re-login reaches IRC and Kosmi.
    hs.text(carolId, alias, 'still relaying');
    await waitFor(() => ircTexts().includes('[matrix] <Carol> still relaying'), {
      what: 'Matrix -> IRC after re-login',
    });
    await waitFor(() => kosmiBodies().includes('[matrix] <Carol> still relaying'), {
      what: 'Matrix -> Kosmi after re-login',
    });
    expect(daemon.output()).not.toContain(MATRIX_PASSWORD);
  });

  it('edits from Matrix arrive as the change behind the edit marker, replies as a mention without their fallback', async () => {
    const original = hs.text(carolId, alias, 'tyop here');
    await waitFor(() => ircTexts().includes('[matrix] <Carol> tyop here'), { what: 'original on IRC' });
    hs.edit(carolId, alias, original, 'typo here');
    // One word changed: only that word, "…" where the unchanged rest was left out.
    await waitFor(() => ircTexts().includes('[matrix] <Carol> (edited) typo…'), { what: 'edit on IRC' });
    hs.reply(carolId, alias, original, 'answering myself');
    await waitFor(() => ircTexts().includes('[matrix] <Carol> Carol: answering myself'), {
      what: 'reply on IRC',
    });
    await waitFor(
      () => kosmiBodies().some((b) => b.startsWith('[matrix] <Carol>') && b.endsWith('answering myself')),
      {
        what: 'reply on Kosmi',
      },
    );
  });
});
