import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIrcClient } from '../helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';

describe('test helpers: ngircd and the test IRC client', () => {
  let server: NgircdServer;
  beforeAll(async () => {
    server = await startNgircd();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('relays text, action and notice between two clients, and survives a restart', async () => {
    const channel = `#${uniqueName('h')}`;
    const alice = await connectIrcClient({
      port: server.port,
      nick: uniqueName('alice'),
      channels: [channel],
    });
    const bob = await connectIrcClient({ port: server.port, nick: uniqueName('bob'), channels: [channel] });
    await alice.say(channel, 'héllo');
    await alice.action(channel, 'waves');
    await alice.notice(channel, 'note');
    const notice = await bob.waitForMessage((m) => m.kind === 'notice');
    expect(notice.text).toBe('note');
    expect(bob.messages.map((m) => [m.nick, m.kind, m.text])).toEqual([
      [alice.nick, 'text', 'héllo'],
      [alice.nick, 'action', 'waves'],
      [alice.nick, 'notice', 'note'],
    ]);
    expect(bob.messages[0]?.rawBytes).toBe(Buffer.byteLength(bob.messages[0]?.rawLine ?? '') + 2);
    await server.restart();
    await Promise.all([alice.waitForClose(), bob.waitForClose()]);
    const carol = await connectIrcClient({
      port: server.port,
      nick: uniqueName('carol'),
      channels: [channel],
    });
    await carol.quit();
    await alice.quit();
    await bob.quit();
  });
});
