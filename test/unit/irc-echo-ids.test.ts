import { describe, expect, it } from 'vitest';
import { SendQueue, type LineSink } from '../../src/adapters/irc/send-queue.js';
import { renderLine } from '../../src/adapters/irc/split.js';
import { TokenBucket } from '../../src/core/token-bucket.js';

/**
 * A server as echo-message (IRCv3) describes it: it handles our lines in order, echoes each
 * PRIVMSG with a fresh msgid while handling it, and answers PING with PONG after that.
 */
function echoingServer(queue: () => SendQueue, tags: boolean): LineSink & { written: string[] } {
  const written: string[] = [];
  let next = 0;
  return {
    written,
    isJoined: () => true,
    allowsClientTag: () => tags,
    writeLine(wire) {
      written.push(wire);
      queueMicrotask(() => {
        const ping = /^PING :(.*)$/.exec(wire);
        if (ping !== null) {
          queue().confirm(ping[1] ?? '');
          return;
        }
        const privmsg = /PRIVMSG (\S+) :(.*)$/.exec(wire);
        if (privmsg !== null) queue().echoed(privmsg[1] ?? '', 'text', privmsg[2] ?? '', `id-${(next += 1)}`);
      });
      return Promise.resolve();
    },
  };
}

const line = (text: string, replyTo?: string) =>
  renderLine({
    kind: 'text',
    target: '#c',
    prefix: '',
    piece: text,
    ...(replyTo === undefined ? {} : { tags: [{ name: '+draft/reply', value: replyTo }] }),
  });

describe('SendQueue with echo-message', () => {
  it('resolves each piece with the msgid of its own line, same texts included, in order', async () => {
    const queue: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    queue.attach(echoingServer(() => queue, true));
    const results = await Promise.all([
      queue.send('#c', [line('same')]),
      queue.send('#C', [line('same')]),
      queue.send('#c', [line('other')]),
    ]);
    expect(results).toEqual([
      { wire: ['same'], networkId: 'id-1' },
      { wire: ['same'], networkId: 'id-2' },
      { wire: ['other'], networkId: 'id-3' },
    ]);
  });

  it('writes the reply tag only where the sink allows it, escaped', async () => {
    const tagged: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    const withTags = echoingServer(() => tagged, true);
    tagged.attach(withTags);
    await tagged.send('#c', [line('yes', 'a b')]);
    expect(withTags.written[0]).toBe('@+draft/reply=a\\sb PRIVMSG #c :yes');

    const plain: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    const withoutTags = echoingServer(() => plain, false);
    plain.attach(withoutTags);
    await plain.send('#c', [line('yes', 'a b')]);
    expect(withoutTags.written[0]).toBe('PRIVMSG #c :yes');
  });

  it('an echo that matches no unconfirmed line changes nothing', async () => {
    const queue: SendQueue = new SendQueue(new TokenBucket(100, 0), 60_000, 1);
    queue.attach(echoingServer(() => queue, true));
    expect(queue.echoed('#c', 'text', 'never sent', 'id-x')).toBe(false);
    expect(await queue.send('#c', [line('hi')])).toEqual({ wire: ['hi'], networkId: 'id-1' });
  });
});
