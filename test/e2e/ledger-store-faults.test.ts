import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthz, removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { daemonConfig, inoutGateway, ircAccount } from '../helpers/daemon-config.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const CORRUPT_MSG =
  'relay.db is not a usable database: moved it aside and started a fresh store; the messages ' +
  'waiting for delivery and the message map in it are not used; the file is kept for inspection';
/** The store checks its file every 5 s (DEFAULT_RETRY_INTERVAL_MS): allow two rounds and some. */
const STORE_CHECK_TIMEOUT_MS = 15_000;

/**
 * Issue 7 §4.5 against the built daemon: a garbage relay.db at start, relay.db replaced by a
 * directory at run time, and a second daemon on the same data dir. Server A <-> server B relay
 * the whole time; server C is the destination that is down while the store cannot write.
 */
describe('e2e ledger: a corrupt or failing relay.db', () => {
  let serverA: NgircdServer;
  let serverB: NgircdServer;
  let serverC: NgircdServer;
  let alice: TestIrcClient;
  let bob: TestIrcClient;
  let daemon: Daemon | undefined;
  let healthPort: number;
  let config: string;
  const dir = tempDataDir();
  const dataDir = path.join(dir, 'data');
  const dbPath = path.join(dataDir, 'relay.db');
  const channel = `#${uniqueName('sf')}`;
  const relayB = uniqueName('rb');
  const relays = async (text: string): Promise<void> => {
    await alice.say(channel, text);
    await bob.waitForMessage((m) => m.nick === relayB && m.text === `[irc] <${alice.nick}> ${text}`);
  };

  beforeAll(async () => {
    [serverA, serverB, serverC] = await Promise.all([startNgircd(), startNgircd(), startNgircd()]);
    alice = await connectIrcClient({ port: serverA.port, nick: uniqueName('alice'), channels: [channel] });
    bob = await connectIrcClient({ port: serverB.port, nick: uniqueName('bob'), channels: [channel] });
    healthPort = await freePort();
    config = daemonConfig({
      general: { http_listen: `127.0.0.1:${healthPort}` },
      accounts: {
        'irc.a': ircAccount(serverA.port, uniqueName('ra')),
        'irc.b': ircAccount(serverB.port, relayB),
        'irc.c': ircAccount(serverC.port, uniqueName('rc')),
      },
      gateways: [
        inoutGateway('sf', [
          ['irc.a', channel],
          ['irc.b', channel],
          ['irc.c', channel],
        ]),
      ],
    });
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await Promise.all([alice?.quit(), bob?.quit()]);
    await Promise.all([serverA?.stop(), serverB?.stop(), serverC?.stop()]);
    removeDir(dir);
  });

  it('a garbage relay.db is moved aside with one error line, and the relay starts and relays', async () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(dbPath, 'this is not a database, just garbage '.repeat(200), { mode: 0o600 });
    const started = startDaemon({ config, dir });
    daemon = started;
    await waitFor(async () => (await healthz(healthPort).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what: 'every account connected',
    });
    const errors = started.logs().filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: CORRUPT_MSG, path: dbPath });
    const aside = readdirSync(dataDir).filter((f) => /^relay\.db\.corrupt-\d{8}T\d{6}Z$/.test(f));
    expect(aside).toHaveLength(1);
    expect(errors[0]?.movedTo).toBe(path.join(dataDir, aside[0] ?? ''));
    await bob.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(' JOIN '), 20_000);
    await relays('after the corrupt start');
  });

  it('a second daemon on the same data dir exits 1 naming the pid of the first', async () => {
    const first = daemon as Daemon;
    const second = startDaemon({ config, dir });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(
      `data dir ${dataDir} is in use by another kosmi-relay (pid ${first.process.pid})`,
    );
    expect(first.process.exitCode).toBeNull();
    await relays('the first daemon still relays');
  });

  it('relay.db replaced by a directory: durable false, relaying goes on; removed: durable true and the waiting pieces are in the file', async () => {
    const first = daemon as Daemon;
    rmSync(dbPath);
    mkdirSync(dbPath);
    const notDurable = await waitFor(
      async () => {
        const h = await healthz(healthPort);
        return h.durable ? undefined : h;
      },
      { timeoutMs: STORE_CHECK_TIMEOUT_MS, what: '"durable": false' },
    );
    expect(notDurable.status).toBe(200); // every account connected: durability does not change it
    await relays('while relay.db is a directory');

    // Server C goes away once it confirmed everything (IRC confirms by PING/PONG: an unconfirmed
    // piece would rightly wait too); what is said from now on waits for it, in the journal only.
    await waitFor(async () => (await healthz(healthPort)).accounts['irc.c']?.queue_depth === 0, {
      what: 'server C confirmed what it got',
    });
    await serverC.kill();
    await first.waitForLog((l) => l.account === 'irc.c' && l.msg === 'disconnected');
    const waiting = ['waits for C 1', 'waits for C 2', 'waits for C 3'];
    for (const text of waiting) await relays(text);
    const degraded = await healthz(healthPort);
    expect(degraded).toMatchObject({ status: 503, durable: false });
    expect(degraded.accounts['irc.c']?.queue_depth).toBe(3);

    rmSync(dbPath, { recursive: true });
    await waitFor(async () => (await healthz(healthPort)).durable, {
      timeoutMs: STORE_CHECK_TIMEOUT_MS,
      what: '"durable": true again',
    });
    await relays('after relay.db came back');

    // What the reopened file holds, read after a kill -9 (no shutdown flush can add anything).
    await first.stop('SIGKILL');
    daemon = undefined;
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(dbPath);
    try {
      const rows = db
        .prepare("SELECT payload FROM outbox WHERE account = 'irc.c' ORDER BY seq")
        .all()
        .map((row) => (JSON.parse(String(row.payload)) as { text: string }).text);
      // The three journaled while the file was gone, and the one written after it came back.
      expect(rows).toEqual([...waiting, 'after relay.db came back']);
    } finally {
      db.close();
    }
  });
});
