/**
 * Media links (docs/media.md): `{public_url}/media/{server}/{media id}/{mac}/{file name}`. The mac
 * proves the relay made the link, so its listener serves only files someone was shown a link to,
 * never an arbitrary mxc URI a visitor types in.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MediaLinks } from './types.js';
import { isMediaId, isServerName, mxcUri, parseMxc, type MxcRef } from './mxc.js';

/** The store's name for the key (RelayStore.secret): generated once, kept, never in config or logs. */
export const MEDIA_KEY_SECRET = 'media_link_key';
/** HMAC-SHA256 keys as long as the hash (RFC 2104 §3: shorter keys weaken it, longer add nothing). */
const KEY_BYTES = 32;
/**
 * Characters of base64url kept from the 32-byte HMAC: 22 characters carry 132 bits. Guessing one
 * valid mac takes about 2^131 requests on average, far beyond any online attack (docs/media.md).
 */
export const MAC_LENGTH = 22;
const MAC = /^[A-Za-z0-9_-]+$/;
/** Longest file name kept in a link (in characters, before percent-encoding). */
const MAX_FILE_NAME_LENGTH = 200;
/** Longest file name accepted from a path (a hand-edited link may be longer than ours). */
const MAX_PATH_FILE_NAME_LENGTH = 1024;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A new key for MEDIA_KEY_SECRET: 32 random bytes, base64url. */
export function generateMediaKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

/** Signs and checks mxc URIs with the relay's key. */
export class MediaSigner {
  readonly #key: Buffer;

  /** @param key the stored secret (generateMediaKey's form) */
  constructor(key: string) {
    const bytes = Buffer.from(key, 'base64url');
    // The message names no value: the key never appears in an error.
    if (bytes.length < KEY_BYTES) throw new Error(`the media link key must be ${KEY_BYTES} bytes or more`);
    this.#key = bytes;
  }

  mac(ref: MxcRef): string {
    return createHmac('sha256', this.#key).update(mxcUri(ref)).digest('base64url').slice(0, MAC_LENGTH);
  }

  /** In constant time (for a mac of the right length; the length itself is public). */
  verify(ref: MxcRef, mac: string): boolean {
    const given = Buffer.from(mac);
    const expected = Buffer.from(this.mac(ref));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** A file name fit for a URL and a Content-Disposition: no control characters, valid UTF-16. */
export function cleanFileName(name: string, fallback: string): string {
  const cleaned = name.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, '').trim();
  if (cleaned === '') return fallback;
  // Cut on code points, not UTF-16 units, so no surrogate pair is split.
  const points = [...cleaned];
  return points.length > MAX_FILE_NAME_LENGTH ? points.slice(0, MAX_FILE_NAME_LENGTH).join('') : cleaned;
}

/** A path segment; ":" stays readable (RFC 3986 §3.3 allows it in a segment), the rest is encoded. */
function segment(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ':');
}

export function createMediaLinks(options: { publicUrl: string; signer: MediaSigner }): MediaLinks {
  const base = options.publicUrl.replace(/\/+$/, '');
  return {
    link(mxc, fileName) {
      const ref = parseMxc(mxc);
      if (ref === undefined) return undefined;
      const name = cleanFileName(fileName, ref.mediaId);
      const mac = options.signer.mac(ref);
      return `${base}/media/${segment(ref.server)}/${ref.mediaId}/${mac}/${segment(name)}`;
    },
  };
}

/** What a request path under /media/ names, before its mac is checked. */
export interface MediaPath {
  readonly ref: MxcRef;
  readonly mac: string;
  readonly fileName: string;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined; // malformed percent-encoding: not a path the relay made
  }
}

/** Parses `/media/{server}/{media id}/{mac}/{file name}` (query ignored); undefined when malformed. */
export function parseMediaPath(url: string): MediaPath | undefined {
  const parts = (url.split('?')[0] ?? '').split('/');
  if (parts.length !== 6 || parts[0] !== '' || parts[1] !== 'media') return undefined;
  const [server, mediaId, mac, fileName] = parts.slice(2).map(decode);
  if (server === undefined || mediaId === undefined || mac === undefined || fileName === undefined)
    return undefined;
  if (!isServerName(server) || !isMediaId(mediaId)) return undefined;
  if (mac.length !== MAC_LENGTH || !MAC.test(mac)) return undefined;
  if (fileName === '' || fileName.length > MAX_PATH_FILE_NAME_LENGTH) return undefined;
  return { ref: { server, mediaId }, mac, fileName };
}
