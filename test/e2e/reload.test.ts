import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { daemonConfig, inoutGateway, ircAccount, type DaemonConfigSpec } from '../helpers/daemon-config.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * SIGHUP (issue 10 §4) on the built daemon between two ngircd servers: a new gateway and nick
 * format apply at once without dropping a connection, a file that does not validate is refused
 * with its TOML path and the old config keeps working, and a removed account says QUIT while the
 * others keep relaying.
 */
describe('e2e: reload without restart', () => {
  let serverA: NgircdServer;
  let serverB: NgircdServer;
  let daemon: Daemon;
  let alice: TestIrcClient;
  let bob: TestIrcClient;
  const one = `#${uniqueName('one')}`;
  const three = `#${uniqueName('three')}`;
  const side = `#${uniqueName('side')}`;
  const relayA = uniqueName('ra');
  const relayB = uniqueName('rb');
  const relayX = uniqueName('rx');
  let accounts: DaemonConfigSpec['accounts'];

  const write = (spec: DaemonConfigSpec): void => writeFileSync(daemon.configPath, daemonConfig(spec));
  const count = (msg: string) => daemon.logs().filter((l) => l.msg === msg).length;
  /** Sends SIGHUP and waits for the reload's own outcome line. */
  const hup = async (outcome: 'config reloaded' | 'reload refused: the running config stays') => {
    const before = count(outcome);
    daemon.process.kill('SIGHUP');
    await waitFor(() => count(outcome) > before, { what: outcome, timeoutMs: 15_000 });
    return daemon.logs().filter((l) => l.msg === outcome)[before];
  };
  const relayed = async (
    from: TestIrcClient,
    channel: string,
    text: string,
    to: TestIrcClient,
    nick: string,
  ) => {
    await from.say(channel, text);
    return to.waitForMessage((m) => m.nick === nick && m.target === channel && m.text.endsWith(text));
  };
  const joinsOf = (client: TestIrcClient, nick: string, channel: string) =>
    client.lines.filter((l) => l.startsWith(`:${nick}!`) && / JOIN :?(\S+)/.exec(l)?.[1] === channel).length;
  const quitsOf = (client: TestIrcClient, nick: string) =>
    client.lines.filter((l) => l.startsWith(`:${nick}!`) && l.includes(' QUIT')).length;

  beforeAll(async () => {
    [serverA, serverB] = await Promise.all([startNgircd(), startNgircd()]);
    alice = await connectIrcClient({
      port: serverA.port,
      nick: uniqueName('al'),
      channels: [one, three, side],
    });
    bob = await connectIrcClient({ port: serverB.port, nick: uniqueName('bo'), channels: [one, three] });
    accounts = {
      'irc.a': ircAccount(serverA.port, relayA),
      'irc.b': ircAccount(serverB.port, relayB),
      'irc.x': ircAccount(serverA.port, relayX),
    };
    daemon = startDaemon({
      config: daemonConfig({
        accounts,
        gateways: [
          inoutGateway('g1', [
            ['irc.a', one],
            ['irc.b', one],
            ['irc.x', side],
          ]),
        ],
      }),
    });
    await alice.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(' JOIN '), 20_000);
    await alice.waitForLine((l) => l.startsWith(`:${relayX}!`) && l.includes(' JOIN '), 20_000);
    await bob.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(' JOIN '), 20_000);
  });

  afterAll(async () => {
    const code = await daemon?.stop('SIGTERM');
    await alice?.quit();
    await bob?.quit();
    await serverA?.stop();
    await serverB?.stop();
    if (daemon !== undefined) removeDir(daemon.dir);
    expect(code).toBe(0);
  });

  it('a new gateway and nick format apply at once, on the same connections', async () => {
    const first = await relayed(alice, one, 'before the reload', bob, relayB);
    expect(first.text).toBe(`[irc] <${alice.nick}> before the reload`);
    write({
      general: { remote_nick_format: '({NICK}@{LABEL}) ' },
      accounts,
      gateways: [
        inoutGateway('g1', [
          ['irc.a', one],
          ['irc.b', one],
          ['irc.x', side],
        ]),
        inoutGateway('g2', [
          ['irc.a', three],
          ['irc.b', three],
        ]),
      ],
    });
    const line = await hup('config reloaded');
    expect(line).toMatchObject({ added: [], removed: [], reconnected: [], gateways: ['g1', 'g2'] });
    const after = await relayed(alice, one, 'after the reload', bob, relayB);
    expect(after.text).toBe(`(${alice.nick}@irc) after the reload`);
    await bob.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(` JOIN`) && l.includes(three));
    await alice.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(` JOIN`) && l.includes(three));
    const back = await relayed(bob, three, 'on the new channel', alice, relayA);
    expect(back.text).toBe(`(${bob.nick}@irc) on the new channel`);
    // Not reconnected: one JOIN of the first channel each, no QUIT, one 'connected' per account.
    expect(joinsOf(alice, relayA, one)).toBe(1);
    expect(joinsOf(bob, relayB, one)).toBe(1);
    expect(quitsOf(alice, relayA) + quitsOf(bob, relayB) + quitsOf(alice, relayX)).toBe(0);
    expect(daemon.logs().filter((l) => l.msg === 'connected').length).toBe(3);
  });

  it('refuses a file that does not validate, with its TOML path, and keeps the running config', async () => {
    write({
      accounts: { ...accounts, 'irc.b': { ...accounts['irc.b'], flood_rate: -1 } },
      gateways: [
        inoutGateway('g1', [
          ['irc.a', one],
          ['irc.b', one],
        ]),
      ],
    });
    await hup('reload refused: the running config stays');
    expect(daemon.logs().some((l) => l.msg === 'config error' && l.path === 'irc.b.flood_rate')).toBe(true);
    const still = await relayed(alice, three, 'still the old config', bob, relayB);
    expect(still.text).toBe(`(${alice.nick}@irc) still the old config`);
    expect(quitsOf(alice, relayX)).toBe(0);
  });

  it('a removed account says QUIT; the others keep relaying', async () => {
    const { 'irc.x': _removed, ...rest } = accounts;
    write({
      general: { remote_nick_format: '({NICK}@{LABEL}) ' },
      accounts: rest,
      gateways: [
        inoutGateway('g1', [
          ['irc.a', one],
          ['irc.b', one],
        ]),
        inoutGateway('g2', [
          ['irc.a', three],
          ['irc.b', three],
        ]),
      ],
    });
    const line = await hup('config reloaded');
    expect(line).toMatchObject({ added: [], removed: ['irc.x'], reconnected: [] });
    await alice.waitForLine((l) => l.startsWith(`:${relayX}!`) && l.includes(' QUIT'), 10_000);
    const after = await relayed(bob, one, 'after the removal', alice, relayA);
    expect(after.text).toBe(`(${bob.nick}@irc) after the removal`);
    expect(quitsOf(alice, relayA) + quitsOf(bob, relayB)).toBe(0);
  });
});
