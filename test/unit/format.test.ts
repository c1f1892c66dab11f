import { describe, expect, it } from 'vitest';
import { noPingNick, renderNickFormat } from '../../src/core/format.js';

const fields = {
  nick: 'bob',
  protocol: 'irc',
  account: 'irc.libera',
  label: 'Libera',
  gateway: 'movienight',
  channel: '#mn',
} as const;

describe('remote_nick_format', () => {
  it('renders every placeholder', () => {
    expect(renderNickFormat('[{PROTOCOL}] <{NICK}> ', fields)).toBe('[irc] <bob> ');
    expect(renderNickFormat('{ACCOUNT}|{LABEL}|{GATEWAY}|{CHANNEL}|{NOPINGNICK}', fields)).toBe(
      'irc.libera|Libera|movienight|#mn|b\u200bob',
    );
  });

  it('leaves unknown placeholders visible so a typo shows', () => {
    expect(renderNickFormat('{NICKNAME} {NICK}', fields)).toBe('{NICKNAME} bob');
  });

  it('inserts the zero-width space after the first code point, not inside a surrogate pair', () => {
    expect(noPingNick('😀ab')).toBe('😀\u200bab');
    expect(noPingNick('x')).toBe('x');
  });
});
