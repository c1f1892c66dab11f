import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { daemonConfig, inoutGateway, ircAccount } from '../helpers/daemon-config.js';

/**
 * Nothing the relay sent is relayed again (issue 2 §3): two of the relay's accounts sit in the
 * same channel, and two gateways share that channel. A line the relay posts in #shared through
 * one account is read by the other account, and must not travel on.
 */
describe('e2e: no echo loops', () => {
  let server: NgircdServer;
  let daemon: Daemon;
  let inShared: TestIrcClient;
  let inOne: TestIrcClient;
  let inTwo: TestIrcClient;
  const shared = `#${uniqueName('sh')}`;
  const one = `#${uniqueName('one')}`;
  const two = `#${uniqueName('two')}`;
  const relayA = uniqueName('ea');
  const relayB = uniqueName('eb');
  const relayC = uniqueName('ec');

  beforeAll(async () => {
    server = await startNgircd();
    [inShared, inOne, inTwo] = await Promise.all([
      connectIrcClient({ port: server.port, nick: uniqueName('s'), channels: [shared] }),
      connectIrcClient({ port: server.port, nick: uniqueName('o'), channels: [one] }),
      connectIrcClient({ port: server.port, nick: uniqueName('t'), channels: [two] }),
    ]);
    daemon = startDaemon({
      config: daemonConfig({
        accounts: {
          'irc.a': ircAccount(server.port, relayA),
          'irc.b': ircAccount(server.port, relayB),
          'irc.c': ircAccount(server.port, relayC),
        },
        gateways: [
          inoutGateway('first', [
            ['irc.a', shared],
            ['irc.c', one],
          ]),
          inoutGateway('second', [
            ['irc.b', shared],
            ['irc.c', two],
          ]),
        ],
      }),
    });
    for (const nick of [relayA, relayB])
      await inShared.waitForLine((l) => l.startsWith(`:${nick}!`) && l.includes(' JOIN '), 20_000);
    await inOne.waitForLine((l) => l.startsWith(`:${relayC}!`) && l.includes(' JOIN '), 20_000);
    await inTwo.waitForLine((l) => l.startsWith(`:${relayC}!`) && l.includes(' JOIN '), 20_000);
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await Promise.all([inShared?.quit(), inOne?.quit(), inTwo?.quit()]);
    await server?.stop();
    if (daemon !== undefined) removeDir(daemon.dir);
  });

  it('a line relayed into the shared channel by one account is not relayed on by the other', async () => {
    await inOne.say(one, 'from one');
    await inShared.waitForMessage((m) => m.nick === relayA && m.text.includes('from one'));
    // A marker said afterwards in #one proves the relay has processed everything before it:
    // per-destination order means #two would already hold an echo of "from one" if there were one.
    await inShared.say(shared, 'marker from shared');
    await inTwo.waitForMessage((m) => m.nick === relayC && m.text.includes('marker from shared'));
    await inOne.waitForMessage((m) => m.nick === relayC && m.text.includes('marker from shared'));
    expect(inTwo.messages.filter((m) => m.text.includes('from one'))).toEqual([]);
    // ... and nothing came back to where it was said.
    expect(inOne.messages.filter((m) => m.text.includes('from one'))).toEqual([]);
  });

  it('a human line in the shared channel goes through both gateways exactly once each', async () => {
    await inShared.say(shared, 'human in shared');
    await inOne.waitForMessage((m) => m.text.includes('human in shared'));
    await inTwo.waitForMessage((m) => m.text.includes('human in shared'));
    await inShared.say(shared, 'second marker');
    await inOne.waitForMessage((m) => m.text.includes('second marker'));
    await inTwo.waitForMessage((m) => m.text.includes('second marker'));
    expect(inOne.messages.filter((m) => m.text.includes('human in shared'))).toHaveLength(1);
    expect(inTwo.messages.filter((m) => m.text.includes('human in shared'))).toHaveLength(1);
    // The relay's own posts in #one/#two were not carried back into #shared.
    expect(inShared.messages.filter((m) => m.text.includes('human in shared'))).toEqual([]);
  });
});
