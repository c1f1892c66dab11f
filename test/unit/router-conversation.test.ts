import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterCapabilities } from '../../src/core/adapter.js';
import { editText, renderReply } from '../../src/core/conversation.js';
import { EchoGuard } from '../../src/core/echo-guard.js';
import type { Protocol } from '../../src/core/message.js';
import { Router, type RouterAccount } from '../../src/core/router.js';
import { FakeAdapter } from '../helpers/fake-adapter.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';
import { waitFor } from '../helpers/wait-for.js';

const silent = pino({ level: 'silent' });
const inout = (account: string, channel: string) => ({ account, channel, direction: 'inout' as const });

const MATRIX_CAPS: AdapterCapabilities = {
  formatting: 'plain',
  maxMessageBytes: 4096,
  multiline: true,
  inFlight: 1,
  edits: true,
  deletes: true,
  replies: 'linked',
};
const KOSMI_CAPS: AdapterCapabilities = { ...MATRIX_CAPS, edits: false, deletes: false, replies: 'native' };
const IRC_CAPS: AdapterCapabilities = {
  formatting: 'plain',
  maxMessageBytes: 400,
  multiline: false,
  inFlight: 1,
  edits: false,
};

interface Net {
  readonly adapter: FakeAdapter;
  readonly channel: string;
}

let routers: Router[] = [];
afterEach(() => {
  for (const router of routers) router.close();
  routers = [];
});

/**
 * One gateway over the given endpoints; every adapter names each delivered piece
 * "<account>:<piece id>" so the map records copies, like the real networks' ids.
 */
async function gateway(
  endpoints: {
    account: string;
    protocol: Protocol;
    channel: string;
    caps: AdapterCapabilities;
    replyStyle?: 'mention' | 'quote';
  }[],
  options: { now?: () => number; editWindowMs?: number } = {},
) {
  const accounts = new Map<string, RouterAccount>();
  const nets: Record<string, Net> = {};
  for (const endpoint of endpoints) {
    const adapter = new FakeAdapter(endpoint.account, endpoint.protocol);
    adapter.capabilities = endpoint.caps;
    adapter.networkIdOf = (piece) => `${endpoint.account}:${piece.id}`;
    await adapter.start();
    nets[endpoint.account] = { adapter, channel: endpoint.channel };
    accounts.set(endpoint.account, {
      adapter,
      label: endpoint.protocol,
      remoteNickFormat: '<{NICK}> ',
      queueBounds: { maxMessages: 100, maxAgeMs: 900_000 },
      replyStyle: endpoint.replyStyle ?? 'mention',
      editMarker: '(edited) ',
      editWindowMs: options.editWindowMs ?? 900_000,
    });
  }
  const ledger = new MemoryLedger();
  const router = new Router({
    gateways: [{ name: 'g', endpoints: endpoints.map((e) => inout(e.account, e.channel)) }],
    accounts,
    echoGuard: new EchoGuard(),
    store: ledger,
    logger: silent,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  routers.push(router);
  const net = (account: string): Net => {
    const found = nets[account];
    if (found === undefined) throw new Error(account);
    return found;
  };
  return { router, ledger, net };
}

const THREE = [
  { account: 'irc.a', protocol: 'irc' as const, channel: '#x', caps: IRC_CAPS },
  { account: 'kosmi.k', protocol: 'kosmi' as const, channel: 'room', caps: KOSMI_CAPS },
  { account: 'matrix.m', protocol: 'matrix' as const, channel: '!a:hs', caps: MATRIX_CAPS },
  { account: 'matrix.n', protocol: 'matrix' as const, channel: '!b:hs', caps: MATRIX_CAPS },
];

describe('replies', () => {
  it('a Matrix reply to an IRC message: a mention on IRC, a native reply on Kosmi, a linked reply in the other room', async () => {
    const { net, ledger } = await gateway(THREE);
    const irc = net('irc.a');
    irc.adapter.receive('#x', 'movie at nine?', 'alice', { networkId: 'irc-msgid-1' });
    await waitFor(() => ledger.copies.length === 3);
    const copyInA = ledger.copies.find((c) => c.account === 'matrix.m')?.networkId ?? '';
    const kosmiCopy = ledger.copies.find((c) => c.account === 'kosmi.k')?.networkId;
    const copyInB = ledger.copies.find((c) => c.account === 'matrix.n')?.networkId;

    net('matrix.m').adapter.receive('!a:hs', 'yes, at nine', 'bob', {
      networkId: '$reply',
      replyTo: { networkId: copyInA },
    });
    await waitFor(() => irc.adapter.sent.length === 1 && net('matrix.n').adapter.sent.length === 2);
    // IRC without a reply link: the mention form, with the IRC author's nick.
    expect(irc.adapter.sent[0]).toMatchObject({ text: 'alice: yes, at nine' });
    expect(irc.adapter.sent[0]?.replyTo).toBeUndefined();
    // Kosmi shows the original itself: its id, and no mention.
    expect(net('kosmi.k').adapter.sent[1]).toMatchObject({ text: 'yes, at nine', replyTo: kosmiCopy });
    // Another Matrix room: a real reply to the relay's copy there, the mention kept for old clients.
    expect(net('matrix.n').adapter.sent[1]).toMatchObject({ text: 'alice: yes, at nine', replyTo: copyInB });
  });

  it('a reply into the network the original came from links the original itself', async () => {
    const ircLinked = { ...IRC_CAPS, replies: 'linked' as const };
    const { net, ledger } = await gateway([
      { account: 'irc.a', protocol: 'irc', channel: '#x', caps: ircLinked },
      { account: 'matrix.m', protocol: 'matrix', channel: '!a:hs', caps: MATRIX_CAPS },
    ]);
    net('irc.a').adapter.receive('#x', 'who is in?', 'alice', { networkId: 'msgid-7' });
    await waitFor(() => ledger.copies.length === 1);
    const copy = ledger.copies[0]?.networkId ?? '';
    net('matrix.m').adapter.receive('!a:hs', 'me', 'bob', { replyTo: { networkId: copy } });
    await waitFor(() => net('irc.a').adapter.sent.length === 1);
    expect(net('irc.a').adapter.sent[0]).toMatchObject({ text: 'alice: me', replyTo: 'msgid-7' });
  });

  it('quote style: one quote line of at most 80 characters, cut at a grapheme and marked, then the reply', async () => {
    const { net, ledger } = await gateway([
      { account: 'matrix.m', protocol: 'matrix', channel: '!a:hs', caps: MATRIX_CAPS },
      { account: 'irc.a', protocol: 'irc', channel: '#x', caps: IRC_CAPS, replyStyle: 'quote' },
    ]);
    const long = `${'word '.repeat(15)}👍🏽 and more text after the cut`;
    net('matrix.m').adapter.receive('!a:hs', long, 'alice', { networkId: '$orig' });
    await waitFor(() => ledger.copies.length === 1);
    net('matrix.m').adapter.receive('!a:hs', 'agreed', 'bob', { replyTo: { networkId: '$orig' } });
    await waitFor(() => net('irc.a').adapter.sent.length === 3);
    const [quote, reply] = net('irc.a')
      .adapter.sent.slice(1)
      .map((p) => p.text);
    expect(quote).toBe(`> <alice> ${'word '.repeat(15)}👍🏽 and…`);
    expect(reply).toBe('agreed');
  });

  it('an original the map does not know: the author the adapter fetched, or a plain message', async () => {
    const { net } = await gateway([
      { account: 'matrix.m', protocol: 'matrix', channel: '!a:hs', caps: MATRIX_CAPS },
      { account: 'irc.a', protocol: 'irc', channel: '#x', caps: IRC_CAPS },
    ]);
    const m = net('matrix.m').adapter;
    m.receive('!a:hs', 'sure', 'bob', { replyTo: { networkId: '$old', nick: 'carol', text: 'old news' } });
    m.receive('!a:hs', 'plain', 'bob', { replyTo: { networkId: '$unknown' } });
    await waitFor(() => net('irc.a').adapter.sent.length === 2);
    expect(net('irc.a').adapter.sent.map((p) => [p.text, p.replyTo])).toEqual([
      ['carol: sure', undefined],
      ['plain', undefined],
    ]);
  });
});

describe('edits', () => {
  it('replaces the copy in another Matrix room; shows only the change on IRC and Kosmi, with the marker', async () => {
    const { net, ledger } = await gateway(THREE);
    const m = net('matrix.m').adapter;
    m.receive('!a:hs', 'see you at nine tonight at the cinema', 'bob', { networkId: '$orig' });
    await waitFor(() => ledger.copies.length === 3);
    const copyInB = ledger.copies.find((c) => c.account === 'matrix.n')?.networkId;
    m.receive('!a:hs', 'see you at ten tonight at the cinema', 'bob', {
      networkId: '$edit',
      editOf: '$orig',
    });
    await waitFor(() => net('irc.a').adapter.sent.length === 2 && net('matrix.n').adapter.sent.length === 2);
    expect(net('matrix.n').adapter.sent[1]).toMatchObject({
      text: 'see you at ten tonight at the cinema',
      replaces: copyInB,
    });
    expect(net('irc.a').adapter.sent[1]).toMatchObject({ text: '(edited) …ten…', edited: true });
    expect(net('kosmi.k').adapter.sent[1]).toMatchObject({ text: '(edited) …ten…' });

    // A second edit is compared with what people saw last, not with the first version.
    m.receive('!a:hs', 'see you at ten tonight at the old cinema', 'bob', {
      networkId: '$edit2',
      editOf: '$orig',
    });
    await waitFor(() => net('irc.a').adapter.sent.length === 3);
    expect(net('irc.a').adapter.sent[2]?.text).toBe('(edited) …old…');
  });

  it('past the edit window only in-place replacements go out; an edit of an unknown message goes nowhere', async () => {
    let now = 1_000_000;
    const { net, ledger } = await gateway(THREE, { now: () => now, editWindowMs: 15 * 60_000 });
    const m = net('matrix.m').adapter;
    m.receive('!a:hs', 'first version', 'bob', { networkId: '$orig' });
    await waitFor(() => ledger.copies.length === 3);
    now += 16 * 60_000;
    m.receive('!a:hs', 'second version', 'bob', { networkId: '$e1', editOf: '$orig' });
    m.receive('!a:hs', 'never relayed', 'bob', { networkId: '$e2', editOf: '$not-relayed' });
    m.receive('!a:hs', 'marker', 'bob');
    await waitFor(() => net('irc.a').adapter.sent.length === 2);
    expect(net('irc.a').adapter.sent.map((p) => p.text)).toEqual(['first version', 'marker']);
    expect(net('matrix.n').adapter.sent.map((p) => [p.text, p.replaces !== undefined])).toEqual([
      ['first version', false],
      ['second version', true],
      ['marker', false],
    ]);
  });
});

describe('deletions', () => {
  it("removes the relay's copies where the network can, and does not deliver what still waits", async () => {
    const { router, net, ledger } = await gateway(THREE);
    const m = net('matrix.m').adapter;
    const irc = net('irc.a').adapter;
    m.receive('!a:hs', 'oops, wrong room', 'bob', { networkId: '$oops' });
    await waitFor(() => ledger.copies.length === 3);
    const copyInB = ledger.copies.find((c) => c.account === 'matrix.n')?.networkId;
    m.emit('deletion', { source: { account: 'matrix.m', channel: '!a:hs' }, networkId: '$oops' });
    await waitFor(() => net('matrix.n').adapter.sent.length === 2);
    expect(net('matrix.n').adapter.sent[1]).toMatchObject({ redacts: copyInB, text: '' });
    expect(irc.sent).toHaveLength(1); // IRC cannot delete: nothing is sent there
    expect(net('kosmi.k').adapter.sent).toHaveLength(1);

    // Deleted before IRC got it: IRC never sees it; the ledger forgets it.
    irc.disconnect();
    m.receive('!a:hs', 'secret typed in the wrong place', 'bob', { networkId: '$secret' });
    expect(router.queueDepth('irc.a')).toBe(1);
    m.emit('deletion', { source: { account: 'matrix.m', channel: '!a:hs' }, networkId: '$secret' });
    expect(router.queueDepth('irc.a')).toBe(0);
    expect([...ledger.pieces.values()].filter((p) => p.account === 'irc.a')).toEqual([]);
    irc.connect();
    m.receive('!a:hs', 'after', 'bob');
    await waitFor(() => irc.sent.length === 2);
    expect(irc.sent.map((p) => p.text)).toEqual(['oops, wrong room', 'after']);
  });

  it('a deletion of a message the relay never relayed does nothing', async () => {
    const { router, net } = await gateway(THREE);
    net('matrix.m').adapter.emit('deletion', {
      source: { account: 'matrix.m', channel: '!a:hs' },
      networkId: '$x',
    });
    expect(router.counters.deletions).toBe(0);
    expect(net('matrix.n').adapter.sent).toEqual([]);
  });
});

describe('conversation text', () => {
  it('editText shows a few changed words, else the whole text', () => {
    expect(editText('helo world', 'hello world', true)).toBe('hello…');
    expect(editText('a b c', 'a b c d', true)).toBe('…d');
    expect(editText('one two three', 'one three', true)).toBe('one three'); // only a removal
    expect(editText('short', 'entirely different words here now', true)).toBe(
      'entirely different words here now',
    );
    expect(editText('x'.repeat(200), 'changed', false)).toBe('changed');
  });

  it('renderReply flattens a multi-line original into one quote line', () => {
    expect(renderReply('quote', { nick: 'al', text: 'line one\nline two' }, 'ok')).toBe(
      '> <al> line one line two\nok',
    );
    expect(renderReply('mention', { nick: 'al', text: 'x' }, 'ok')).toBe('al: ok');
  });
});
