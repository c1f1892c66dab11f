import { MIRC_COLOUR_CODES } from '../../core/text-split.js';

/**
 * mIRC formatting codes (https://modern.ircdocs.horse/formatting.html): bold \x02, colour \x03
 * with up to two 1-2 digit numbers, hex colour \x04 with up to two RRGGBB, reset \x0F, monospace
 * \x11, reverse \x16, italics \x1D, strikethrough \x1E, underline \x1F.
 */
const FORMATTING = new RegExp(`${MIRC_COLOUR_CODES.source}|[\\x02\\x0F\\x11\\x16\\x1D\\x1E\\x1F]`, 'g');

/** The text without mIRC formatting, for networks that cannot show it. */
export function stripFormatting(text: string): string {
  return text.replace(FORMATTING, '');
}

export function hasFormatting(text: string): boolean {
  FORMATTING.lastIndex = 0;
  const found = FORMATTING.test(text);
  FORMATTING.lastIndex = 0;
  return found;
}

/**
 * What may never reach the socket inside one line: CR and LF end an IRC line (RFC 1459 §2.3, so
 * they would let another network inject commands), NUL ends it for C servers, and \x01 would open
 * a CTCP. Each becomes a space; line structure is decided by the caller before this.
 */
// eslint-disable-next-line no-control-regex -- these control characters are exactly what is removed
const UNSAFE = new RegExp('[\\r\\n\\0\\x01]', 'g');

export function sanitizeLine(text: string): string {
  return text.replace(UNSAFE, ' ');
}
