/**
 * The headers a served file goes out with (docs/media.md, "Security headers"). The file is
 * whatever someone uploaded to a homeserver: it must never run as a page of the relay's origin.
 */
import { cleanFileName } from './links.js';

const OCTET_STREAM = 'application/octet-stream';

/**
 * Types a browser shows itself, without running anything: displayed inline. Everything else
 * (text/html, image/svg+xml, application/pdf, text/plain, ...) is a download.
 */
const INLINE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/apng',
  'video/mp4',
  'video/webm',
  'video/ogg',
  'audio/ogg',
  'audio/mpeg',
  'audio/mp4',
  'audio/webm',
  'audio/wav',
  'audio/flac',
  'audio/aac',
  'audio/opus',
]);

/** RFC 9110 §8.3.1: type "/" subtype, both tokens, then parameters (checked as visible ASCII). */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;[\\x20-\\x7e\\t]*)?$`);

/** The homeserver's Content-Type when it is a well-formed one, else application/octet-stream. */
export function contentTypeOf(upstream: string | undefined): string {
  const value = upstream?.trim();
  return value !== undefined && value.length <= 255 && MEDIA_TYPE.test(value) ? value : OCTET_STREAM;
}

/** "image/png" of "image/PNG; x=y". */
function essence(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isInlineType(contentType: string): boolean {
  return INLINE_TYPES.has(essence(contentType));
}

/** RFC 8187 §3.2.1 value chars: attr-char stays, every other byte is %XX. */
function rfc8187(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * RFC 6266: `attachment` (or `inline` for INLINE_TYPES) with the name as filename*=UTF-8''… and a
 * plain-ASCII filename="…" for clients that do not read filename*. Path separators become "_".
 */
export function contentDispositionOf(contentType: string, fileName: string): string {
  const name = cleanFileName(fileName, 'file').replace(/[/\\]/g, '_');
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const kind = isInlineType(contentType) ? 'inline' : 'attachment';
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${rfc8187(name)}`;
}

/**
 * Every served file: no sniffing (the declared type is the type), a CSP sandbox (should a browser
 * render it anyway, it gets a unique origin, no scripts, no forms), no Referer leaving with the
 * capability URL, and a cache header for the browser only: the link names one immutable file.
 */
export const MEDIA_SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': 'sandbox',
  'referrer-policy': 'no-referrer',
  'cache-control': 'private, max-age=31536000, immutable',
} as const;
