import { describe, expect, it } from 'vitest';
import { hasFormatting, sanitizeLine, stripFormatting } from '../../src/adapters/irc/format.js';
import { alternativeNick, ircLower } from '../../src/adapters/irc/nick.js';
import {
  classifyNickServReply,
  classifyNumeric,
  classifySaslFailure,
  classifyServerError,
} from '../../src/adapters/irc/errors.js';
import { parseServer } from '../../src/adapters/irc/adapter.js';

describe('mIRC formatting', () => {
  it('strips bold, colours (with and without background), hex colours, reset and the rest', () => {
    expect(
      stripFormatting(
        '\x02bold\x02 \x0304red\x03 \x0304,12on blue\x0F \x1Ditalic\x1D \x1Funder\x1F \x16rev\x16 \x11mono\x11 \x1Estrike\x1E',
      ),
    ).toBe('bold red on blue italic under rev mono strike');
    expect(stripFormatting('\x04FF0000hex\x04 \x04FF0000,00FF00both')).toBe('hex both');
    expect(stripFormatting('\x03,5comma stays')).toBe(',5comma stays');
    expect(stripFormatting('\x031234')).toBe('34');
  });

  it('knows when a text has formatting', () => {
    expect(hasFormatting('plain')).toBe(false);
    expect(hasFormatting('\x02b')).toBe(true);
    expect(hasFormatting('plain')).toBe(false);
  });

  it('sanitizeLine removes CR, LF, NUL and CTCP markers', () => {
    expect(sanitizeLine('a\rb\nc\0d\x01e')).toBe('a b c d e');
  });
});

describe('IRC helpers', () => {
  it('folds case the RFC 1459 way', () => {
    expect(ircLower('Nick[A]\\~')).toBe('nick{a}|^');
  });

  it('makes alternative nicks within NICKLEN', () => {
    expect(alternativeNick('relay', 1, 9)).toBe('relay_');
    expect(alternativeNick('relay', 2, 9)).toBe('relay__');
    expect(alternativeNick('kosmirelay', 1, 9)).toBe('kosmirel_');
    expect(alternativeNick('relay', 3, 9, () => 0.1234)).toBe('relay1234');
    expect(alternativeNick('kosmirelay', 3, 9, () => 0.5)).toBe('kosmi5000');
  });

  it('classifies fatal and transient failures', () => {
    expect(classifyServerError('Closing Link: 1.2.3.4 (K-Lined)').fatal).toBe(true);
    expect(classifyServerError('Closing Link: x (You are banned from this server)').fatal).toBe(true);
    expect(classifyServerError('Server going down').fatal).toBe(false);
    expect(classifyServerError('Closing Link: x (Ping timeout: 120 seconds)').fatal).toBe(false);
    expect(classifyNumeric('465', 'You are banned')?.fatal).toBe(true);
    expect(classifyNumeric('464', 'Password incorrect')?.reason).toMatch(/server password rejected/);
    expect(classifyNumeric('001', 'Welcome')).toBeUndefined();
    const sasl = classifySaslFailure('bot', 'fail', 'SASL authentication failed');
    expect(sasl.fatal).toBe(true);
    expect(sasl.reason).toBe('SASL PLAIN login as "bot" rejected (904: SASL authentication failed)');
    expect(classifyNickServReply('You are now identified for \x02bot\x02.')).toBe('ok');
    expect(classifyNickServReply('Invalid password for \x02bot\x02.')).toBe('rejected');
    expect(classifyNickServReply('This nickname is registered.')).toBeUndefined();
  });

  it('parses server addresses with default ports', () => {
    expect(parseServer('irc.libera.chat:6697', true)).toEqual({ host: 'irc.libera.chat', port: 6697 });
    expect(parseServer('irc.libera.chat', true)).toEqual({ host: 'irc.libera.chat', port: 6697 });
    expect(parseServer('127.0.0.1', false)).toEqual({ host: '127.0.0.1', port: 6667 });
    expect(parseServer('[::1]:7000', false)).toEqual({ host: '::1', port: 7000 });
    expect(() => parseServer('a:b:c', false)).toThrow(/not host:port/);
  });
});
