import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthz, removeDir, startDaemon, type Daemon, type LogLine } from '../helpers/daemon.js';
import { daemonConfig, inoutGateway, ircAccount, type Settings } from '../helpers/daemon-config.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 7 §4.2: longer than any shutdown flush; the guarantee is about this real gap. */
const RESTART_GAP_MS = 60_000;
const EXPIRED_MSG = "dropped waiting messages older than the queue's age limit";
/** ngircd runs without flood penalties (test/helpers/ngircd.ts), so the relay need not pace itself. */
const NO_FLOOD_CONTROL = { flood_rate: 0 };
const OVERFLOW_MSG = 'dropped the oldest waiting messages: queue full while the destination is unavailable';

/**
 * Issue 7 §4.2 and §4.3 with two ngircd servers: the relay reaches server B through a TCP gate,
 * closed while lines from server A wait for B, so the test decides when B is back.
 */
describe('e2e ledger: what waits survives a restart, within its bounds', () => {
  let serverA: NgircdServer;
  let serverB: NgircdServer;
  let alice: TestIrcClient;
  let carol: TestIrcClient;
  let bob: TestIrcClient;
  let gate: TcpGate | undefined;
  let daemon: Daemon | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    [serverA, serverB] = await Promise.all([startNgircd(), startNgircd()]);
    alice = await connectIrcClient({ port: serverA.port, nick: uniqueName('alice') });
    carol = await connectIrcClient({ port: serverA.port, nick: uniqueName('carol') });
    bob = await connectIrcClient({ port: serverB.port, nick: uniqueName('bob') });
  });

  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await gate?.close();
    gate = undefined;
    if (dir !== undefined) removeDir(dir);
    dir = undefined;
  });

  afterAll(async () => {
    await Promise.all([alice?.quit(), carol?.quit(), bob?.quit()]);
    await Promise.all([serverA?.stop(), serverB?.stop()]);
  });

  /** A fresh channel on both servers, the gate to B closed, and a config for it. */
  const scenario = async (general: Settings = {}) => {
    const channel = `#${uniqueName('lr')}`;
    await Promise.all([alice.join(channel), carol.join(channel), bob.join(channel)]);
    gate = await startTcpGate(serverB.port);
    gate.open = false;
    dir = tempDataDir();
    const healthPort = await freePort();
    const relayA = uniqueName('ra');
    const relayB = uniqueName('rb');
    const config = (extra: Settings = {}): string =>
      daemonConfig({
        general: { http_listen: `127.0.0.1:${healthPort}`, ...general, ...extra },
        accounts: {
          'irc.a': ircAccount(serverA.port, relayA, NO_FLOOD_CONTROL),
          'irc.b': ircAccount(gate?.port ?? 0, relayB, NO_FLOOD_CONTROL),
        },
        gateways: [
          inoutGateway('lr', [
            ['irc.a', channel],
            ['irc.b', channel],
          ]),
        ],
      });
    const depthB = async (): Promise<number | undefined> =>
      (await healthz(healthPort).catch(() => undefined))?.accounts['irc.b']?.queue_depth;
    const fromRelayB = (): string[] => bob.messages.filter((m) => m.nick === relayB).map((m) => m.text);
    const start = async (extra: Settings = {}): Promise<Daemon> => {
      const started = startDaemon({ config: config(extra), dir });
      daemon = started;
      await alice.waitForLine(
        (l) => l.startsWith(`:${relayA}!`) && l.includes(' JOIN ') && l.includes(channel),
        20_000,
      );
      return started;
    };
    /** SIGTERM; resolves with the exit code once the relay is gone from server A. */
    const stop = async (d: Daemon): Promise<number | null> => {
      const quits = alice.lines.length;
      const code = await d.stop('SIGTERM');
      await waitFor(
        () => alice.lines.slice(quits).some((l) => l.startsWith(`:${relayA}!`) && l.includes(' QUIT')),
        { timeoutMs: 10_000, what: 'the relay QUIT on A' },
      );
      return code;
    };
    /** Opens the gate and resolves once the relay is in the channel on B. */
    const bringBack = async (): Promise<void> => {
      if (gate !== undefined) gate.open = true;
      await bob.waitForLine(
        (l) => l.startsWith(`:${relayB}!`) && l.includes(' JOIN ') && l.includes(channel),
        30_000,
      );
    };
    return { channel, depthB, fromRelayB, start, stop, bringBack };
  };

  it('a restart 60 s long: the 50 lines waiting for server B arrive on B in order, each with its nick', async () => {
    const s = await scenario();
    const first = await s.start();
    const said: string[] = [];
    for (let i = 1; i <= 50; i++) {
      const [who, other] = i % 2 === 0 ? [carol, alice] : [alice, carol];
      const text = `gap line ${String(i).padStart(2, '0')}`;
      await who.say(s.channel, text);
      // Two clients' lines reach the server in any order; wait until this one was broadcast.
      await other.waitForMessage((m) => m.nick === who.nick && m.text === text);
      said.push(`[irc] <${who.nick}> ${text}`);
    }
    await waitFor(async () => (await s.depthB()) === 50, { what: '50 lines waiting for B' });
    expect(await s.stop(first)).toBe(0);
    expect(
      first.logs().find((l) => l.msg === 'pieces still waiting are kept for the next start'),
    ).toMatchObject({ waiting: 50 });

    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, RESTART_GAP_MS)); // the gap is the guarantee
    const second = await s.start();
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(RESTART_GAP_MS);
    await second.waitForLog((l) => l.msg === 'resuming delivery from the store' && l.waiting === 50);
    await s.bringBack();
    await waitFor(() => s.fromRelayB().length >= 50, { timeoutMs: 30_000, what: '50 lines on B' });
    expect(s.fromRelayB()).toEqual(said);
    // A line is on B before its PONG confirms it: the queue empties once the confirmations come.
    await waitFor(async () => (await s.depthB()) === 0, { timeoutMs: 10_000, what: 'B queue empty' });
  }, 150_000);

  it('pieces older than queue_max_age_seconds at start are dropped with one warning, never posted', async () => {
    const MAX_AGE_S = 3;
    const s = await scenario({ queue_max_age_seconds: MAX_AGE_S });
    const first = await s.start();
    for (let i = 1; i <= 6; i++) await alice.say(s.channel, `old line ${i}`);
    await waitFor(async () => (await s.depthB()) === 6, { what: '6 lines waiting for B' });
    const queuedBy = Date.now();
    expect(await s.stop(first)).toBe(0);
    // Wait for the age bound to pass (a clock condition, polled): the pieces are then too old.
    await waitFor(() => Date.now() > queuedBy + MAX_AGE_S * 1000 + 500, {
      timeoutMs: MAX_AGE_S * 1000 + 5_000,
      intervalMs: 100,
    });
    const second = await s.start();
    const warning = await second.waitForLog((l) => l.msg === EXPIRED_MSG);
    expect(warning).toMatchObject({ level: 40, dropped: 6, maxAgeSeconds: MAX_AGE_S, channel: s.channel });
    await s.bringBack();
    await alice.say(s.channel, 'fresh after the restart');
    await waitFor(() => s.fromRelayB().some((t) => t.endsWith('fresh after the restart')), {
      what: 'a fresh line on B',
    });
    expect(s.fromRelayB()).toEqual([`[irc] <${alice.nick}> fresh after the restart`]);
    expect(second.logs().filter((l: LogLine) => l.msg === EXPIRED_MSG)).toHaveLength(1);
  }, 90_000);

  it('the count bound holds across a restart: waiting pieces after it <= queue_max_messages', async () => {
    const s = await scenario({ queue_max_messages: 5 });
    const first = await s.start();
    for (let i = 1; i <= 8; i++) await alice.say(s.channel, `cap line ${i}`);
    await waitFor(() => first.logs().some((l) => l.msg === OVERFLOW_MSG), {
      what: 'the overflow warning',
    });
    expect(await s.depthB()).toBe(5);
    expect(first.logs().find((l) => l.msg === OVERFLOW_MSG)).toMatchObject({ dropped: 3, maxMessages: 5 });
    expect(await s.stop(first)).toBe(0);

    // The next run has a smaller bound: the restored pieces obey it at once.
    const second = await s.start({ queue_max_messages: 3 });
    await second.waitForLog((l) => l.msg === 'resuming delivery from the store');
    expect(await waitFor(() => s.depthB(), { what: '/healthz' })).toBeLessThanOrEqual(3);
    await second.waitForLog((l) => l.msg === OVERFLOW_MSG);
    expect(second.logs().find((l) => l.msg === OVERFLOW_MSG)).toMatchObject({ dropped: 2, maxMessages: 3 });
    for (let i = 9; i <= 10; i++) await alice.say(s.channel, `cap line ${i}`);
    await waitFor(() => second.logs().filter((l) => l.msg === 'relaying' && l.to === 'irc.b').length >= 2, {
      what: 'the two new lines routed',
    });
    expect(await s.depthB()).toBe(3);
    await s.bringBack();
    await waitFor(() => s.fromRelayB().length >= 3, { timeoutMs: 30_000, what: 'the newest 3 on B' });
    expect(s.fromRelayB()).toEqual([8, 9, 10].map((i) => `[irc] <${alice.nick}> cap line ${i}`));
  }, 90_000);
});
