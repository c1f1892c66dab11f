import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDaemon, type Daemon } from '../helpers/daemon.js';
import {
  daemonConfig,
  inoutGateway,
  ircAccount,
  kosmiAccount,
  matrixAccount,
} from '../helpers/daemon-config.js';
import { inspircdAvailable, startTaggedIrcd, type TaggedIrcd } from '../helpers/inspircd.js';
import { connectIrcClient, type ReceivedMessage, type TestIrcClient } from '../helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startHomeserver, type MatrixHomeserver } from '../helpers/matrix-homeserver/index.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const MATRIX_PASSWORD = 'e2e-conversation-password';

/** One tag's value in a raw IRC line, as the server sent it (msgids here need no unescaping). */
function tag(line: string, key: string): string | undefined {
  if (!line.startsWith('@')) return undefined;
  for (const item of line.slice(1, line.indexOf(' ')).split(';')) {
    const [name, value = ''] = item.split('=', 2);
    if (name === key) return value;
  }
  return undefined;
}

type Content = Record<string, unknown>;
const relation = (content: Content | undefined): Content =>
  (content?.['m.relates_to'] as Content | undefined) ?? {};
const repliedTo = (content: Content | undefined): unknown =>
  (relation(content)['m.in_reply_to'] as Content | undefined)?.event_id;

/**
 * Issue 8 §5, end to end with the built daemon: one conversation across IRC (a real InspIRCd with
 * its IRCv3 modules), Kosmi and two Matrix rooms. A message, a reply to it from each network, an
 * edit, a redaction, and an image whose link a plain HTTP client downloads without a token.
 */
describe.skipIf(!inspircdAvailable())('e2e: a conversation across IRC, Kosmi and two Matrix rooms', () => {
  let ircd: TaggedIrcd;
  let hs: MatrixHomeserver;
  let kosmi: KosmiEmulator;
  let daemon: Daemon;
  let alice: TestIrcClient;
  let bob: TestIrcClient;
  let relayId: string;
  let carolId: string;
  let httpPort: number;
  const channel = `#${uniqueName('conv')}`;
  const roomA = `#${uniqueName('conva')}:localhost`;
  const roomB = `#${uniqueName('convb')}:localhost`;
  const kosmiRoom = `@${uniqueName('conv')}`;
  const ircNick = uniqueName('relay');

  const relayEvents = (room: string): Content[] => hs.events(room, { sender: relayId });
  const relayMessage = (room: string, body: (b: string) => boolean): Content | undefined =>
    relayEvents(room).find((e) => e.type === 'm.room.message' && body(String((e.content as Content).body)));
  const kosmiRelayed = (body: string) => kosmi.messages(kosmiRoom).find((m) => m.body === body);
  const fromRelay = (client: TestIrcClient, text: string): ReceivedMessage | undefined =>
    client.messages.find((m) => m.nick === ircNick && m.text === text);

  beforeAll(async () => {
    [ircd, hs, kosmi, httpPort] = await Promise.all([
      startTaggedIrcd(),
      startHomeserver(),
      startKosmiEmulator({ rooms: [kosmiRoom] }),
      freePort(),
    ]);
    relayId = hs.registerUser(uniqueName('mrelay'), MATRIX_PASSWORD, 'Relay');
    carolId = hs.registerUser(uniqueName('carol'), 'carol-pw', 'Carol');
    hs.createRoom({ creator: carolId, alias: roomA });
    hs.createRoom({ creator: carolId, alias: roomB });
    alice = await connectIrcClient({ port: ircd.port, nick: uniqueName('alice'), channels: [channel] });
    bob = await connectIrcClient({ port: ircd.port, nick: uniqueName('bob'), channels: [channel] });
    for (const client of [alice, bob]) {
      await client.raw('CAP REQ :message-tags echo-message');
      await client.waitForLine((l) => / CAP \S+ ACK /.test(l));
    }
    daemon = startDaemon({
      env: { MATRIX_PASSWORD },
      config: daemonConfig({
        general: { http_listen: `127.0.0.1:${httpPort}`, public_url: `http://127.0.0.1:${httpPort}` },
        accounts: {
          'irc.net': ircAccount(ircd.port, ircNick, { flood_rate: 0 }),
          'matrix.home': matrixAccount(hs.url, relayId, 'MATRIX_PASSWORD', { sync_timeout_seconds: 5 }),
          'kosmi.main': kosmiAccount(kosmi, { send_rate_per_second: 200, send_burst: 200 }),
        },
        gateways: [
          inoutGateway('conv', [
            ['irc.net', channel],
            ['matrix.home', roomA],
            ['matrix.home', roomB],
            ['kosmi.main', kosmiRoom],
          ]),
        ],
      }),
    });
    await daemon.explain(async () => {
      await alice.waitForLine((l) => l.includes(`:${ircNick}!`) && l.includes(' JOIN '), 20_000);
      for (const room of [roomA, roomB])
        await waitFor(() => hs.isJoined(relayId, room), { timeoutMs: 20_000, what: `relay in ${room}` });
      await waitFor(() => kosmi.listeners(kosmiRoom).length > 0, {
        timeoutMs: 20_000,
        what: 'Kosmi subscribed',
      });
      await daemon.waitForLog((l) => l.account === 'matrix.home' && l.msg === 'connected');
    });
  });

  afterAll(async () => {
    const code = await daemon?.stop('SIGTERM');
    await Promise.all([alice?.quit(), bob?.quit()]);
    await Promise.all([ircd?.stop(), hs?.close(), kosmi?.close()]);
    if (daemon !== undefined) removeDir(daemon.dir);
    expect(code).toBe(0);
  });

  it('follows a message, its replies from every network, an edit and a redaction', async () => {
    // The message, on IRC; alice learns its msgid from her echo.
    await alice.say(channel, 'movie at nine?');
    const mine = await alice.waitForMessage((m) => m.nick === alice.nick && m.text === 'movie at nine?');
    const msgid = tag(mine.rawLine, 'msgid');
    expect(msgid).toBeDefined();
    const original = `[irc] <${alice.nick}> movie at nine?`;
    await waitFor(() => relayMessage(roomA, (b) => b === original) !== undefined, { what: 'copy in A' });
    await waitFor(() => relayMessage(roomB, (b) => b === original) !== undefined, { what: 'copy in B' });
    await waitFor(() => kosmiRelayed(original) !== undefined, { what: 'copy on Kosmi' });
    const copyA = String(relayMessage(roomA, (b) => b === original)?.event_id);
    const copyB = String(relayMessage(roomB, (b) => b === original)?.event_id);
    const copyKosmi = kosmiRelayed(original)?.id ?? '';

    // 1. From Matrix (room A, a reply to the relay's copy, no fallback as clients send since MSC2781).
    const carolReply = hs.replyTo(carolId, roomA, copyA, 'yes, at nine');
    const onIrc = await alice.waitForMessage(
      (m) => m.nick === ircNick && m.text === `[matrix] <Carol> ${alice.nick}: yes, at nine`,
    );
    expect(tag(onIrc.rawLine, '+draft/reply')).toBe(msgid);
    await waitFor(() => kosmiRelayed('[matrix] <Carol> yes, at nine') !== undefined, {
      what: 'reply on Kosmi',
    });
    expect(kosmiRelayed('[matrix] <Carol> yes, at nine')?.replyTo?.id).toBe(copyKosmi);
    const inB = `[matrix] <Carol> ${alice.nick}: yes, at nine`;
    await waitFor(() => relayMessage(roomB, (b) => b === inB) !== undefined, { what: 'reply in B' });
    const carolCopyB = relayMessage(roomB, (b) => b === inB);
    expect(repliedTo(carolCopyB?.content as Content)).toBe(copyB);

    // 2. From Kosmi: dave answers the relay's copy there.
    kosmi.postAs(kosmiRoom, 'dave', 'i will bring snacks', copyKosmi);
    const daveOnIrc = await alice.waitForMessage(
      (m) => m.nick === ircNick && m.text.endsWith(`> ${alice.nick}: i will bring snacks`),
    );
    expect(daveOnIrc.text.startsWith('[kosmi] <')).toBe(true);
    expect(tag(daveOnIrc.rawLine, '+draft/reply')).toBe(msgid);
    await waitFor(
      () => relayMessage(roomA, (b) => b.endsWith(`${alice.nick}: i will bring snacks`)) !== undefined,
      {
        what: 'Kosmi reply in A',
      },
    );
    expect(repliedTo(relayMessage(roomA, (b) => b.endsWith('i will bring snacks'))?.content as Content)).toBe(
      copyA,
    );

    // 3. From IRC: bob replies with the +draft/reply client tag.
    await bob.raw(`@+draft/reply=${msgid} PRIVMSG ${channel} :me too`);
    const bobLine = `[irc] <${bob.nick}> ${alice.nick}: me too`;
    await waitFor(() => relayMessage(roomA, (b) => b === bobLine) !== undefined, { what: 'IRC reply in A' });
    expect(repliedTo(relayMessage(roomA, (b) => b === bobLine)?.content as Content)).toBe(copyA);
    await waitFor(() => kosmiRelayed(`[irc] <${bob.nick}> me too`) !== undefined, {
      what: 'IRC reply on Kosmi',
    });
    expect(kosmiRelayed(`[irc] <${bob.nick}> me too`)?.replyTo?.id).toBe(copyKosmi);

    // 4. Carol edits her reply: replaced in place in room B, the change behind the marker elsewhere.
    hs.edit(carolId, roomA, carolReply, 'yes, at ten');
    await alice.waitForMessage((m) => m.nick === ircNick && m.text === '[matrix] <Carol> (edited) …ten');
    await waitFor(() => kosmiRelayed('[matrix] <Carol> (edited) …ten') !== undefined, {
      what: 'edit on Kosmi',
    });
    await waitFor(
      () => relayEvents(roomB).some((e) => relation(e.content as Content).rel_type === 'm.replace'),
      {
        what: 'edit in B',
      },
    );
    const replacement = relayEvents(roomB).find(
      (e) => relation(e.content as Content).rel_type === 'm.replace',
    )?.content as Content;
    expect(relation(replacement).event_id).toBe(carolCopyB?.event_id);
    expect(String((replacement['m.new_content'] as Content).body)).toBe('[matrix] <Carol> yes, at ten');

    // 5. Carol deletes her reply: the relay removes its copy in room B; IRC and Kosmi keep theirs.
    hs.redact(carolId, roomA, carolReply);
    await waitFor(() => relayEvents(roomB).some((e) => e.type === 'm.room.redaction'), {
      what: 'redaction in B',
    });
    const redaction = relayEvents(roomB).find((e) => e.type === 'm.room.redaction');
    expect(redaction?.redacts ?? (redaction?.content as Content).redacts).toBe(carolCopyB?.event_id);

    // Each reply reached each network once.
    expect(alice.messages.filter((m) => m.nick === ircNick && m.text.endsWith('yes, at nine'))).toHaveLength(
      1,
    );
    expect(fromRelay(alice, bobLine)).toBeUndefined(); // never back to its source
  });

  it('serves an image posted on Matrix to a plain HTTP client, byte for byte; a forged link is 404', async () => {
    const bytes = randomBytes(300_000);
    const mxc = hs.uploadMedia(bytes, 'image/png', 'cat.png');
    hs.media(carolId, roomA, 'm.image', 'cat.png', {
      url: mxc,
      info: { mimetype: 'image/png', size: bytes.length },
    });
    const line = await alice.waitForMessage(
      (m) => m.nick === ircNick && m.text.startsWith('[matrix] <Carol> sent an image: '),
    );
    const link = line.text.slice('[matrix] <Carol> sent an image: '.length);
    expect(link).toMatch(
      new RegExp(
        `^http://127\\.0\\.0\\.1:${httpPort}/media/localhost/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/cat\\.png$`,
      ),
    );
    await waitFor(() => kosmiRelayed(`[matrix] <Carol> sent an image: ${link}`) !== undefined, {
      what: 'link on Kosmi',
    });

    const answer = await fetch(link); // no token, no cookie: what a browser on IRC or Kosmi does
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('image/png');
    expect(answer.headers.get('content-security-policy')).toBe('sandbox');
    expect(Buffer.from(await answer.arrayBuffer()).equals(bytes)).toBe(true);

    const parts = link.split('/');
    const mac = parts[parts.length - 2] ?? '';
    parts[parts.length - 2] = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    const forged = await fetch(parts.join('/'));
    expect(forged.status).toBe(404);
    await forged.arrayBuffer();

    // The other Matrix room gets the file itself, the same mxc URI.
    await waitFor(() => relayEvents(roomB).some((e) => (e.content as Content).url === mxc), {
      what: 'image in B',
    });
    expect(daemon.output()).not.toContain(MATRIX_PASSWORD);
  });
});
