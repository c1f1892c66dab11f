import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { makeIrcAdapter, type AdapterHarness } from '../helpers/irc-adapter.js';
import { deliveryQueue, sendText } from '../helpers/pieces.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

describe('IRC adapter against ngircd: relaying', () => {
  let server: NgircdServer;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startNgircd();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function setup(
    extra: Record<string, unknown> = {},
  ): Promise<{ h: AdapterHarness; human: TestIrcClient; channel: string; nick: string }> {
    const channel = `#${uniqueName('r')}`;
    const nick = uniqueName('relay');
    const h = makeIrcAdapter({ server: `127.0.0.1:${server.port}`, nick, flood_rate: 0, ...extra }, [
      channel,
    ]);
    cleanups.push(() => h.adapter.stop(2_000));
    const human = await connectIrcClient({
      port: server.port,
      nick: uniqueName('alice'),
      channels: [channel],
    });
    cleanups.push(() => human.quit());
    await h.adapter.start();
    await h.waitForState('connected');
    await human.waitForLine((l) => l.includes(` JOIN `) && l.startsWith(`:${nick}!`));
    return { h, human, channel, nick };
  }

  it('relays text, actions and notices both ways, stripping mIRC codes into text and keeping them in rich', async () => {
    const { h, human, channel } = await setup();
    await human.say(channel, 'hello \x02bold\x02 \x0304red\x03');
    await human.action(channel, 'waves');
    await human.notice(channel, 'a notice');
    await h.waitForMessage((m) => m.kind === 'notice');
    expect(h.received.map((m) => [m.kind, m.text, m.sender.nick, m.source.channel])).toEqual([
      ['text', 'hello bold red', human.nick, channel],
      ['action', 'waves', human.nick, channel],
      ['notice', 'a notice', human.nick, channel],
    ]);
    expect(h.received[0]?.rich).toEqual({ format: 'irc', body: 'hello \x02bold\x02 \x0304red\x03' });
    expect(h.received[1]?.rich).toBeUndefined();

    await sendText(h.adapter, channel, 'hi from kosmi', {}, h.onWire);
    await sendText(h.adapter, channel, 'dances', { kind: 'action' }, h.onWire);
    await sendText(h.adapter, channel, 'psst', { kind: 'notice' }, h.onWire);
    // The router hands an IRC destination the mIRC body of a message from IRC.
    await sendText(h.adapter, channel, '\x0304coloured\x03', {
      origin: { account: 'irc.other', channel: '#x', protocol: 'irc', gateway: 'g' },
    });
    await human.waitForMessage((m) => m.text.includes('coloured'));
    const got = human.messages
      .filter((m) => m.target === channel && m.nick !== human.nick)
      .map((m) => [m.kind, m.text]);
    expect(got).toEqual([
      ['text', '[kosmi] <bob> hi from kosmi'],
      ['action', '[kosmi] <bob> dances'],
      ['notice', '[kosmi] <bob> psst'],
      ['text', '[kosmi] <bob> \x0304coloured\x03'],
    ]);
    expect(h.remembered).toContain('[kosmi] <bob> hi from kosmi');
  });

  it('splits a long multibyte message into lines of at most 512 bytes as relayed, each with the prefix', async () => {
    const { h, human, channel } = await setup();
    const words = Array.from({ length: 150 }, (_, i) => ['grüße', '日本語', 'emoji🎉', 'plain'][i % 4]).join(
      ' ',
    );
    await sendText(h.adapter, channel, words, {}, h.onWire);
    const relayed = () => human.messages.filter((m) => m.nick !== human.nick);
    await waitFor(
      () =>
        relayed()
          .map((l) => l.text.slice('[kosmi] <bob> '.length))
          .join(' ') === words,
      { what: 'all pieces' },
    );
    const lines = relayed();
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line.rawBytes).toBeLessThanOrEqual(512);
      expect(line.text.startsWith('[kosmi] <bob> ')).toBe(true);
    }
    expect(lines.map((l) => l.text.slice('[kosmi] <bob> '.length)).join(' ')).toBe(words);
    expect(Math.max(...lines.map((l) => l.rawBytes))).toBeGreaterThan(480);
  });

  it('never writes CR, LF or NUL inside a line: an injected QUIT stays text', async () => {
    const { h, human, channel } = await setup();
    await sendText(h.adapter, channel, 'one\r\nQUIT :injected\r\nPRIVMSG #x :two\0three', {}, h.onWire);
    await sendText(h.adapter, channel, 'after', {}, h.onWire);
    await human.waitForMessage((m) => m.text.endsWith('after'));
    expect(human.messages.filter((m) => m.nick !== human.nick).map((m) => m.text)).toEqual([
      '[kosmi] <bob> one',
      '[kosmi] <bob> QUIT :injected',
      '[kosmi] <bob> PRIVMSG #x :two three',
      '[kosmi] <bob> after',
    ]);
    expect(h.adapter.status().state).toBe('connected');
  });

  it('honours ignore_nicks and ignore_messages and never emits its own lines', async () => {
    const { h, human, channel } = await setup({ ignore_nicks: ['^bot'], ignore_messages: ['^!'] });
    const bot = await connectIrcClient({ port: server.port, nick: uniqueName('bot'), channels: [channel] });
    cleanups.push(() => bot.quit());
    await bot.say(channel, 'from a bot');
    await human.say(channel, '!command');
    await sendText(h.adapter, channel, 'our own line', {}, h.onWire);
    await human.say(channel, 'kept');
    await h.waitForMessage((m) => m.text === 'kept');
    expect(h.received.map((m) => m.text)).toEqual(['kept']);
  });

  it('cuts a message with more lines than max_lines_per_message and marks it', async () => {
    const { h, human, channel } = await setup({ max_lines_per_message: 2, cut_marker: ' (cut)' });
    await sendText(h.adapter, channel, 'a\nb\nc\nd', {}, h.onWire);
    await human.waitForMessage((m) => m.text.endsWith('(cut)'));
    expect(human.messages.filter((m) => m.nick !== human.nick).map((m) => m.text)).toEqual([
      '[kosmi] <bob> a',
      '[kosmi] <bob> b (cut)',
    ]);
  });

  it('hands back every piece it could not confirm when stopped, so the core keeps it in the store', async () => {
    const { h, human, channel } = await setup({ flood_burst: 4, flood_rate: 0.05 });
    const delivery = deliveryQueue(h.adapter, channel);
    for (let i = 0; i < 12; i++) delivery.send(`line${i}`);
    await human.waitForMessage((m) => m.text.endsWith('line2'));
    await h.adapter.stop(200);
    // At most flood_burst (4) lines went out before the stop (registration takes a token too, and
    // 0.05 lines/s adds none); the others were never written and stay with the core, in order,
    // for the next start.
    await waitFor(() => delivery.ledger.pieces.size === delivery.queue.depth && delivery.queue.depth >= 8, {
      what: 'pieces handed back',
    });
    const kept = [...delivery.ledger.pieces.values()].map(
      (p) => (JSON.parse(p.payload) as { text: string }).text,
    );
    expect(kept.slice(-8)).toEqual([
      'line4',
      'line5',
      'line6',
      'line7',
      'line8',
      'line9',
      'line10',
      'line11',
    ]);
    delivery.queue.close();
  });
});
