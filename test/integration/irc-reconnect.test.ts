import { afterEach, describe, expect, it } from 'vitest';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { makeIrcAdapter, type AdapterHarness } from '../helpers/irc-adapter.js';
import { deliveryQueue, piece } from '../helpers/pieces.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

describe('IRC adapter against ngircd: connection supervision', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(): Promise<NgircdServer> {
    const s = await startNgircd();
    cleanups.push(() => s.stop());
    return s;
  }
  function adapter(s: NgircdServer, channel: string, extra: Record<string, unknown> = {}): AdapterHarness {
    const h = makeIrcAdapter(
      { server: `127.0.0.1:${s.port}`, nick: uniqueName('relay'), flood_rate: 0, ...extra },
      [channel],
    );
    cleanups.push(() => h.adapter.stop(2_000));
    return h;
  }
  async function human(s: NgircdServer, channel: string): Promise<TestIrcClient> {
    const c = await connectIrcClient({ port: s.port, nick: uniqueName('alice'), channels: [channel] });
    cleanups.push(() => c.quit());
    return c;
  }
  const texts = (c: TestIrcClient, from: string): string[] =>
    c.messages.filter((m) => m.nick === from).map((m) => m.text);

  it('reconnects after a server restart and delivers what was queued meanwhile, in order', async () => {
    const s = await server();
    const channel = `#${uniqueName('re')}`;
    const h = adapter(s, channel);
    const delivery = deliveryQueue(h.adapter, channel, {
      bounds: { maxMessages: 1000, maxAgeMs: 60_000 },
      kickOnConnect: false,
    });
    const queue = delivery.queue;
    cleanups.push(() => Promise.resolve(queue.close()));
    // The queue delivers only once the human is back in the channel after the restart (set below):
    // a relay that reconnects first must not speak to an empty channel. No race on timing.
    let release = true;
    h.adapter.on('status', (status) => {
      if (status.state === 'connected' && release) queue.resume();
    });
    let alice = await human(s, channel);
    await h.adapter.start();
    await h.waitForState('connected');
    const nick = () => h.adapter['connection']?.currentNick ?? '';
    for (let i = 1; i <= 5; i++) delivery.send(`before ${i}`);
    await waitFor(() => texts(alice, nick()).length === 5, { what: 'first five' });

    await s.kill();
    await h.waitForState('disconnected');
    release = false;
    for (let i = 1; i <= 20; i++) delivery.send(`during ${i}`);
    await s.start();
    alice = await human(s, channel); // resolves once alice's JOIN is done (end of NAMES)
    await h.waitForState('connected');
    release = true;
    queue.resume();
    await waitFor(() => texts(alice, nick()).length === 20, { what: 'queued lines', timeoutMs: 15_000 });
    expect(texts(alice, nick())).toEqual(
      Array.from({ length: 20 }, (_, i) => `[kosmi] <bob> during ${i + 1}`),
    );
    expect(h.logText()).toMatch(/"reason":"connection/);
    expect(h.logText()).toMatch(/"delayMs":\d+,"reason":"connection[^\n]*"msg":"disconnected"/);
  });

  it('falls back to an alternative nick and regains the configured one when it frees up', async () => {
    const s = await server();
    const channel = `#${uniqueName('nk')}`;
    const nick = uniqueName('relay');
    const squatter = await connectIrcClient({ port: s.port, nick, channels: [channel] });
    cleanups.push(() => squatter.quit());
    const h = adapter(s, channel, { nick, nick_regain_seconds: 0.3 });
    await h.adapter.start();
    await h.waitForState('connected');
    const alt = await squatter.waitForLine((l) => l.includes(' JOIN ') && l.startsWith(`:${nick}_!`));
    expect(alt).toBeTruthy();
    // Its own lines under the alternative nick are not relayed back.
    await h.adapter.send(piece(channel, 'from alt'), h.onWire);
    await squatter.quit();
    const watcher = await human(s, channel);
    await watcher.waitForLine((l) => new RegExp(`^:${nick}_!\\S+ NICK :?${nick}$`).test(l), 10_000);
    await h.adapter.send(piece(channel, 'after regain'), h.onWire);
    const got = await watcher.waitForMessage((m) => m.text.endsWith('after regain'));
    expect(got.nick).toBe(nick);
    // A human's line still comes through after the nick change (the own-nick filter follows it).
    await watcher.say(channel, 'from a human');
    const heard = await h.waitForMessage((m) => m.text === 'from a human');
    expect(heard.sender.nick).toBe(watcher.nick);
    expect(h.received.filter((m) => m.text.includes('from alt') || m.text.includes('after regain'))).toEqual(
      [],
    );
  });

  it('rejoins after a kick', async () => {
    const s = await server();
    const channel = `#${uniqueName('kk')}`;
    const op = await human(s, channel); // first in: channel operator
    const h = adapter(s, channel, { rejoin_delay_seconds: 0.2 });
    await h.adapter.start();
    await h.waitForState('connected');
    const nick = h.adapter['connection']?.currentNick ?? '';
    await op.waitForLine((l) => l.startsWith(`:${nick}!`) && l.includes(' JOIN '));
    const joinsBefore = op.lines.filter((l) => l.startsWith(`:${nick}!`) && l.includes(' JOIN ')).length;
    await op.raw(`KICK ${channel} ${nick} :out`);
    await waitFor(
      () => op.lines.filter((l) => l.startsWith(`:${nick}!`) && l.includes(' JOIN ')).length > joinsBefore,
      {
        what: 'rejoin',
      },
    );
    await h.adapter.send(piece(channel, 'back'), h.onWire);
    await op.waitForMessage((m) => m.text.endsWith('back'));
    expect(h.logText()).toMatch(/kicked by/);
  });

  it('keeps retrying when the server is down at start, and connects once it is up', async () => {
    const s = await server();
    await s.stop();
    const channel = `#${uniqueName('dn')}`;
    const h = adapter(s, channel);
    await h.adapter.start(); // does not wait for, or fail on, the network
    await waitFor(() => h.states.filter((st) => st === 'disconnected').length >= 2, {
      what: 'two failed attempts',
    });
    expect(h.adapter.status().reason).toMatch(/ECONNREFUSED/);
    await s.start();
    const alice = await human(s, channel);
    await h.waitForState('connected', 20_000);
    await h.adapter.send(piece(channel, 'finally'), h.onWire);
    await alice.waitForMessage((m) => m.text.endsWith('finally'));
  });

  it('detects a dead connection by ping timeout and reconnects', async () => {
    const s = await server();
    const channel = `#${uniqueName('pt')}`;
    const h = adapter(s, channel, {
      ping_interval_seconds: 0.5,
      ping_timeout_seconds: 1.5,
      connect_timeout_seconds: 2,
    });
    await h.adapter.start();
    await h.waitForState('connected');
    s.freeze();
    await h.waitForState('disconnected', 10_000);
    expect(h.adapter.status().reason).toMatch(/ping timeout|not ready/);
    await expect(h.adapter.send(piece(channel, 'x'), h.onWire)).rejects.toMatchObject({ retryable: true });
    s.thaw();
    await h.waitForState('connected', 20_000);
  });
});
