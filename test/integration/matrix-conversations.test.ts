import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../src/core/adapter.js';
import type { ChatDeletion, ChatMessage } from '../../src/core/message.js';
import type { MediaLinks } from '../../src/media/types.js';
import { MatrixFixture, outbound, type RelayHarness } from '../helpers/matrix-homeserver/fixture.js';
import { memoryMessages } from '../helpers/memory-cursors.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 8 on Matrix: replies, edits, redactions and files, both directions. */
describe('Matrix conversations: replies, edits, redactions, files', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  async function receivedUntilMarker(relay: RelayHarness): Promise<ChatMessage[]> {
    const marker = `marker ${Math.random().toString(36).slice(2)}`;
    fx.hs.text(fx.aliceId, fx.alias, marker);
    await waitFor(() => relay.received.some((m) => m.text === marker), { what: 'marker' });
    return relay.received.filter((m) => !m.text.startsWith('marker '));
  }

  const eventFetches = (): number =>
    fx.hs.requests.filter((r) => /\/rooms\/[^/]+\/event\//.test(r.path)).length;

  it('a reply to a message the map knows carries only its id; to an unknown one the original is fetched for nick and text', async () => {
    fx = await MatrixFixture.create();
    const known = memoryMessages();
    const relay = await fx.started(fx.adapter(fx.settings(), { messages: known }));
    const carol = fx.hs.registerUser(`carol${Date.now().toString(36)}`, 'pw', 'Carol');
    fx.hs.join(carol, fx.alias);
    const relayed = fx.hs.text(fx.aliceId, fx.alias, 'film at eight?');
    known.known.add(relayed);
    const notRelayed = fx.hs.post(fx.aliceId, fx.alias, { msgtype: 'm.text', body: 'said elsewhere' });
    const fetchesBefore = eventFetches();

    fx.hs.replyTo(carol, fx.alias, relayed, 'yes, at eight');
    fx.hs.reply(carol, fx.alias, notRelayed, 'old client reply'); // with a fallback to strip
    fx.hs.replyTo(carol, fx.alias, '$does-not-exist', 'to nothing');
    const got = (await receivedUntilMarker(relay)).filter((m) => m.sender.userId === carol);

    expect(got.map((m) => [m.text, m.replyTo])).toEqual([
      ['yes, at eight', { networkId: relayed }],
      ['old client reply', { networkId: notRelayed, nick: 'Alice Liddell', text: 'said elsewhere' }],
      ['to nothing', { networkId: '$does-not-exist' }],
    ]);
    // Only the unknown originals were fetched (GET /rooms/{roomId}/event/{eventId}).
    expect(eventFetches() - fetchesBefore).toBe(2);
    expect(fx.logged('could not fetch the original of a reply')).toHaveLength(1);
  });

  it('a fetched original that is itself an edit reads as its new content', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const first = fx.hs.text(fx.aliceId, fx.alias, 'typo');
    const edit = fx.hs.edit(fx.aliceId, fx.alias, first, 'fixed');
    fx.hs.replyTo(fx.aliceId, fx.alias, edit, 'replying to the edit');
    const reply = (await receivedUntilMarker(relay)).find((m) => m.text === 'replying to the edit');
    expect(reply?.replyTo).toEqual({ networkId: edit, nick: 'Alice Liddell', text: 'fixed' });
  });

  it('a redaction becomes a deletion for every channel of the room (room v10 and v11), never for the relay own', async () => {
    fx = await MatrixFixture.create();
    const v11 = `#v11${Date.now().toString(36)}:localhost`;
    fx.hs.createRoom({ creator: fx.aliceId, alias: v11, roomVersion: '11' });
    const relay = await fx.started(fx.adapter(fx.settings(), { channels: [fx.alias, v11] }));
    const deletions: ChatDeletion[] = [];
    relay.adapter.on('deletion', (d) => deletions.push(d));
    await waitFor(() => fx.hs.isJoined(fx.relayUserId, v11), { what: 'joined v11 room' });

    const old = fx.hs.text(fx.aliceId, fx.alias, 'regret');
    const newer = fx.hs.text(fx.aliceId, v11, 'regret in v11');
    const ours = await relay.send(outbound(fx.alias, 'relayed'));
    fx.hs.redact(fx.aliceId, fx.alias, old);
    fx.hs.redact(fx.aliceId, v11, newer);
    fx.hs.redact(fx.aliceId, fx.alias, ours.networkId ?? ''); // alice may (power level 100)
    await relay.send(outbound(fx.alias, 'ours, removed by us', { redacts: ours.networkId ?? '' }));
    await receivedUntilMarker(relay);

    expect(fx.hs.events(v11, { type: 'm.room.redaction' })[0]).toMatchObject({ content: { redacts: newer } });
    expect(fx.hs.events(v11, { type: 'm.room.redaction' })[0]).not.toHaveProperty('redacts');
    // Rooms are processed one after the other in a sync answer: order across rooms is not kept.
    expect(deletions).toHaveLength(3);
    expect(deletions).toEqual(
      expect.arrayContaining([
        { source: { account: 'matrix.test', channel: fx.alias }, networkId: old },
        { source: { account: 'matrix.test', channel: v11 }, networkId: newer },
        { source: { account: 'matrix.test', channel: fx.alias }, networkId: ours.networkId },
      ]),
    );
  });

  it('files from Matrix: words and attachment, with the relay links, without, and encrypted', async () => {
    fx = await MatrixFixture.create();
    const links: MediaLinks = {
      link: (mxc, name) =>
        `https://relay.example/media/${mxc.slice('mxc://'.length)}/mac/${encodeURIComponent(name)}`,
    };
    const linking = await fx.started(fx.adapter(fx.settings(), { media: links }));
    const plain = await fx.started(fx.adapter(fx.settings(), { account: 'matrix.plain' }));
    const mxc = fx.hs.uploadMedia(Buffer.from('png bytes'), 'image/png', 'cat.png');
    fx.hs.media(fx.aliceId, fx.alias, 'm.image', 'cat.png', {
      url: mxc,
      info: { mimetype: 'image/png', size: 9, w: 640, h: 480 },
    });
    fx.hs.sticker(fx.aliceId, fx.alias, 'wave', mxc);
    fx.hs.encryptedMedia(fx.aliceId, fx.alias, 'm.image', 'secret.jpg');

    const linked = await receivedUntilMarker(linking);
    const named = await receivedUntilMarker(plain);
    const id = mxc.slice('mxc://localhost/'.length);
    expect(linked.map((m) => [m.kind, m.text])).toEqual([
      ['text', `sent an image: https://relay.example/media/localhost/${id}/mac/cat.png`],
      ['text', `sent a sticker: https://relay.example/media/localhost/${id}/mac/wave`],
      ['text', 'sent an image: secret.jpg (encrypted: the relay cannot open end-to-end encrypted files)'],
    ]);
    expect(named.map((m) => m.text)).toEqual([
      'sent an image: cat.png',
      'sent a sticker: wave',
      'sent an image: secret.jpg (encrypted: the relay cannot open end-to-end encrypted files)',
    ]);
    expect(linked[0]?.attachment).toEqual({
      kind: 'image',
      name: 'cat.png',
      native: { protocol: 'matrix', uri: mxc, mimetype: 'image/png', size: 9, width: 640, height: 480 },
    });
    expect(linked[1]?.attachment).toMatchObject({
      kind: 'sticker',
      native: { uri: mxc, width: 64, height: 64 },
    });
    expect(linked[2]?.attachment).toEqual({ kind: 'image', name: 'secret.jpg' });
    expect(linked.concat(named).some((m) => m.text.includes('/_matrix/media/'))).toBe(false);
  });

  it('to Matrix: a reply links m.in_reply_to, an edit is an m.replace with m.new_content', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const question = fx.hs.text(fx.aliceId, fx.alias, 'film at eight?');
    const reply = await relay.send(outbound(fx.alias, 'alice: <yes>', { replyTo: question }));
    await relay.send(outbound(fx.alias, 'alice: <no>, nine', { replaces: reply.networkId ?? '' }));
    const [sentReply, sentEdit] = fx.hs.messagesFrom(fx.relayUserId, fx.alias);
    expect(sentReply).toEqual({
      msgtype: 'm.text',
      body: '[irc] <bob> alice: <yes>',
      format: 'org.matrix.custom.html',
      formatted_body: '[irc] &lt;<strong>bob</strong>&gt; alice: &lt;yes&gt;',
      'm.relates_to': { 'm.in_reply_to': { event_id: question } },
    });
    expect(sentEdit).toEqual({
      msgtype: 'm.text',
      body: '* [irc] <bob> alice: <no>, nine',
      format: 'org.matrix.custom.html',
      formatted_body: '* [irc] &lt;<strong>bob</strong>&gt; alice: &lt;no&gt;, nine',
      'm.new_content': {
        msgtype: 'm.text',
        body: '[irc] <bob> alice: <no>, nine',
        format: 'org.matrix.custom.html',
        formatted_body: '[irc] &lt;<strong>bob</strong>&gt; alice: &lt;no&gt;, nine',
      },
      'm.relates_to': { rel_type: 'm.replace', event_id: reply.networkId },
    });
  });

  it("to Matrix: redacts its own message; someone else's answers M_FORBIDDEN as a non-retryable DeliveryError", async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const ours = await relay.send(outbound(fx.alias, 'oops'));
    const redaction = await relay.send(outbound(fx.alias, '', { redacts: ours.networkId ?? '' }));
    const redactions = fx.hs.events(fx.alias, { type: 'm.room.redaction', sender: fx.relayUserId });
    expect(redactions.map((e) => [e.event_id, e.redacts])).toEqual([[redaction.networkId, ours.networkId]]);
    expect(fx.hs.events(fx.alias).find((e) => e.event_id === ours.networkId)?.content).toEqual({});
    expect(redaction.wire).toEqual([]);

    const hers = fx.hs.text(fx.aliceId, fx.alias, 'not yours');
    const failure = await relay
      .send(outbound(fx.alias, '', { redacts: hers }))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as DeliveryError).retryable).toBe(false);
    expect((failure as DeliveryError).message).toMatch(/M_FORBIDDEN/);
    expect(fx.hs.events(fx.alias).find((e) => e.event_id === hers)?.content).toEqual({
      msgtype: 'm.text',
      body: 'not yours',
    });
  });

  it('to Matrix: a file from another Matrix room is posted itself, with the sender in its caption, once per piece', async () => {
    fx = await MatrixFixture.create();
    const mxc = fx.hs.uploadMedia(Buffer.from('jpeg'), 'image/jpeg', 'cat.jpg');
    const piece = outbound(fx.alias, 'sent an image: https://relay.example/media/x/cat.jpg', {
      prefix: '[matrix] <alice> ',
      nick: 'alice',
      origin: { account: 'matrix.other', channel: '#other:hs', protocol: 'matrix', gateway: 'gw' },
      attachment: {
        kind: 'sticker',
        name: 'cat <1>.jpg',
        native: { protocol: 'matrix', uri: mxc, mimetype: 'image/jpeg', size: 4, width: 10, height: 20 },
      },
    });
    const first = await fx.started(fx.adapter(fx.settings()));
    const sent = await first.send(piece);
    expect(first.remembered).toEqual(['[matrix] <alice> cat <1>.jpg']);
    await first.adapter.stop(1_000);
    // Sent again after a restart (the core had no confirmation): the same transaction, no second event.
    const again = await fx.started(fx.adapter(fx.settings()));
    expect((await again.send(piece)).networkId).toBe(sent.networkId);
    expect(fx.hs.messagesFrom(fx.relayUserId, fx.alias)).toEqual([
      {
        msgtype: 'm.image',
        body: '[matrix] <alice> cat <1>.jpg',
        filename: 'cat <1>.jpg',
        url: mxc,
        info: { mimetype: 'image/jpeg', size: 4, w: 10, h: 20 },
        format: 'org.matrix.custom.html',
        formatted_body: '[matrix] &lt;<strong>alice</strong>&gt; cat &lt;1&gt;.jpg',
      },
    ]);
  });
});
