import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthz, removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import {
  daemonConfig,
  inoutGateway,
  ircAccount,
  kosmiAccount,
  matrixAccount,
} from '../helpers/daemon-config.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startHomeserver, type MatrixHomeserver } from '../helpers/matrix-homeserver/index.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const MATRIX_PASSWORD = 'ledger-kill9-password';
const LINES = 300;
const KILL_AT_KOSMI = 100;
/** Slow enough that the whole burst is read long before Kosmi has it all. */
const KOSMI_RATE_PER_SECOND = 20;

/**
 * Issue 7 §4.1: kill -9 in the middle of a burst. IRC (ngircd, flood penalties off by the helper)
 * -> Matrix (emulator answering 503 on every /send, its /sync working, so the account stays
 * connected and the 300 pieces wait in the Matrix queue) and -> Kosmi (emulator, rate-limited).
 */
describe('e2e ledger: SIGKILL mid-burst loses nothing', () => {
  let ngircd: NgircdServer;
  let hs: MatrixHomeserver;
  let kosmi: KosmiEmulator;
  let alice: TestIrcClient;
  let daemon: Daemon | undefined;
  let relayId: string;
  let healthPort: number;
  let config: string;
  const dir = tempDataDir();
  const channel = `#${uniqueName('k9')}`;
  const alias = `#${uniqueName('k9')}:localhost`;
  const room = `@${uniqueName('k9')}`;
  const ircNick = uniqueName('relay');
  const lines = Array.from({ length: LINES }, (_, i) => `kill9 line ${String(i + 1).padStart(3, '0')}`);

  const strip = (body: string): string => body.slice(body.indexOf('> ') + 2);
  const onKosmi = (): string[] =>
    kosmi
      .messages(room)
      .map((m) => m.body)
      .filter((b) => b.includes('> kill9 line '))
      .map(strip);
  const onMatrix = (): string[] =>
    hs
      .messagesFrom(relayId, alias)
      .map((c) => String(c.body))
      .filter((b) => b.includes('> kill9 line '))
      .map(strip);

  beforeAll(async () => {
    [ngircd, hs, kosmi] = await Promise.all([
      startNgircd(),
      startHomeserver(),
      startKosmiEmulator({ rooms: [room] }),
    ]);
    relayId = hs.registerUser(uniqueName('mrelay'), MATRIX_PASSWORD, 'Relay');
    const carolId = hs.registerUser(uniqueName('carol'), 'carol-pw', 'Carol');
    hs.createRoom({ creator: carolId, alias });
    alice = await connectIrcClient({ port: ngircd.port, nick: uniqueName('alice'), channels: [channel] });
    healthPort = await freePort();
    config = daemonConfig({
      general: { http_listen: `127.0.0.1:${healthPort}` },
      accounts: {
        'irc.net': ircAccount(ngircd.port, ircNick),
        'matrix.home': matrixAccount(hs.url, relayId, 'MATRIX_PASSWORD', { sync_timeout_seconds: 5 }),
        'kosmi.main': kosmiAccount(kosmi, {
          send_rate_per_second: KOSMI_RATE_PER_SECOND,
          send_burst: 1,
        }),
      },
      gateways: [
        inoutGateway('k9', [
          ['irc.net', channel],
          ['matrix.home', alias],
          ['kosmi.main', room],
        ]),
      ],
    });
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await alice?.quit();
    await Promise.all([ngircd?.stop(), hs?.close(), kosmi?.close()]);
    removeDir(dir);
  });

  const start = async (): Promise<Daemon> => {
    const started = startDaemon({ config, dir, env: { MATRIX_PASSWORD } });
    daemon = started;
    await waitFor(async () => (await healthz(healthPort).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what: 'every account connected',
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- daemon ---\n${started.output().slice(-4000)}`);
    });
    await waitFor(() => kosmi.listeners(room).length === 1, { what: 'Kosmi relay subscribed' });
    return started;
  };

  it('all 300 arrive on Matrix (none twice) and on Kosmi (at most one twice), in order', async () => {
    const first = await start();
    await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' JOIN '), 20_000);
    const loginsBefore = hs.auth.counters.loginAttempts;
    hs.failWith(503, { path: /\/send\//, keepOpen: true });

    const burstStarted = Date.now();
    for (const line of lines) await alice.say(channel, line);
    // Every line read and in the store: all 300 wait in the Matrix queue (no send succeeds).
    await waitFor(async () => (await healthz(healthPort)).accounts['matrix.home']?.queue_depth === LINES, {
      timeoutMs: 30_000,
      what: 'all 300 lines in the Matrix queue',
    });
    const readMs = Date.now() - burstStarted;
    await waitFor(() => onKosmi().length >= KILL_AT_KOSMI, { timeoutMs: 30_000, what: '100 on Kosmi' });
    first.process.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const atKill = onKosmi().length;
    expect(atKill).toBeLessThan(LINES); // the kill really was mid-burst
    expect(onMatrix()).toEqual([]);

    const second = await start();
    await second.waitForLog((l) => l.msg === 'resuming delivery from the store' && l.channel === alias);
    hs.clearFaults(); // the homeserver recovers
    await waitFor(() => new Set(onKosmi()).size === LINES, { timeoutMs: 60_000, what: 'all 300 on Kosmi' });
    await waitFor(() => onMatrix().length >= LINES, { timeoutMs: 60_000, what: 'all 300 on Matrix' });

    expect(onMatrix()).toEqual(lines);
    const kosmiLines = onKosmi();
    expect(kosmiLines.filter((b, i) => kosmiLines.indexOf(b) === i)).toEqual(lines);
    expect(kosmiLines.length - LINES).toBeLessThanOrEqual(1);
    // The session file kept the device and token: no new login, so the same transaction ids
    // (from the persisted piece ids) would have been deduplicated by the homeserver.
    expect(hs.auth.counters.loginAttempts).toBe(loginsBefore);
    expect(hs.devices(relayId)).toHaveLength(1);
    process.stdout.write(
      `kill9: burst read in ${readMs} ms, Kosmi had ${atKill} at the kill, ${kosmiLines.length - LINES} twice\n`,
    );
  }, 180_000);
});
