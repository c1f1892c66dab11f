import { describe, expect, it } from 'vitest';
import { contentDispositionOf, contentTypeOf, isInlineType } from '../../src/media/content-headers.js';

describe('media content headers', () => {
  it('keeps a well-formed Content-Type and replaces anything else with application/octet-stream', () => {
    expect(contentTypeOf('image/png')).toBe('image/png');
    expect(contentTypeOf('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    for (const bad of [undefined, '', 'png', 'image/', 'image/png\r\nSet-Cookie: a=b', 'imäge/png', 'a b/c'])
      expect(contentTypeOf(bad), String(bad)).toBe('application/octet-stream');
  });

  it('shows only types a browser displays without running anything inline', () => {
    for (const type of [
      'image/png',
      'IMAGE/JPEG',
      'image/gif',
      'image/webp',
      'video/mp4',
      'video/webm',
      'audio/ogg',
      'audio/mpeg; x=1',
    ])
      expect(isInlineType(type), type).toBe(true);
    for (const type of [
      'image/svg+xml',
      'text/html',
      'application/xhtml+xml',
      'application/pdf',
      'text/plain',
      'application/octet-stream',
      'application/javascript',
    ])
      expect(isInlineType(type), type).toBe(false);
  });

  it('writes attachment or inline with an RFC 8187 filename* and an ASCII fallback', () => {
    expect(contentDispositionOf('image/png', 'cat.png')).toBe(
      `inline; filename="cat.png"; filename*=UTF-8''cat.png`,
    );
    expect(contentDispositionOf('text/html', 'page.html')).toBe(
      `attachment; filename="page.html"; filename*=UTF-8''page.html`,
    );
    expect(contentDispositionOf('image/svg+xml', "a 'b' (ü).svg")).toBe(
      `attachment; filename="a 'b' (_).svg"; filename*=UTF-8''a%20%27b%27%20%28%C3%BC%29.svg`,
    );
  });

  it('never lets a name break out of the header or name a path', () => {
    const value = contentDispositionOf('application/octet-stream', 'x"; filename="evil.exe\r\n../..\\a%41');
    expect(value).not.toMatch(/[\r\n]/);
    expect(value).toBe(
      `attachment; filename="x_; filename=_evil.exe.._.._a_41"; filename*=UTF-8''x%22%3B%20filename%3D%22evil.exe.._.._a%2541`,
    );
  });
});
