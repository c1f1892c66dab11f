import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createMediaLinks,
  generateMediaKey,
  MAC_LENGTH,
  MediaSigner,
  parseMediaPath,
} from '../../src/media/links.js';
import { isServerName, parseMxc } from '../../src/media/mxc.js';

/** A fixed key: links are deterministic, and the expected mac is computed here independently. */
const KEY = Buffer.alloc(32, 7).toString('base64url');
const signer = new MediaSigner(KEY);
const links = createMediaLinks({ publicUrl: 'https://relay.example.org/', signer });

/** RFC 2104 HMAC-SHA256 of the mxc URI, base64url, first 22 characters (docs/media.md). */
function expectedMac(mxc: string): string {
  return createHmac('sha256', Buffer.alloc(32, 7)).update(mxc).digest('base64url').slice(0, 22);
}

describe('media links', () => {
  it('builds {public_url}/media/{server}/{media id}/{mac}/{file name}, deterministic for a key', () => {
    const link = links.link('mxc://example.org/AbC_12-x', 'cat.png');
    expect(link).toBe(
      `https://relay.example.org/media/example.org/AbC_12-x/${expectedMac('mxc://example.org/AbC_12-x')}/cat.png`,
    );
    expect(links.link('mxc://example.org/AbC_12-x', 'cat.png')).toBe(link);
    expect(MAC_LENGTH).toBe(22);
  });

  it('gives different macs for different keys and different files', () => {
    const other = createMediaLinks({
      publicUrl: 'https://relay.example.org',
      signer: new MediaSigner(generateMediaKey()),
    });
    const a = links.link('mxc://example.org/one', 'f');
    expect(other.link('mxc://example.org/one', 'f')).not.toBe(a);
    expect(links.link('mxc://example.org/two', 'f')?.split('/')[6]).not.toBe(a?.split('/')[6]);
  });

  it('returns undefined for anything that is not a valid mxc URI', () => {
    for (const bad of [
      '',
      'https://example.org/x',
      'mxc://example.org',
      'mxc://example.org/',
      'mxc:///abc',
      'mxc://example.org/a/b',
      'mxc://example.org/a.b',
      'mxc://example.org/a%20b',
      'mxc://exa mple.org/abc',
      'mxc://example.org:123456/abc',
      'mxc://[zz::1]/abc',
      'mxc://ex_ample.org/abc',
      'mxc://example.org/abc?x=1',
      `mxc://${'a'.repeat(300)}/abc`,
      `mxc://example.org/${'a'.repeat(300)}`,
    ])
      expect(links.link(bad, 'f'), bad).toBeUndefined();
  });

  it('accepts the spec grammar: ports, IPv4 and IPv6 literals', () => {
    for (const server of [
      'example.org',
      'example.org:8448',
      '1.2.3.4',
      '1.2.3.4:80',
      '[::1]',
      '[2001:db8::1]:8448',
    ])
      expect(isServerName(server), server).toBe(true);
    expect(parseMxc('mxc://[2001:db8::1]:8448/abc')).toEqual({
      server: '[2001:db8::1]:8448',
      mediaId: 'abc',
    });
    const link = links.link('mxc://[2001:db8::1]:8448/abc', 'x');
    expect(link).toMatch(/^https:\/\/relay\.example\.org\/media\/%5B2001:db8::1%5D:8448\/abc\//);
    // The path parses back to the same file, and the mac checks out.
    const parsed = parseMediaPath(new URL(link ?? '').pathname);
    expect(parsed?.ref).toEqual({ server: '[2001:db8::1]:8448', mediaId: 'abc' });
    expect(parsed !== undefined && signer.verify(parsed.ref, parsed.mac)).toBe(true);
  });

  it('percent-encodes file names and parses them back', () => {
    const names = ['a b.png', 'ümlaut €.txt', '../../etc/passwd', 'a/b\\c?d#e%f&g.html', '猫.jpg', '😀.gif'];
    for (const name of names) {
      const link = links.link('mxc://example.org/abc', name) ?? '';
      const path = new URL(link).pathname;
      expect(path.split('/')).toHaveLength(6);
      expect(link).not.toMatch(/[ ?#]/);
      expect(parseMediaPath(path)?.fileName, name).toBe(name);
    }
  });

  it('cleans file names: control characters removed, lone surrogates replaced, empty falls back to the media id', () => {
    expect(links.link('mxc://example.org/mid', 'a\r\nb\u0000c\u0085d')?.endsWith('/abcd')).toBe(true);
    expect(links.link('mxc://example.org/mid', '\n ')?.endsWith('/mid')).toBe(true);
    expect(links.link('mxc://example.org/abc', 'x\uD800y')?.endsWith('/x%EF%BF%BDy')).toBe(true);
    const long = links.link('mxc://example.org/abc', '😀'.repeat(500)) ?? '';
    expect(decodeURIComponent(long.split('/').pop() ?? '')).toBe('😀'.repeat(200));
  });

  it("rejects a forged, truncated or other file's mac in constant-time comparison", () => {
    const link = links.link('mxc://example.org/abc', 'f') ?? '';
    const parsed = parseMediaPath(new URL(link).pathname);
    expect(parsed).toBeDefined();
    if (parsed === undefined) return;
    expect(signer.verify(parsed.ref, parsed.mac)).toBe(true);
    const flipped = `${parsed.mac.slice(0, -1)}${parsed.mac.endsWith('A') ? 'B' : 'A'}`;
    expect(signer.verify(parsed.ref, flipped)).toBe(false);
    expect(signer.verify(parsed.ref, parsed.mac.slice(0, 21))).toBe(false);
    expect(signer.verify({ server: 'example.org', mediaId: 'abd' }, parsed.mac)).toBe(false);
    expect(signer.verify({ server: 'evil.org', mediaId: 'abc' }, parsed.mac)).toBe(false);
    expect(new MediaSigner(generateMediaKey()).verify(parsed.ref, parsed.mac)).toBe(false);
  });

  it('parses only exactly /media/{server}/{id}/{22-char mac}/{name}', () => {
    const mac = 'A'.repeat(22);
    expect(parseMediaPath(`/media/example.org/abc/${mac}/f.png?x=1`)).toEqual({
      ref: { server: 'example.org', mediaId: 'abc' },
      mac,
      fileName: 'f.png',
    });
    for (const bad of [
      '/media/',
      '/media/example.org/abc',
      `/media/example.org/abc/${mac}`,
      `/media/example.org/abc/${mac}/`,
      `/media/example.org/abc/${mac}/f/g`,
      `/media/example.org/abc/${'A'.repeat(21)}/f`,
      `/media/example.org/abc/${'A'.repeat(23)}/f`,
      `/media/example.org/abc/${'A'.repeat(21)}=/f`,
      `/media/example.org/a.c/${mac}/f`,
      `/media/ex%20ample.org/abc/${mac}/f`,
      `/media/example.org/abc/${mac}/%E0%A4%A`,
      `/other/example.org/abc/${mac}/f`,
      `//media/example.org/abc/${mac}/f`,
    ])
      expect(parseMediaPath(bad), bad).toBeUndefined();
  });

  it('refuses a key shorter than 32 bytes, without echoing it', () => {
    expect(() => new MediaSigner('c2hvcnQ')).toThrow(/32 bytes/);
    expect(() => new MediaSigner('c2hvcnQ')).not.toThrow(/c2hvcnQ/);
    expect(Buffer.from(generateMediaKey(), 'base64url')).toHaveLength(32);
  });
});
