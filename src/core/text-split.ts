/**
 * Splitting text into pieces that fit a byte limit, shared by every adapter that has one (IRC's
 * 512-byte lines, Kosmi's max_message_bytes). Never cuts inside a grapheme cluster (so no UTF-8
 * sequence, surrogate pair or emoji-with-modifier is torn apart) or inside an adapter's own
 * atomic markup (IRC passes its colour codes), and breaks at a space when that keeps pieces full.
 */

/** Break at a space only when the piece keeps at least this share of the room (else hard-break a long word). */
const MIN_WORD_BREAK_SHARE = 0.5;

const encoder = new TextEncoder();
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
function pushGraphemes(text: string, out: string[]): void {
  if (text === '') return;
  for (const { segment } of segmenter.segment(text)) out.push(segment);
}

/** Units that must not be cut: grapheme clusters, and every match of `atomic` (a global regex). */
function units(text: string, atomic: RegExp | undefined): string[] {
  const out: string[] = [];
  let at = 0;
  if (atomic !== undefined) {
    for (const match of text.matchAll(atomic)) {
      pushGraphemes(text.slice(at, match.index), out);
      out.push(match[0]);
      at = match.index + match[0].length;
    }
  }
  pushGraphemes(text.slice(at), out);
  return out;
}

/** mIRC colour codes with their digits, never cut (mIRC formatting spec, colours). */
// eslint-disable-next-line no-control-regex -- mIRC colour codes start with control characters
export const MIRC_COLOUR_CODES = /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?/g;

const isSpace = (unit: string | undefined): boolean => /^\s+$/.test(unit ?? '');

/** Splits text into pieces of at most maxBytes UTF-8 bytes, at a space where that keeps pieces reasonably full. */
export function splitToBytes(text: string, maxBytes: number, atomic?: RegExp): string[] {
  if (maxBytes <= 0) return [];
  if (byteLength(text) <= maxBytes) return [text];
  const pieces: string[] = [];
  let current: string[] = [];
  let currentBytes = 0;
  let lastSpace = -1; // index in `current` of the last whitespace unit
  let bytesBeforeSpace = 0;
  const flush = (upTo: number, skip: number): void => {
    const piece = current.slice(0, upTo).join('').trimEnd();
    if (piece !== '') pieces.push(piece);
    current = current.slice(upTo + skip);
    while (current.length > 0 && isSpace(current[0])) current.shift();
    currentBytes = current.reduce((sum, unit) => sum + byteLength(unit), 0);
    lastSpace = current.findLastIndex((unit) => isSpace(unit));
    bytesBeforeSpace = lastSpace < 0 ? 0 : byteLength(current.slice(0, lastSpace).join(''));
  };
  for (const unit of units(text, atomic)) {
    for (const part of byteLength(unit) > maxBytes ? [...unit] : [unit]) {
      const size = byteLength(part);
      if (currentBytes + size > maxBytes) {
        if (lastSpace > 0 && bytesBeforeSpace >= maxBytes * MIN_WORD_BREAK_SHARE) flush(lastSpace, 1);
        if (currentBytes + size > maxBytes) flush(current.length, 0);
      }
      if (isSpace(part)) {
        if (current.length === 0) continue; // no piece starts with a space
        lastSpace = current.length;
        bytesBeforeSpace = currentBytes;
      }
      current.push(part);
      currentBytes += size;
    }
  }
  flush(current.length, 0);
  return pieces;
}

/** The longest start of text that fits in maxBytes, cut at a grapheme (or atomic unit) boundary. */
export function truncateToBytes(text: string, maxBytes: number, atomic?: RegExp): string {
  if (byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const unit of units(text, atomic)) {
    for (const part of byteLength(unit) > maxBytes ? [...unit] : [unit]) {
      const size = byteLength(part);
      if (bytes + size > maxBytes) return out;
      out += part;
      bytes += size;
    }
  }
  return out;
}

/** At most `max` grapheme clusters of text, and whether anything was cut. */
export function truncateGraphemes(text: string, max: number): { text: string; cut: boolean } {
  let out = '';
  let count = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (count === max) return { text: out, cut: true };
    out += segment;
    count += 1;
  }
  return { text: out, cut: false };
}
