import { describe, expect, it } from 'vitest';
import {
  clientTagAllowed,
  escapeTagValue,
  formatClientTags,
  parseTags,
  readMessageTags,
  unescapeTagValue,
} from '../../src/adapters/irc/tags.js';

// Cases from the IRCv3 message-tags spec, "Escaping values".
describe('IRCv3 tag values', () => {
  it('escapes ;, space, backslash, CR and LF', () => {
    expect(escapeTagValue('a;b c\\d\re\nf')).toBe('a\\:b\\sc\\\\d\\re\\nf');
  });

  it('unescapes, dropping the backslash of an unknown escape and a lone one at the end', () => {
    expect(unescapeTagValue('a\\:b\\sc\\\\d\\re\\nf')).toBe('a;b c\\d\re\nf');
    expect(unescapeTagValue('\\b')).toBe('b');
    expect(unescapeTagValue('\\S')).toBe('S');
    expect(unescapeTagValue('test\\')).toBe('test');
  });

  it('parses the tag section of a raw line, case kept, last duplicate wins, no value as empty', () => {
    const tags = parseTags('@msgid=Ab1;+draft/reply=x\\sy;flag;Time=1;Time=2 :n!u@h PRIVMSG #c :hi');
    expect([...tags]).toEqual([
      ['msgid', 'Ab1'],
      ['+draft/reply', 'x y'],
      ['flag', ''],
      ['Time', '2'],
    ]);
    expect(parseTags(':n!u@h PRIVMSG #c :@msgid=no').size).toBe(0);
  });

  it('reads msgid and the reply tag (draft name first), rejecting empty, NUL and oversized ids', () => {
    expect(readMessageTags(parseTags('@msgid=m1;+draft/reply=m0;+reply=other x'))).toEqual({
      msgid: 'm1',
      replyTo: 'm0',
    });
    expect(readMessageTags(parseTags('@+reply=m0 x'))).toEqual({ replyTo: 'm0' });
    expect(
      readMessageTags(
        new Map([
          ['msgid', ''],
          ['+draft/reply', 'a\0b'],
        ]),
      ),
    ).toEqual({});
    expect(readMessageTags(new Map([['msgid', 'x'.repeat(129)]]))).toEqual({});
  });

  it('formats client tags escaped, never a raw space, CR or LF, and leaves out a value with NUL', () => {
    const section = formatClientTags([{ name: '+draft/reply', value: 'a b\r\nQUIT' }]);
    expect(section).toBe('@+draft/reply=a\\sb\\r\\nQUIT ');
    expect(section.slice(0, -1)).not.toMatch(/[ \r\n]/);
    expect(formatClientTags([{ name: '+draft/reply', value: 'a\0' }])).toBe('');
    expect(formatClientTags([])).toBe('');
  });

  it('honours CLIENTTAGDENY', () => {
    expect(clientTagAllowed('+draft/reply', undefined)).toBe(true);
    expect(clientTagAllowed('+draft/reply', ['draft/typing'])).toBe(true);
    expect(clientTagAllowed('+draft/reply', ['draft/reply'])).toBe(false);
    expect(clientTagAllowed('+draft/reply', ['*'])).toBe(false);
    expect(clientTagAllowed('+draft/reply', ['*', '-draft/reply'])).toBe(true);
  });
});
