import { describe, expect, it } from 'vitest';
import {
  mapRoomMessage,
  mxcToHttp,
  stripReplyFallback,
  type InboundOptions,
} from '../../src/adapters/matrix/inbound.js';
import { escapeHtml, htmlPrefix, renderForMatrix } from '../../src/adapters/matrix/outbound.js';
import type { OutboundPiece } from '../../src/core/message.js';
import { piece } from '../helpers/pieces.js';

const options: InboundOptions = { edits: 'mark', editMarker: '(edited) ', homeserver: 'https://hs.example/' };

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
      edited: false,
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
    expect(mapRoomMessage(reply, options)).toMatchObject({ text: 'answer' });
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

  it('relays edits with the marker, or drops them', () => {
    const edit = {
      msgtype: 'm.text',
      body: '* fixed',
      'm.new_content': { msgtype: 'm.text', body: 'fixed' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' },
    };
    expect(mapRoomMessage(edit, options)).toEqual({
      relay: true,
      kind: 'text',
      text: '(edited) fixed',
      edited: true,
    });
    expect(mapRoomMessage(edit, { ...options, edits: 'drop' }).relay).toBe(false);
    const noNewContent = {
      msgtype: 'm.text',
      body: '* fallback only',
      'm.relates_to': { rel_type: 'm.replace', event_id: '$o' },
    };
    expect(mapRoomMessage(noNewContent, options)).toMatchObject({ text: '(edited) fallback only' });
  });

  it('turns media into file name and download link', () => {
    const image = { msgtype: 'm.image', body: 'cat.png', url: 'mxc://example.org/AbC_123' };
    expect(mapRoomMessage(image, options)).toMatchObject({
      kind: 'text',
      text: 'cat.png https://hs.example/_matrix/media/v3/download/example.org/AbC_123/cat.png',
    });
    const file = {
      msgtype: 'm.file',
      body: 'caption',
      filename: 'report final.pdf',
      url: 'mxc://example.org/id',
    };
    expect(mapRoomMessage(file, options)).toMatchObject({
      text: expect.stringContaining('report final.pdf https://') as string,
    });
    expect(
      mapRoomMessage({ msgtype: 'm.file', body: 'secret.txt', file: { url: 'mxc://x/y' } }, options),
    ).toMatchObject({
      text: 'secret.txt (encrypted file)',
    });
    expect(mxcToHttp('mxc://evil/../../x', 'https://hs')).toBeUndefined();
    expect(mxcToHttp('https://not-mxc/x', 'https://hs')).toBeUndefined();
  });
});

describe('Matrix outbound rendering', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
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
