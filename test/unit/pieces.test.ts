import { describe, expect, it } from 'vitest';
import type { AdapterCapabilities } from '../../src/core/adapter.js';
import { splitForDestination } from '../../src/core/pieces.js';

const matrix: AdapterCapabilities = {
  formatting: 'html',
  maxMessageBytes: 12_000,
  multiline: true,
  inFlight: 1,
  edits: true,
};

describe('splitForDestination', () => {
  it('splits very long text on grapheme boundaries, never tearing an emoji with a skin-tone modifier', () => {
    const thumbs = '\u{1F44D}\u{1F3FD}'; // 8 bytes, one grapheme
    const long = thumbs.repeat(3_100); // 24,800 bytes
    const { texts } = splitForDestination(long, '[irc] <bob> ', matrix);
    expect(texts.length).toBeGreaterThan(2);
    for (const text of texts) {
      expect(Buffer.byteLength('[irc] <bob> ' + text)).toBeLessThanOrEqual(12_000);
      expect(text.length % thumbs.length).toBe(0);
    }
    expect(texts.join('')).toBe(long);
  });

  it('keeps a multi-line message whole where the network has multi-line messages', () => {
    expect(splitForDestination('a\nb', '', matrix).texts).toEqual(['a\nb']);
  });

  it('never cuts inside a mIRC colour code for an IRC destination', () => {
    const irc: AdapterCapabilities = { ...matrix, formatting: 'irc', multiline: false, maxMessageBytes: 70 };
    const body = '\x0304,12' + 'x'.repeat(60) + '\x0304,12' + 'y'.repeat(20);
    const { texts } = splitForDestination(body, '', irc);
    // A piece never ends inside "\x03" + "04,12" (a cut code would colour the next piece's text).
    for (const text of texts) expect(text.replaceAll('\x0304,12', '')).not.toContain('\x03');
    expect(texts.join('')).toBe(body);
  });

  it('shortens a prefix that would leave too little room for the text', () => {
    const caps: AdapterCapabilities = { ...matrix, maxMessageBytes: 100 };
    const { prefix, texts } = splitForDestination('hello', 'p'.repeat(200), caps);
    expect(Buffer.byteLength(prefix)).toBe(36);
    expect(texts).toEqual(['hello']);
  });
});
