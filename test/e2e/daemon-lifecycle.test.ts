import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, uniqueName } from '../helpers/ports.js';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { waitFor } from '../helpers/wait-for.js';
import { daemonConfig, inoutGateway, ircAccount } from '../helpers/daemon-config.js';

/**
 * The daemon as users run it (issue 2 §1, §5, §6): health reflects every account, secrets never
 * reach the log even at trace level, an unreachable server does not stop startup, and SIGTERM
 * delivers what is queued, says QUIT and exits 0 within the 10 s deadline.
 */
describe('e2e: daemon lifecycle', () => {
  let server: NgircdServer;
  let daemon: Daemon;
  let watcher: TestIrcClient;
  let healthPort: number;
  const channel = `#${uniqueName('life')}`;
  const relayA = uniqueName('la');
  const relayB = uniqueName('lb');
  const SECRETS = { NICKSERV_PW: 'nickserv-secret-7731', DEAD_SASL_PW: 'sasl-secret-9924' };

  beforeAll(async () => {
    server = await startNgircd();
    healthPort = await freePort();
    const deadPort = await freePort(); // nothing listens here: that account stays disconnected
    watcher = await connectIrcClient({ port: server.port, nick: uniqueName('w'), channels: [channel] });
    daemon = startDaemon({
      env: { ...SECRETS, LOG_LEVEL: 'trace' },
      config: daemonConfig({
        general: { http_listen: `127.0.0.1:${healthPort}` },
        accounts: {
          'irc.a': ircAccount(server.port, relayA, { nickserv_password: '${NICKSERV_PW}' }),
          'irc.b': ircAccount(server.port, relayB),
          'irc.dead': ircAccount(deadPort, uniqueName('d'), {
            sasl_account: 'relay',
            sasl_password: '${DEAD_SASL_PW}',
          }),
        },
        gateways: [
          inoutGateway('life', [
            ['irc.a', channel],
            ['irc.dead', '#elsewhere'],
          ]),
          inoutGateway('life2', [
            ['irc.b', channel],
            ['irc.dead', '#elsewhere2'],
          ]),
        ],
      }),
    });
    await watcher.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(' JOIN '), 20_000);
    await watcher.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(' JOIN '), 20_000);
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await watcher?.quit();
    await server?.stop();
    if (daemon !== undefined) removeDir(daemon.dir);
  });

  it('reports every account on /healthz with 503 while one is down', async () => {
    const body = await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
        const json = (await response.json()) as {
          accounts: Record<string, { state: string; queue_depth: number }>;
        };
        return json.accounts['irc.a']?.state === 'connected' && json.accounts['irc.b']?.state === 'connected'
          ? { status: response.status, json }
          : undefined;
      },
      { what: 'both live accounts connected in /healthz' },
    );
    expect(body.status).toBe(503);
    expect(body.json.accounts['irc.dead']?.state).toMatch(/connecting|disconnected/);
    expect(Object.keys(body.json.accounts).sort()).toEqual(['irc.a', 'irc.b', 'irc.dead']);
  });

  it('keeps relaying for the live accounts and queues for the dead one', async () => {
    await watcher.say(channel, 'hello while irc.dead is down');
    const response = await waitFor(
      async () => {
        const json = (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as {
          accounts: Record<string, { queue_depth: number }>;
        };
        return (json.accounts['irc.dead']?.queue_depth ?? 0) >= 2 ? json : undefined;
      },
      { what: 'the message queued for the dead account from both gateways' },
    );
    expect(response.accounts['irc.dead']?.queue_depth).toBe(2);
  });

  it('never writes a secret to the log, even at trace level', async () => {
    await daemon.waitForLog((l) => l.level <= 20); // verbose (debug/trace) lines are being written
    const output = daemon.output();
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
  });

  it('on SIGTERM says QUIT on IRC and exits 0 within the deadline', async () => {
    const started = Date.now();
    const code = await daemon.stop('SIGTERM', 12_000);
    const elapsed = Date.now() - started;
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    await watcher.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(' QUIT'), 5_000);
    await watcher.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(' QUIT'), 5_000);
    // What could not be delivered stays in the store for the next start, and the log says so.
    expect(daemon.output()).toContain('pieces still waiting are kept for the next start');
    for (const secret of Object.values(SECRETS)) expect(daemon.output()).not.toContain(secret);
  });
});

describe('e2e: shutdown while a server hangs', () => {
  let frozen: NgircdServer;
  let other: NgircdServer;
  let daemon: Daemon;
  let watcher: TestIrcClient;
  const channel = `#${uniqueName('hang')}`;
  const relayF = uniqueName('hf');
  const relayO = uniqueName('ho');

  beforeAll(async () => {
    [frozen, other] = await Promise.all([startNgircd(), startNgircd()]);
    watcher = await connectIrcClient({ port: other.port, nick: uniqueName('hw'), channels: [channel] });
    daemon = startDaemon({
      config: daemonConfig({
        accounts: {
          'irc.frozen': ircAccount(frozen.port, relayF),
          'irc.other': ircAccount(other.port, relayO),
        },
        gateways: [
          inoutGateway('hang', [
            ['irc.frozen', channel],
            ['irc.other', channel],
          ]),
        ],
      }),
    });
    await daemon.waitForLog((l) => l.account === 'irc.frozen' && l.msg === 'joined');
    await watcher.waitForLine((l) => l.startsWith(`:${relayO}!`) && l.includes(' JOIN '), 20_000);
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await watcher?.quit();
    frozen?.thaw();
    await Promise.all([frozen?.stop(), other?.stop()]);
    if (daemon !== undefined) removeDir(daemon.dir);
  });

  it('exits 0 within 10 s of SIGTERM although a connected server stopped answering, and a second signal does not kill it', async () => {
    frozen.freeze(); // the TCP connection stays open; the server reads and answers nothing
    for (let i = 0; i < 20; i++) await watcher.say(channel, `towards the hung server ${i}`);
    await daemon.waitForLog((l) => l.msg === 'relaying' && l.to === 'irc.frozen');
    const started = Date.now();
    daemon.process.kill('SIGTERM');
    await daemon.waitForLog((l) => l.msg === 'shutting down');
    daemon.process.kill('SIGINT');
    const code = await daemon.exited;
    const elapsed = Date.now() - started;
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    expect(daemon.logs().some((l) => l.msg === 'already shutting down')).toBe(true);
  });
});
