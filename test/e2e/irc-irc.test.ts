import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.js';
import { waitFor } from '../helpers/wait-for.js';
import { daemonConfig, inoutGateway, ircAccount } from '../helpers/daemon-config.js';

/**
 * The built daemon between two ngircd servers, one gateway (issue 2 §8, end-to-end): format,
 * splitting of the longest line IRC accepts, and no loss across a server crash.
 */
describe('e2e: IRC <-> IRC through the daemon', () => {
  let serverA: NgircdServer;
  let serverB: NgircdServer;
  /** The relay reaches server B through this, so the outage test decides when it may come back. */
  let gateB: TcpGate;
  let daemon: Daemon;
  let alice: TestIrcClient;
  let bob: TestIrcClient;
  const channel = `#${uniqueName('e2e')}`;
  const relayA = uniqueName('ra');
  const relayB = uniqueName('rb');
  const fromRelayB = () => bob.messages.filter((m) => m.nick === relayB);

  beforeAll(async () => {
    [serverA, serverB] = await Promise.all([startNgircd(), startNgircd()]);
    alice = await connectIrcClient({ port: serverA.port, nick: uniqueName('alice'), channels: [channel] });
    bob = await connectIrcClient({ port: serverB.port, nick: uniqueName('bob'), channels: [channel] });
    gateB = await startTcpGate(serverB.port);
    daemon = startDaemon({
      config: daemonConfig({
        accounts: {
          'irc.a': ircAccount(serverA.port, relayA),
          'irc.b': ircAccount(gateB.port, relayB),
        },
        gateways: [
          inoutGateway('e2e', [
            ['irc.a', channel],
            ['irc.b', channel],
          ]),
        ],
      }),
    });
    await alice.waitForLine((l) => l.startsWith(`:${relayA}!`) && l.includes(' JOIN '), 20_000);
    await bob.waitForLine((l) => l.startsWith(`:${relayB}!`) && l.includes(' JOIN '), 20_000);
  });

  afterAll(async () => {
    const code = await daemon?.stop('SIGTERM');
    await alice?.quit();
    await bob?.quit();
    await serverA?.stop();
    await serverB?.stop();
    await gateB?.close();
    if (daemon !== undefined) removeDir(daemon.dir);
    expect(code).toBe(0);
  });

  it('relays a line in the configured nick format, both ways', async () => {
    await alice.say(channel, 'hello from A');
    const got = await bob.waitForMessage((m) => m.nick === relayB && m.text.includes('hello from A'));
    expect(got.text).toBe(`[irc] <${alice.nick}> hello from A`);
    await bob.action(channel, 'waves');
    const action = await alice.waitForMessage((m) => m.nick === relayA && m.kind === 'action');
    expect(action.text).toBe(`[irc] <${bob.nick}> waves`);
  });

  it('splits the longest line IRC accepts into two complete lines, each prefixed, none over 512 bytes', async () => {
    // The longest text server A relays to the daemon intact: alice's line as relayed, with her
    // nick!user@host (from her own JOIN echo), is exactly 512 bytes. Plus the relay's prefix it
    // cannot fit in one line on server B.
    const joinEcho = alice.lines.find((l) => l.startsWith(`:${alice.nick}!`) && l.includes(' JOIN '));
    const source = joinEcho?.split(' ')[0] ?? '';
    const room = 512 - 2 - Buffer.byteLength(`${source} PRIVMSG ${channel} :`);
    const words: string[] = [];
    for (let i = 0; Buffer.byteLength([...words, 'grüße'].join(' ')) <= room - 8; i++) {
      words.push(['grüße', '日本語', 'ok🎉', 'word'][i % 4] ?? '');
    }
    const long = `${words.join(' ')} ${'x'.repeat(room - Buffer.byteLength(words.join(' ')) - 1)}`;
    expect(Buffer.byteLength(long)).toBe(room);
    expect(room).toBeGreaterThan(420);
    const before = fromRelayB().length;
    await alice.say(channel, long);
    const prefix = `[irc] <${alice.nick}> `;
    await waitFor(() => fromRelayB().length >= before + 2, { what: 'two relayed lines' }).catch(
      (error: Error) => {
        throw new Error(
          `${error.message}\n--- bob ---\n${bob.lines.slice(-6).join('\n')}\n--- daemon ---\n${daemon.output().slice(-6000)}`,
        );
      },
    );
    const lines = fromRelayB().slice(before);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.text.startsWith(prefix)).toBe(true);
      expect(line.rawBytes).toBeLessThanOrEqual(512);
    }
    expect(lines.map((l) => l.text.slice(prefix.length)).join(' ')).toBe(long);
  });

  it('delivers, in order and complete, what was said while the second server was down', async () => {
    await alice.say(channel, 'before the crash');
    await bob.waitForMessage((m) => m.nick === relayB && m.text.endsWith('before the crash'));
    await serverB.kill();
    await bob.waitForClose();
    await daemon.waitForLog((l) => l.account === 'irc.b' && l.msg === 'disconnected');
    const outage = Array.from({ length: 12 }, (_, i) => `during outage ${i + 1}`);
    for (const text of outage) await alice.say(channel, text);
    // The relay may reach server B again only once bob is back in the channel, or bob would miss
    // lines delivered before his rejoin (a race with the relay's reconnect delay otherwise).
    gateB.open = false;
    await serverB.start();
    bob = await connectIrcClient({ port: serverB.port, nick: bob.nick, channels: [channel] });
    gateB.open = true;
    await waitFor(() => fromRelayB().length >= outage.length, {
      what: 'the outage lines',
      timeoutMs: 30_000,
    });
    expect(fromRelayB().map((m) => m.text)).toEqual(outage.map((t) => `[irc] <${alice.nick}> ${t}`));
  });
});
