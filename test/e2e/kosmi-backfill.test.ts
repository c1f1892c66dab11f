import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonConfig, inoutGateway, ircAccount, kosmiAccount } from '../helpers/daemon-config.js';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Issue 9 §3 end to end: the built daemon, an anonymous Kosmi account on the emulator, ngircd.
 * What is posted in Kosmi while the relay is away (socket dropped, daemon stopped) reaches IRC
 * once and in order, from the chat archive (docs/kosmi-protocol.md §4.7).
 */
describe('e2e: Kosmi messages posted while the relay is away reach IRC once, in order', () => {
  let ngircd: NgircdServer;
  let kosmi: KosmiEmulator;
  let alice: TestIrcClient;
  let daemon: Daemon | undefined;
  const dir = tempDataDir();
  const channel = `#${uniqueName('kb')}`;
  const room = `@${uniqueName('kb')}`;
  const ircNick = uniqueName('relay');
  const config = (): string =>
    daemonConfig({
      accounts: {
        'irc.net': ircAccount(ngircd.port, ircNick),
        'kosmi.main': kosmiAccount(kosmi, { send_rate_per_second: 200, send_burst: 200 }),
      },
      gateways: [
        inoutGateway('backfill', [
          ['irc.net', channel],
          ['kosmi.main', room],
        ]),
      ],
    });
  const start = async (): Promise<Daemon> => {
    const started = startDaemon({ config: config(), dir });
    daemon = started;
    await started.waitForLog((l) => l.account === 'kosmi.main' && l.msg === 'connected', 30_000);
    await waitFor(() => kosmi.listeners(room).length === 1, { timeoutMs: 20_000, what: 'Kosmi subscribed' });
    await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' JOIN '), 20_000);
    return started;
  };
  const onIrc = (): string[] => alice.messages.filter((m) => m.nick === ircNick).map((m) => m.text);
  const fromDave = (prefix: string): string[] =>
    onIrc()
      .filter((t) => t.startsWith(`[kosmi] <dave> ${prefix}`))
      .map((t) => t.slice('[kosmi] <dave> '.length));

  beforeAll(async () => {
    [ngircd, kosmi] = await Promise.all([startNgircd(), startKosmiEmulator({ rooms: [room] })]);
    alice = await connectIrcClient({ port: ngircd.port, nick: uniqueName('alice'), channels: [channel] });
    await start();
    kosmi.postAs(room, 'dave', 'hello');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> hello');
  });
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await alice?.quit();
    await Promise.all([ngircd?.stop(), kosmi?.close()]);
    removeDir(dir);
  });

  it('a dropped socket: 20 messages posted meanwhile are relayed once, in order', async () => {
    const d = daemon as Daemon;
    const mark = d.logs().length;
    expect(kosmi.dropAllSockets()).toBe(1);
    const away = Array.from({ length: 20 }, (_, i) => `dropped ${i}`);
    // Posted synchronously, before the relay can have reconnected: only the archive has them (the
    // log line below says the 20 came from the backfill).
    for (const body of away) kosmi.postAs(room, 'dave', body);
    await waitFor(() => fromDave('dropped ').length >= 20, { timeoutMs: 30_000, what: '20 messages on IRC' });
    kosmi.postAs(room, 'dave', 'dropped done');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> dropped done');
    expect(fromDave('dropped ')).toEqual([...away, 'dropped done']);
    expect(
      d
        .logs()
        .slice(mark)
        .some((l) => l.msg === 'relaying messages missed while away' && l.count === 20),
    ).toBe(true);
  });

  it('a restart (SIGTERM, 20 posted while down, start): each relayed once, in order', async () => {
    expect(await daemon?.stop()).toBe(0);
    await alice.waitForLine((l) => l.startsWith(`:${ircNick}!`) && l.includes(' QUIT'), 10_000);
    const down = Array.from({ length: 20 }, (_, i) => `restart ${i}`);
    for (const body of down) kosmi.postAs(room, 'dave', body);
    await start();
    await waitFor(() => fromDave('restart ').length >= 20, { timeoutMs: 30_000, what: '20 messages on IRC' });
    kosmi.postAs(room, 'dave', 'restart done');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[kosmi] <dave> restart done');
    expect(fromDave('restart ')).toEqual([...down, 'restart done']);
    // Nothing from before the restart came again.
    expect(fromDave('hello')).toEqual(['hello']);
    expect(fromDave('dropped ')).toHaveLength(21);
  });
});
