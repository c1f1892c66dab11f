import { afterEach, describe, expect, it } from 'vitest';
import { MatrixFixture, outbound } from '../helpers/matrix-homeserver/fixture.js';
import { waitFor } from '../helpers/wait-for.js';

describe('Matrix adapter against the homeserver emulator', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  it('logs in with a password, joins the room by alias and relays both ways', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    expect(fx.hs.isJoined(fx.relayUserId, fx.alias)).toBe(true);

    fx.hs.text(fx.aliceId, fx.alias, 'hello from matrix');
    const got = await waitFor(() => relay.received.find((m) => m.text === 'hello from matrix'), {
      what: 'inbound',
    });
    expect(got.sender.nick).toBe('Alice Liddell');
    expect(got.sender.userId).toBe(fx.aliceId);
    expect(got.source).toEqual({ account: 'matrix.test', channel: fx.alias });

    await relay.send(outbound(fx.alias, 'hi <b>there</b> & you'));
    const posted = fx.hs.messagesFrom(fx.relayUserId, fx.alias);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      msgtype: 'm.text',
      body: '[irc] <bob> hi <b>there</b> & you',
      format: 'org.matrix.custom.html',
      formatted_body: '[irc] &lt;<strong>bob</strong>&gt; hi &lt;b&gt;there&lt;/b&gt; &amp; you',
    });
    expect(relay.remembered).toEqual(['[irc] <bob> hi <b>there</b> & you']);
  });
});
