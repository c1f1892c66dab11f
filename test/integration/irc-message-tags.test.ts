import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inspircdAvailable, startTaggedIrcd, type TaggedIrcd } from '../helpers/inspircd.js';
import { makeIrcAdapter, type AdapterHarness } from '../helpers/irc-adapter.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { piece } from '../helpers/pieces.js';
import { uniqueName } from '../helpers/ports.js';

/** The value of one tag in a raw line's tag section, still escaped as the server sent it. */
function rawTag(line: string, key: string): string | undefined {
  if (!line.startsWith('@')) return undefined;
  const section = line.slice(1, line.indexOf(' '));
  for (const item of section.split(';')) {
    const equals = item.indexOf('=');
    if ((equals === -1 ? item : item.slice(0, equals)) === key)
      return equals === -1 ? '' : item.slice(equals + 1);
  }
  return undefined;
}

/** A PRIVMSG line to `channel` whose text (after " :") ends the line as given. */
const privmsgTo = (channel: string, text: string) => (line: string) =>
  line.includes(` PRIVMSG ${channel} :`) && line.endsWith(` :${text}`);

interface Setup {
  readonly h: AdapterHarness;
  readonly human: TestIrcClient;
  readonly channel: string;
  readonly nick: string;
}

async function setupOn(port: number, cleanups: (() => Promise<void>)[], caps?: string): Promise<Setup> {
  const channel = `#${uniqueName('t')}`;
  const nick = uniqueName('relay');
  const h = makeIrcAdapter({ server: `127.0.0.1:${port}`, nick, flood_rate: 0 }, [channel]);
  cleanups.push(() => h.adapter.stop(2_000));
  const human = await connectIrcClient({ port, nick: uniqueName('alice'), channels: [channel] });
  cleanups.push(() => human.quit());
  if (caps !== undefined) {
    // A client may negotiate capabilities after registration (IRCv3 capability negotiation).
    await human.raw(`CAP REQ :${caps}`);
    await human.waitForLine((l) => / CAP \S+ ACK /.test(l));
  }
  await h.adapter.start();
  await h.waitForState('connected');
  await human.waitForLine((l) => l.includes(' JOIN ') && l.startsWith(`:${nick}!`));
  return { h, human, channel, nick };
}

describe.skipIf(!inspircdAvailable())(
  'IRC message-tags against InspIRCd 3 (msgid, +draft/reply, echo-message)',
  () => {
    let server: TaggedIrcd;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      server = await startTaggedIrcd();
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(async () => {
      await server.stop();
    });

    it('reads msgid and +draft/reply on incoming lines, and never relays its own echoed lines', async () => {
      const { h, human, channel } = await setupOn(server.port, cleanups, 'message-tags echo-message');
      await human.say(channel, 'film at nine?');
      const echo = await human.waitForLine(privmsgTo(channel, 'film at nine?'));
      const original = rawTag(echo, 'msgid');
      expect(original).toBeDefined();
      const first = await h.waitForMessage((m) => m.text === 'film at nine?');
      expect(first.networkId).toBe(original);
      expect(first.replyTo).toBeUndefined();

      await human.raw(`@+draft/reply=${original} PRIVMSG ${channel} :yes, at nine`);
      const replyEcho = await human.waitForLine(privmsgTo(channel, 'yes, at nine'));
      expect(rawTag(replyEcho, '+draft/reply')).toBe(original);
      const reply = await h.waitForMessage((m) => m.text === 'yes, at nine');
      expect(reply.replyTo).toEqual({ networkId: original });
      expect(reply.networkId).toBe(rawTag(replyEcho, 'msgid'));

      // The ratified name is read too; an escaped value arrives unescaped (message-tags "Escaping").
      await human.raw(`@+reply=a\\:b\\sc PRIVMSG ${channel} :odd id`);
      const odd = await h.waitForMessage((m) => m.text === 'odd id');
      expect(odd.replyTo).toEqual({ networkId: 'a;b c' });

      // The relay's own line comes back to it (echo-message) but is not a message from the channel.
      const result = await h.adapter.send(piece(channel, 'relayed line'), h.onWire);
      expect(result.networkId).toBeDefined();
      await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> relayed line'));
      await human.say(channel, 'marker');
      await h.waitForMessage((m) => m.text === 'marker');
      expect(h.received.map((m) => m.text)).toEqual(['film at nine?', 'yes, at nine', 'odd id', 'marker']);
    });

    it('sends a reply with +draft/reply and resolves with the msgid the channel saw', async () => {
      const { h, human, channel } = await setupOn(server.port, cleanups, 'message-tags echo-message');
      await human.say(channel, 'who brings snacks?');
      const asked = rawTag(await human.waitForLine(privmsgTo(channel, 'who brings snacks?')), 'msgid');
      expect(asked).toBeDefined();

      const result = await h.adapter.send(piece(channel, 'alice: I do', { replyTo: asked ?? '' }), h.onWire);
      const seen = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> alice: I do'));
      expect(rawTag(seen, '+draft/reply')).toBe(asked);
      expect(result.networkId).toBe(rawTag(seen, 'msgid'));
      expect(result.wire).toEqual(['[kosmi] <bob> alice: I do']);
      expect(h.remembered).toContain('[kosmi] <bob> alice: I do');

      // Several pieces in flight at once each get their own line's msgid.
      const [one, two] = await Promise.all([
        h.adapter.send(piece(channel, 'one'), h.onWire),
        h.adapter.send(piece(channel, 'two'), h.onWire),
      ]);
      const lineOne = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> one'));
      const lineTwo = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> two'));
      expect(one.networkId).toBe(rawTag(lineOne, 'msgid'));
      expect(two.networkId).toBe(rawTag(lineTwo, 'msgid'));
      expect(one.networkId).not.toBe(two.networkId);
    });

    it('escapes a reply id, so it stays one tag value and cannot end the line or inject a command', async () => {
      const { h, human, channel } = await setupOn(server.port, cleanups, 'message-tags');
      const hostile = `x;y z\\w\r\nPRIVMSG ${channel} :injected`;
      await h.adapter.send(piece(channel, 'safe', { replyTo: hostile }), h.onWire);
      const seen = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> safe'));
      expect(rawTag(seen, '+draft/reply')).toBe(`x\\:y\\sz\\\\w\\r\\nPRIVMSG\\s${channel}\\s:injected`);
      await human.say(channel, 'marker');
      await h.waitForMessage((m) => m.text === 'marker');
      expect(human.lines.filter((l) => l.endsWith(':injected'))).toEqual([]);
    });

    it('a client without message-tags gets the reply as plain text', async () => {
      const { h, human, channel } = await setupOn(server.port, cleanups);
      await h.adapter.send(piece(channel, 'plain reply', { replyTo: 'some-id' }), h.onWire);
      const seen = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> plain reply'));
      expect(seen.startsWith(':')).toBe(true);
    });
  },
);

/** A loopback forwarder that keeps what the client wrote, to see the relay's own lines. */
async function recordingProxy(
  targetPort: number,
): Promise<{ port: number; written: () => string[]; close: () => Promise<void> }> {
  let text = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    written: () => text.split('\r\n').filter((line) => line !== ''),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('IRC message-tags against ngircd (no message-tags): nothing changes', () => {
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

  it('requests no tags, sends a reply as plain text and reads lines without ids', async () => {
    const proxy = await recordingProxy(server.port);
    cleanups.push(() => proxy.close());
    const { h, human, channel } = await setupOn(proxy.port, cleanups);
    await human.say(channel, 'bob: plain line');
    const got = await h.waitForMessage((m) => m.text === 'bob: plain line');
    expect(got.networkId).toBeUndefined();
    expect(got.replyTo).toBeUndefined();

    const result = await h.adapter.send(piece(channel, 'answer', { replyTo: 'irc-id' }), h.onWire);
    expect(result).toEqual({ wire: ['[kosmi] <bob> answer'] });
    const seen = await human.waitForLine(privmsgTo(channel, '[kosmi] <bob> answer'));
    expect(seen.startsWith(':')).toBe(true);

    const written = proxy.written();
    expect(written.filter((l) => l.startsWith('@'))).toEqual([]);
    expect(written.filter((l) => /^CAP REQ .*(message-tags|echo-message)/.test(l))).toEqual([]);
    expect(written).toContain(`PRIVMSG ${channel} :[kosmi] <bob> answer`);
  });
});
