import { describe, expect, it } from 'vitest';
import {
  mapRoomMessage as mapTyped,
  parseMxc,
  stripReplyFallback,
  type InboundOptions,
} from '../../src/adapters/matrix/inbound.js';
import { escapeHtml, htmlPrefix, renderForMatrix, textToHtml } from '../../src/adapters/matrix/outbound.js';
import type { OutboundPiece } from '../../src/core/message.js';
import { piece } from '../helpers/pieces.js';

const options: InboundOptions = { edits: 'mark', media: undefined };
const mapRoomMessage = (content: unknown, opts: InboundOptions): ReturnType<typeof mapTyped> =>
  mapTyped('m.room.message', content, opts);

const message = (overrides: Partial<OutboundPiece> = {}): OutboundPiece =>
  piece('#room:hs', 'hello', {
    prefix: '[irc] <bob> ',
    origin: { account: 'irc.a', channel: '#a', protocol: 'irc', gateway: 'g' },
    ...overrides,
  });

describe('Matrix inbound mapping', () => {
  it('maps msgtypes to kinds', () => {
    expect(mapRoomMessage({ msgtype: 'm.text', body: 'hi' }, options)).toEqual({
      relay: true,
      kind: 'text',
      text: 'hi',
    });
    expect(mapRoomMessage({ msgtype: 'm.emote', body: 'waves' }, options)).toMatchObject({
      kind: 'action',
      text: 'waves',
    });
    expect(mapRoomMessage({ msgtype: 'm.notice', body: 'n' }, options)).toMatchObject({ kind: 'notice' });
    expect(mapRoomMessage({ msgtype: 'org.example.custom', body: 'still text' }, options)).toMatchObject({
      kind: 'text',
      text: 'still text',
    });
  });

  it('skips untrusted shapes instead of throwing', () => {
    for (const content of [
      undefined,
      null,
      'text',
      [],
      {},
      { msgtype: 'm.text' },
      { body: 'x' },
      { msgtype: 'm.text', body: 42 },
      { msgtype: 'm.text', body: '   ' },
    ]) {
      expect(mapRoomMessage(content, options).relay).toBe(false);
    }
  });

  it('strips reply fallbacks (spec "Fallbacks for rich replies")', () => {
    expect(stripReplyFallback('> <@alice:hs> original\n> second line\n\nthe answer')).toBe('the answer');
    expect(stripReplyFallback('> quoted by hand\nno blank line')).toBe('no blank line');
    expect(stripReplyFallback('no quote\n> later quote')).toBe('no quote\n> later quote');
    const reply = {
      msgtype: 'm.text',
      body: '> <@alice:hs> q\n\nanswer',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } },
    };
    expect(mapRoomMessage(reply, options)).toMatchObject({ text: 'answer', replyTo: '$x' });
    // A quote typed by hand in a message that is not a reply is kept.
    expect(mapRoomMessage({ msgtype: 'm.text', body: '> wisdom\n\nI agree' }, options)).toMatchObject({
      text: '> wisdom\n\nI agree',
    });
  });

  it('keeps an IRC-style "> <nick> " quote in a message that is not a reply, strips it from a reply', () => {
    const quoted = '> <bob> the film starts at 8\n\nno, at 9';
    expect(mapRoomMessage({ msgtype: 'm.text', body: quoted }, options)).toMatchObject({
      relay: true,
      text: quoted,
    });
    // A one-line quote alone would otherwise be stripped to nothing and not relayed at all.
    expect(mapRoomMessage({ msgtype: 'm.text', body: '> <bob> see you there' }, options)).toMatchObject({
      relay: true,
      text: '> <bob> see you there',
    });
    // Some other relation (a thread) without m.in_reply_to is not a reply either.
    const threaded = {
      msgtype: 'm.text',
      body: quoted,
      'm.relates_to': { rel_type: 'm.thread', event_id: '$root' },
    };
    expect(mapRoomMessage(threaded, options)).toMatchObject({ relay: true, text: quoted });
    const reply = {
      msgtype: 'm.text',
      body: quoted,
      'm.relates_to': { 'm.in_reply_to': { event_id: '$q' } },
    };
    expect(mapRoomMessage(reply, options)).toMatchObject({ relay: true, text: 'no, at 9' });
  });

  it('relays edits as editOf with the new text and no marker, or drops them', () => {
    const edit = {
      msgtype: 'm.text',
      body: '* fixed',
      'm.new_content': { msgtype: 'm.text', body: 'fixed' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' },
    };
    expect(mapRoomMessage(edit, options)).toEqual({
      relay: true,
      kind: 'text',
      text: 'fixed',
      editOf: '$orig',
    });
    expect(mapRoomMessage(edit, { ...options, edits: 'drop' }).relay).toBe(false);
    const noNewContent = {
      msgtype: 'm.text',
      body: '* fallback only',
      'm.relates_to': { rel_type: 'm.replace', event_id: '$o' },
    };
    expect(mapRoomMessage(noNewContent, options)).toMatchObject({ text: 'fallback only', editOf: '$o' });
    const noTarget = { ...edit, 'm.relates_to': { rel_type: 'm.replace' } };
    expect(mapRoomMessage(noTarget, options).relay).toBe(false);
  });

  it('turns files into an attachment and words, with the relay link when there is one', () => {
    const image = {
      msgtype: 'm.image',
      body: 'cat.png',
      url: 'mxc://example.org/AbC_123',
      info: { mimetype: 'image/png', size: 2048, w: 640, h: 480 },
    };
    expect(mapRoomMessage(image, options)).toEqual({
      relay: true,
      kind: 'text',
      text: 'sent an image: cat.png',
      attachment: {
        kind: 'image',
        name: 'cat.png',
        native: {
          protocol: 'matrix',
          uri: 'mxc://example.org/AbC_123',
          mimetype: 'image/png',
          size: 2048,
          width: 640,
          height: 480,
        },
      },
    });
    const links = {
      link: (mxc: string, name: string) => `https://relay.example/media/${mxc.slice(6)}/mac/${name}`,
    };
    expect(mapRoomMessage(image, { ...options, media: links })).toMatchObject({
      text: 'sent an image: https://relay.example/media/example.org/AbC_123/mac/cat.png',
    });
    const file = {
      msgtype: 'm.file',
      body: 'the caption',
      filename: 'report final.pdf',
      url: 'mxc://example.org/id',
    };
    expect(mapRoomMessage(file, options)).toMatchObject({
      text: 'sent a file: report final.pdf\nthe caption',
      attachment: { kind: 'file', name: 'report final.pdf' },
    });
    expect(mapRoomMessage({ msgtype: 'm.video', body: 'v.mp4', url: 'mxc://e/v' }, options)).toMatchObject({
      text: 'sent a video: v.mp4',
    });
    expect(mapRoomMessage({ msgtype: 'm.audio', body: 'a.ogg', url: 'mxc://e/a' }, options)).toMatchObject({
      text: 'sent an audio file: a.ogg',
    });
    expect(mapTyped('m.sticker', { body: 'wave', url: 'mxc://e/s' }, options)).toMatchObject({
      text: 'sent a sticker: wave',
      attachment: { kind: 'sticker', name: 'wave' },
    });
    expect(
      mapRoomMessage({ msgtype: 'm.file', body: 'secret.txt', file: { url: 'mxc://x/y' } }, options),
    ).toEqual({
      relay: true,
      kind: 'text',
      text: 'sent a file: secret.txt (encrypted: the relay cannot open end-to-end encrypted files)',
      attachment: { kind: 'file', name: 'secret.txt' },
    });
    // Not an mxc URI: named, never linked, no native file.
    expect(
      mapRoomMessage(
        { msgtype: 'm.image', body: 'x.png', url: 'https://evil/x' },
        { ...options, media: links },
      ),
    ).toMatchObject({
      text: 'sent an image: x.png',
      attachment: { kind: 'image', name: 'x.png' },
    });
    expect(parseMxc('mxc://evil/../../x')).toBeUndefined();
    expect(parseMxc('https://not-mxc/x')).toBeUndefined();
    expect(parseMxc('mxc://example.org/AbC_123')).toEqual(['example.org', 'AbC_123']);
  });
});

describe('Matrix outbound rendering', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it("keeps URLs from other networks clickable: http(s) only, escaped, without the sentence's punctuation", () => {
    expect(textToHtml('see https://example.org/a?b=1&c=2.')).toBe(
      'see <a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>.',
    );
    expect(textToHtml('(http://x.test/p) and <b>')).toBe(
      '(<a href="http://x.test/p">http://x.test/p</a>) and &lt;b&gt;',
    );
    // A quote cannot leave the attribute; other schemes stay text.
    expect(textToHtml('https://e.test/"onmouseover=x javascript:alert(1)')).toBe(
      '<a href="https://e.test/">https://e.test/</a>&quot;onmouseover=x javascript:alert(1)',
    );
    expect(textToHtml('a\nhttps://e.test')).toBe('a<br><a href="https://e.test">https://e.test</a>');
  });

  it('bolds the nick inside the rendered prefix, also in its no-ping form', () => {
    expect(htmlPrefix('[irc] <bob> ', 'bob')).toBe('[irc] &lt;<strong>bob</strong>&gt; ');
    expect(htmlPrefix('<b\u200bob> ', 'bob')).toBe('&lt;<strong>b\u200bob</strong>&gt; ');
    expect(htmlPrefix('relay: ', 'bob')).toBe('relay: ');
    expect(htmlPrefix('', 'bob')).toBe('');
  });

  it('renders text, emote and notice events with body and formatted_body', () => {
    expect(renderForMatrix(message({ text: 'a\nb' }), { html: true })).toEqual({
      msgtype: 'm.text',
      body: '[irc] <bob> a\nb',
      format: 'org.matrix.custom.html',
      formatted_body: '[irc] &lt;<strong>bob</strong>&gt; a<br>b',
    });
    expect(renderForMatrix(message({ kind: 'action' }), { html: false })).toEqual({
      msgtype: 'm.emote',
      body: '[irc] <bob> hello',
    });
    expect(renderForMatrix(message({ kind: 'notice' }), { html: false }).msgtype).toBe('m.notice');
  });

  it('bolds a nick that starts with an emoji in its no-ping form too (split by code point, as core renders it)', () => {
    expect(htmlPrefix('<\u{1F600}\u200bbob> ', '\u{1F600}bob')).toBe(
      '&lt;<strong>\u{1F600}\u200bbob</strong>&gt; ',
    );
  });
});
