import { describe, expect, it } from 'vitest';
import { parseChatLine } from '../../src/adapters/irc/inbound.js';
import { MAX_NICK_ATTEMPTS, NickKeeper } from '../../src/adapters/irc/nick.js';
import { PingWatchdog } from '../../src/adapters/irc/watchdog.js';
import type { IrcLine } from '../../src/adapters/irc/wire.js';

function line(raw: Partial<IrcLine> & Pick<IrcLine, 'command' | 'params'>): IrcLine {
  return { prefix: 'alice!~a@host', nick: 'alice', ident: '~a', hostname: 'host', tags: {}, ...raw };
}

describe('parseChatLine', () => {
  it('maps PRIVMSG, ACTION and NOTICE', () => {
    expect(parseChatLine(line({ command: 'PRIVMSG', params: ['#c', 'hi'] }))).toMatchObject({
      kind: 'text',
      target: '#c',
      nick: 'alice',
      body: 'hi',
    });
    expect(parseChatLine(line({ command: 'PRIVMSG', params: ['#c', '\x01ACTION waves\x01'] }))).toMatchObject(
      { kind: 'action', body: 'waves' },
    );
    expect(parseChatLine(line({ command: 'PRIVMSG', params: ['#c', '\x01ACTION waves'] }))).toMatchObject({
      kind: 'action',
      body: 'waves',
    });
    expect(parseChatLine(line({ command: 'NOTICE', params: ['#c', 'note'] }))).toMatchObject({
      kind: 'notice',
      body: 'note',
    });
  });

  it('drops CTCP requests and replies, and lines from servers', () => {
    expect(parseChatLine(line({ command: 'PRIVMSG', params: ['#c', '\x01VERSION\x01'] }))).toBeUndefined();
    expect(parseChatLine(line({ command: 'NOTICE', params: ['#c', '\x01ACTION x\x01'] }))).toBeUndefined();
    expect(
      parseChatLine(line({ command: 'NOTICE', params: ['*', 'hi'], prefix: 'irc.example', nick: '' })),
    ).toBeUndefined();
  });

  it('uses server-time when the server sent it', () => {
    const parsed = parseChatLine(
      line({ command: 'PRIVMSG', params: ['#c', 'x'], tags: { time: '2024-01-02T03:04:05.678Z' } }),
    );
    expect(parsed?.time.toISOString()).toBe('2024-01-02T03:04:05.678Z');
  });
});

describe('NickKeeper', () => {
  it('walks through alternatives and remembers every own nick', () => {
    const nicks = new NickKeeper('relay', () => 0.4242);
    expect(nicks.nextAlternative(undefined)).toBe('relay_');
    expect(nicks.nextAlternative(undefined)).toBe('relay__');
    expect(nicks.nextAlternative(9)).toBe('relay4242');
    expect(nicks.isOwn('RELAY_')).toBe(true);
    expect(nicks.isOwn('relay')).toBe(true);
    expect(nicks.isOwn('alice')).toBe(false);
    for (let i = 3; i < MAX_NICK_ATTEMPTS; i++) nicks.nextAlternative(9);
    expect(nicks.nextAlternative(9)).toBeUndefined();
  });

  it('reports a regain once', () => {
    const nicks = new NickKeeper('relay');
    nicks.nextAlternative(undefined);
    expect(nicks.changed('relay_')).toBe(false);
    expect(nicks.hasConfiguredNick).toBe(false);
    expect(nicks.changed('Relay')).toBe(true);
    expect(nicks.hasConfiguredNick).toBe(true);
    expect(nicks.changed('relay')).toBe(false);
  });

  it('reads ISON and MONITOR replies', () => {
    const nicks = new NickKeeper('relay');
    expect(nicks.freeInIsonReply('alice bob')).toBe(true);
    expect(nicks.freeInIsonReply('alice RELAY')).toBe(false);
    expect(nicks.freeInMonitorReply('relay!~r@host,bob!~b@h')).toBe(true);
    expect(nicks.freeInMonitorReply('bob')).toBe(false);
  });
});

describe('PingWatchdog', () => {
  it('pings once per silence after the interval and declares the link dead after the timeout', () => {
    const dog = new PingWatchdog(1_000, 3_000, 0);
    expect(dog.check(999)).toEqual({ action: 'none' });
    expect(dog.check(1_000)).toEqual({ action: 'ping' });
    expect(dog.check(2_000)).toEqual({ action: 'none' });
    dog.received(2_500);
    expect(dog.check(3_500)).toEqual({ action: 'ping' });
    expect(dog.check(5_499)).toEqual({ action: 'none' });
    expect(dog.check(5_500)).toEqual({ action: 'dead', idleMs: 3_000 });
  });
});
