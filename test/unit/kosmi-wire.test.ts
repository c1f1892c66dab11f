import { describe, expect, it } from 'vitest';
import { render } from '../../src/adapters/kosmi/adapter.js';
import { operationId } from '../../src/adapters/kosmi/documents.js';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { splitToBytes as splitMessage } from '../../src/core/text-split.js';
import { messageTime, newMessageData, senderName } from '../../src/adapters/kosmi/wire.js';
import { decodeJwt } from '../../src/auth/jwt.js';
import { chromiumArgs, chromiumPath } from '../../src/auth/chromium.js';
import { piece } from '../helpers/pieces.js';
import { fakeKosmiJwt } from '../helpers/kosmi-jwt.js';

describe('kosmi wire mapping', () => {
  it('validates newMessage payloads (docs/kosmi-protocol.md §4.5)', () => {
    const ok = {
      newMessage: {
        id: 'm1',
        body: 'hi',
        time: 1_761_955_200,
        user: { id: 'u1', displayName: null, username: 'bob' },
      },
    };
    expect(newMessageData.safeParse(ok).success).toBe(true);
    expect(newMessageData.safeParse({ newMessage: { body: 'hi', user: {} } }).success).toBe(false);
    expect(newMessageData.safeParse(null).success).toBe(false);
  });

  it('shows the display name, falling back to the username, then the id', () => {
    expect(senderName({ id: 'u1', displayName: 'Bob B', username: 'bob' })).toBe('Bob B');
    expect(senderName({ id: 'u1', displayName: '  ', username: 'bob' })).toBe('bob');
    expect(senderName({ id: 'u1' })).toBe('u1');
  });

  it('reads `time` as UNIX seconds, milliseconds when it can only be that, else now', () => {
    expect(messageTime(1_761_955_200).toISOString()).toBe('2025-11-01T00:00:00.000Z');
    expect(messageTime(1_761_955_200_123).toISOString()).toBe('2025-11-01T00:00:00.123Z');
    expect(messageTime('1761955200').toISOString()).toBe('2025-11-01T00:00:00.000Z');
    const now = new Date('2026-01-01T00:00:00Z');
    expect(messageTime(undefined, now)).toBe(now);
    expect(messageTime('garbage', now)).toBe(now);
  });

  it('names operations like the web app does (§2: "current-user", "join-room")', () => {
    expect(operationId('ExtendedCurrentUserQuery', 1)).toBe('extended-current-user-query-1');
    expect(operationId(undefined, 7)).toBe('operation-7');
  });

  it('renders the nick prefix, /me and edits', () => {
    const base = piece('@room', 'hello', { prefix: '[irc] <bob> ' });
    expect(render(base)).toBe('[irc] <bob> hello');
    expect(render({ ...base, kind: 'action', text: 'waves' })).toBe('[irc] <bob> * waves');
    // The source adapter (Matrix edit_marker) puts the marker into the text; Kosmi adds no second one.
    expect(render({ ...base, text: '(edited) hello', edited: true })).toBe('[irc] <bob> (edited) hello');
  });
});

describe('kosmi message splitting', () => {
  it('keeps short messages whole and splits long ones at whitespace within the byte limit', () => {
    expect(splitMessage('short', 100)).toEqual(['short']);
    const text = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    const pieces = splitMessage(text, 40);
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(40);
    expect(pieces.join(' ')).toBe(text);
  });

  it('never cuts a multi-byte character and cuts a word without spaces where it must', () => {
    const emoji = '😀'.repeat(30); // 4 bytes each
    const pieces = splitMessage(emoji, 64);
    expect(pieces.every((p) => Buffer.byteLength(p) <= 64 && !p.includes('\uFFFD'))).toBe(true);
    expect(pieces.join('')).toBe(emoji);
    expect(splitMessage('x'.repeat(150), 64).map((p) => p.length)).toEqual([64, 64, 22]);
  });
});

describe('kosmi send throttle', () => {
  it('lets a burst through, then paces at the rate, in call order', async () => {
    const limiter = new TokenBucket(2, 50);
    const started = Date.now();
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((n) => limiter.take().then(() => order.push(n))));
    expect(order).toEqual([0, 1, 2, 3]);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(35); // two waits of 20 ms
    expect(elapsed).toBeLessThan(1_000);
  });
});

describe('kosmi auth helpers', () => {
  it('decodes a JWT without checking its signature; rejects what is not one', () => {
    const token = fakeKosmiJwt({ sub: 'user-1', issuedAt: 1000, lifetimeSeconds: 50 });
    expect(decodeJwt(token)).toEqual({ sub: 'user-1', exp: 1050, iat: 1000 });
    expect(decodeJwt('a.b')).toBeUndefined();
    expect(decodeJwt('a.!!!.c')).toBeUndefined();
    expect(decodeJwt(`x.${Buffer.from('{"sub":1,"exp":2}').toString('base64url')}.y`)).toBeUndefined();
  });

  it("starts Chromium from CHROMIUM_PATH with the quiet flags (the sandbox is Playwright's chromiumSandbox)", () => {
    expect(chromiumPath({})).toBe('/usr/bin/chromium');
    expect(chromiumPath({ CHROMIUM_PATH: '/opt/chromium' })).toBe('/opt/chromium');
    expect(chromiumArgs()).not.toContain('--no-sandbox');
    for (const flag of [
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ]) {
      expect(chromiumArgs()).toContain(flag);
    }
  });
});
