import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/core/message.js';
import { MatrixFixture, outbound, type RelayHarness } from '../helpers/matrix-homeserver/fixture.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 4 §3 / §5: rooms and the message mapping in both directions. */
describe('Matrix rooms and messages', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  /** Posts a marker after the events under test and returns everything received up to it. */
  async function receivedUntilMarker(relay: RelayHarness): Promise<ChatMessage[]> {
    const marker = `marker ${Math.random().toString(36).slice(2)}`;
    fx.hs.text(fx.aliceId, fx.alias, marker);
    await waitFor(() => relay.received.some((m) => m.text === marker), { what: 'marker' });
    return relay.received.filter((m) => m.text !== marker);
  }

  it('to Matrix: plain body with the prefix, HTML-escaped formatted_body with the nick in bold, emote, notice', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    await relay.send(
      outbound(fx.alias, '<script>alert("x")</script> & <b>bold</b>\nsecond line', {
        nick: '<evil>',
        prefix: '[irc] <<evil>> ',
      }),
    );
    await relay.send(outbound(fx.alias, 'waves', { kind: 'action' }));
    await relay.send(outbound(fx.alias, 'server notice', { kind: 'notice' }));
    await relay.send(outbound(fx.alias, 'zero width', { nick: 'bob', prefix: '<b\u200bob> ' }));
    const posted = fx.hs.messagesFrom(fx.relayUserId, fx.alias);
    expect(posted[0]).toEqual({
      msgtype: 'm.text',
      body: '[irc] <<evil>> <script>alert("x")</script> & <b>bold</b>\nsecond line',
      format: 'org.matrix.custom.html',
      formatted_body:
        '[irc] &lt;<strong>&lt;evil&gt;</strong>&gt; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;<br>second line',
    });
    expect(posted[1]).toMatchObject({ msgtype: 'm.emote', body: '[irc] <bob> waves' });
    expect(posted[2]).toMatchObject({ msgtype: 'm.notice', body: '[irc] <bob> server notice' });
    expect(posted[3]).toMatchObject({ formatted_body: '&lt;<strong>b\u200bob</strong>&gt; zero width' });
  });

  it('html = false sends plain bodies only', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings({ html: false })));
    await relay.send(outbound(fx.alias, 'plain <please>'));
    expect(fx.hs.messagesFrom(fx.relayUserId, fx.alias)).toEqual([
      { msgtype: 'm.text', body: '[irc] <bob> plain <please>' },
    ]);
  });

  it('from Matrix: display names, emotes, notices, replies without fallback, files; no echo; a redaction is no message', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const carol = fx.hs.registerUser(`carol${Date.now().toString(36)}`, 'pw');
    fx.hs.join(carol, fx.alias);
    await relay.send(outbound(fx.alias, 'relayed out, must not come back'));
    const first = fx.hs.text(fx.aliceId, fx.alias, 'original line');
    fx.hs.emote(fx.aliceId, fx.alias, 'dances');
    fx.hs.post(fx.aliceId, fx.alias, { msgtype: 'm.notice', body: 'bot notice' });
    fx.hs.reply(carol, fx.alias, first, 'my answer');
    fx.hs.media(fx.aliceId, fx.alias, 'm.image', 'cat picture.png');
    fx.hs.setRoomDisplayName(fx.aliceId, fx.alias, 'Alice in Wonderland');
    fx.hs.text(fx.aliceId, fx.alias, 'after rename');

    const got = await receivedUntilMarker(relay);
    const summary = got.map((m) => [m.kind, m.sender.nick, m.text]);
    expect(summary.slice(0, 4)).toEqual([
      ['text', 'Alice Liddell', 'original line'],
      ['action', 'Alice Liddell', 'dances'],
      ['notice', 'Alice Liddell', 'bot notice'],
      ['text', carol.slice(1, carol.indexOf(':')), 'my answer'],
    ]);
    // Without media links (general.public_url unset) a file is named; no dead v3 download link.
    expect(summary[4]?.[2]).toBe('sent an image: cat picture.png');
    expect(summary.slice(5)).toEqual([['text', 'Alice in Wonderland', 'after rename']]);
    expect(got.some((m) => m.text.includes('must not come back'))).toBe(false);

    // A redaction is not relayed as anything.
    relay.received.length = 0;
    fx.hs.redact(fx.aliceId, fx.alias, first);
    expect(await receivedUntilMarker(relay)).toEqual([]);
  });

  it('edits are relayed as editOf with the new text and no marker (the core marks them), or dropped when configured', async () => {
    fx = await MatrixFixture.create();
    const marking = await fx.started(fx.adapter(fx.settings()));
    const original = fx.hs.text(fx.aliceId, fx.alias, 'helo wrold');
    fx.hs.edit(fx.aliceId, fx.alias, original, 'hello world');
    const got = await receivedUntilMarker(marking);
    expect(got.map((m) => [m.text, m.editOf])).toEqual([
      ['helo wrold', undefined],
      ['hello world', original],
    ]);
    await marking.adapter.stop(1_000);

    const dropping = await fx.started(fx.adapter(fx.settings({ edits: 'drop' }), { account: 'matrix.drop' }));
    const second = fx.hs.text(fx.aliceId, fx.alias, 'tpyo');
    fx.hs.edit(fx.aliceId, fx.alias, second, 'typo');
    expect((await receivedUntilMarker(dropping)).map((m) => m.text)).toEqual(['tpyo']);
  });

  it('an encrypted room while encryption is off: one clear warning, nothing relayed from it', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    fx.hs.markEncrypted(fx.alias);
    fx.hs.encrypted(fx.aliceId, fx.alias);
    fx.hs.encrypted(fx.aliceId, fx.alias);
    const got = await receivedUntilMarker(relay);
    expect(got).toEqual([]);
    const warnings = fx.logged(/is end-to-end encrypted but \[matrix\.test\] has encryption = false/);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe(40);

    // A room that is encrypted from the start is reported when joined.
    const secret = fx.hs.createRoom({
      creator: fx.aliceId,
      alias: `#secret${Date.now().toString(36)}:localhost`,
      encrypted: true,
    });
    await fx.started(fx.adapter(fx.settings(), { account: 'matrix.second', channels: [secret] }));
    await waitFor(() => fx.logged(/\[matrix\.second\] has encryption = false/).length === 1, {
      what: 'warning at join',
    });
    // Each account warns about its own gateway rooms only, once.
    expect(fx.logged(/has encryption = false/)).toHaveLength(2);
  });

  it('accepts invites only to configured rooms', async () => {
    fx = await MatrixFixture.create();
    const privateAlias = `#private${Date.now().toString(36)}:localhost`;
    const privateRoom = fx.hs.createRoom({ creator: fx.aliceId, alias: privateAlias, public: false });
    const otherRoom = fx.hs.createRoom({ creator: fx.aliceId, public: false });
    fx.hs.text(fx.aliceId, privateRoom, 'said before the relay was invited');
    const relay = fx.adapter(fx.settings(), { channels: [fx.alias, privateAlias] });
    await fx.started(relay);
    await waitFor(
      () =>
        fx.logged('cannot join Matrix room: invite the relay account or fix the channel in the gateway')
          .length === 1,
    );
    fx.hs.invite(fx.aliceId, otherRoom, fx.relayUserId);
    fx.hs.invite(fx.aliceId, privateRoom, fx.relayUserId);
    await waitFor(() => fx.hs.isJoined(fx.relayUserId, privateRoom), { what: 'joined after the invite' });
    expect(fx.hs.isJoined(fx.relayUserId, otherRoom)).toBe(false);
    expect(fx.logged('ignoring invite to a room that is in no gateway')).toHaveLength(1);
    fx.hs.text(fx.aliceId, privateRoom, 'in the private room');
    await waitFor(() =>
      relay.received.find((m) => m.text === 'in the private room' && m.source.channel === privateAlias),
    );
    // The room's history from before the relay joined is not relayed.
    expect(relay.received.filter((m) => m.source.channel === privateAlias).map((m) => m.text)).toEqual([
      'in the private room',
    ]);
  });

  it('never relays history from before the first start; after a restart relays what is younger than the max age', async () => {
    fx = await MatrixFixture.create();
    fx.hs.text(fx.aliceId, fx.alias, 'before the first start');
    const first = await fx.started(fx.adapter(fx.settings()));
    expect(await receivedUntilMarker(first)).toEqual([]);
    await first.adapter.stop(1_000);

    const old = fx.hs.text(fx.aliceId, fx.alias, 'while down, too old');
    fx.hs.backdate(fx.alias, old, 20 * 60_000);
    fx.hs.text(fx.aliceId, fx.alias, 'while down, recent');
    const second = await fx.started(fx.adapter(fx.settings({ backlog_max_age_seconds: 900 })));
    expect((await receivedUntilMarker(second)).map((m) => m.text)).toEqual(['while down, recent']);
    await second.adapter.stop(1_000);

    fx.hs.text(fx.aliceId, fx.alias, 'while down again');
    const third = await fx.started(fx.adapter(fx.settings({ backlog_max_age_seconds: 0 })));
    expect(await receivedUntilMarker(third)).toEqual([]);
  });

  it('fills the gap of a limited sync timeline through /messages: a burst of 250 arrives complete and in order', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const lines = Array.from({ length: 250 }, (_, i) => `burst ${i + 1}`);
    for (const line of lines) fx.hs.text(fx.aliceId, fx.alias, line); // one synchronous burst: one limited sync
    expect((await receivedUntilMarker(relay)).map((m) => m.text)).toEqual(lines);
    expect(fx.hs.requests.some((r) => r.path.endsWith('/messages'))).toBe(true);
    await relay.adapter.stop(1_000);

    // The same after a restart: 300 messages while down, all young enough.
    const more = Array.from({ length: 300 }, (_, i) => `while down ${i + 1}`);
    for (const line of more) fx.hs.text(fx.aliceId, fx.alias, line);
    const again = await fx.started(fx.adapter(fx.settings()));
    expect((await receivedUntilMarker(again)).map((m) => m.text)).toEqual(more);
  });
});
