import { describe, expect, it } from 'vitest';
import { EchoGuard } from '../../src/core/echo-guard.js';

describe('EchoGuard', () => {
  it('recognises a remembered text for every relay account that reads it back', () => {
    const guard = new EchoGuard();
    guard.remember('[irc] <bob> hi');
    // Three of the relay's accounts sit in the channel the line was written to: each reads it.
    expect(guard.isEcho('[irc] <bob> hi')).toBe(true);
    expect(guard.isEcho('[irc] <bob> hi')).toBe(true);
    expect(guard.isEcho('[irc] <bob> hi')).toBe(true);
  });

  it('checks every candidate (plain text and the network markup)', () => {
    const guard = new EchoGuard();
    guard.remember('\x02bold\x02');
    expect(guard.isEcho('bold', '\x02bold\x02')).toBe(true);
  });

  it('forgets after its TTL', () => {
    let now = 1_000;
    const guard = new EchoGuard(500, () => now);
    guard.remember('hello');
    now += 501;
    expect(guard.isEcho('hello')).toBe(false);
  });

  it('does not match a different text', () => {
    const guard = new EchoGuard();
    guard.remember('hello');
    expect(guard.isEcho('hello there')).toBe(false);
  });
});
