import { sanitizeLine } from './format.js';

/** The IRC line terminator; counted in the 512 bytes (RFC 1459 §2.3). */
const CRLF_BYTES = 2;
/** "\x01ACTION " and the closing "\x01" around a CTCP ACTION (CTCP spec, ACTION). */
const ACTION_OVERHEAD_BYTES = 9;
/** The nick prefix may take at most the budget minus this, so some text always fits. */
const MIN_TEXT_BYTES = 64;
/** Break at a space only when the piece keeps at least this share of the room (else hard-break a long word). */
const MIN_WORD_BREAK_SHARE = 0.5;

export type IrcLineKind = 'text' | 'action' | 'notice';

export interface RenderRequest {
  readonly kind: IrcLineKind;
  readonly target: string;
  /** Repeated at the start of every line, e.g. "[kosmi] <bob> ". */
  readonly prefix: string;
  /** The message; "\n" separates lines. */
  readonly body: string;
  /** Bytes of ":nick!user@host " that the server puts in front when it relays our line. */
  readonly sourceBytes: number;
  /** Whole-line limit including CR LF (512). */
  readonly maxLineBytes: number;
  /** Most lines this message may become; the rest is cut and the last line marked. */
  readonly maxLines: number;
  readonly cutMarker: string;
}

export interface RenderedLine {
  /** The command as written to the socket, without CR LF: `PRIVMSG #chan :text`. */
  readonly wire: string;
  /** What the channel sees as the message text (for ACTION: without the CTCP wrapping). */
  readonly text: string;
}

export interface RenderResult {
  readonly lines: RenderedLine[];
  /** Lines that were cut because of maxLines. */
  readonly cutLines: number;
}

const encoder = new TextEncoder();
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** Room for the text part of one line (prefix + piece). */
export function textBudget(
  request: Pick<RenderRequest, 'kind' | 'target' | 'sourceBytes' | 'maxLineBytes'>,
): number {
  const command = request.kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
  const fixed = CRLF_BYTES + request.sourceBytes + byteLength(`${command} ${request.target} :`);
  return request.maxLineBytes - fixed - (request.kind === 'action' ? ACTION_OVERHEAD_BYTES : 0);
}

/**
 * Turns one relayed message into IRC lines: every line of the body, split to fit, each with the
 * prefix. No CR, LF, NUL or \x01 survives inside a line.
 */
export function renderMessage(request: RenderRequest): RenderResult {
  const budget = textBudget(request);
  const prefix = truncateToBytes(sanitizeLine(request.prefix), Math.max(0, budget - MIN_TEXT_BYTES));
  const room = budget - byteLength(prefix);
  const pieces: string[] = [];
  for (const line of request.body.split(/\r\n|\r|\n/)) {
    const clean = sanitizeLine(line);
    if (clean.trim() === '') continue;
    pieces.push(...splitToBytes(clean, room));
  }
  let cutLines = 0;
  if (pieces.length > request.maxLines) {
    cutLines = pieces.length - request.maxLines;
    pieces.length = request.maxLines;
    const marker = sanitizeLine(request.cutMarker);
    const last = pieces[pieces.length - 1] ?? '';
    pieces[pieces.length - 1] =
      truncateToBytes(last, Math.max(0, room - byteLength(marker))).trimEnd() + marker;
  }
  const command = request.kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
  const lines = pieces.map((piece): RenderedLine => {
    const text = prefix + piece;
    const payload = request.kind === 'action' ? `\x01ACTION ${text}\x01` : text;
    return { wire: `${command} ${request.target} :${payload}`, text };
  });
  return { lines, cutLines };
}

/**
 * Units that must not be cut: grapheme clusters (so no UTF-8 sequence, surrogate pair or
 * emoji-with-modifier is torn apart) and mIRC colour codes with their digits.
 */
function units(text: string): string[] {
  const out: string[] = [];
  // eslint-disable-next-line no-control-regex -- mIRC colour codes start with control characters
  const codes = /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?/g;
  let at = 0;
  for (const match of text.matchAll(codes)) {
    pushGraphemes(text.slice(at, match.index), out);
    out.push(match[0]);
    at = match.index + match[0].length;
  }
  pushGraphemes(text.slice(at), out);
  return out;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
function pushGraphemes(text: string, out: string[]): void {
  if (text === '') return;
  for (const { segment } of segmenter.segment(text)) out.push(segment);
}

/** Splits text into pieces of at most maxBytes UTF-8 bytes, at a space where that keeps pieces reasonably full. */
export function splitToBytes(text: string, maxBytes: number): string[] {
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
    while (current.length > 0 && /^\s+$/.test(current[0] ?? '')) current.shift();
    currentBytes = current.reduce((sum, unit) => sum + byteLength(unit), 0);
    lastSpace = current.findLastIndex((unit) => /^\s+$/.test(unit));
    bytesBeforeSpace = lastSpace < 0 ? 0 : byteLength(current.slice(0, lastSpace).join(''));
  };
  for (const unit of units(text)) {
    for (const part of byteLength(unit) > maxBytes ? [...unit] : [unit]) {
      const size = byteLength(part);
      if (currentBytes + size > maxBytes) {
        if (lastSpace > 0 && bytesBeforeSpace >= maxBytes * MIN_WORD_BREAK_SHARE) flush(lastSpace, 1);
        if (currentBytes + size > maxBytes) flush(current.length, 0);
      }
      if (/^\s+$/.test(part)) {
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

/** The longest start of text that fits in maxBytes, cut at a grapheme boundary. */
export function truncateToBytes(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const unit of units(text)) {
    for (const part of byteLength(unit) > maxBytes ? [...unit] : [unit]) {
      const size = byteLength(part);
      if (bytes + size > maxBytes) return out;
      out += part;
      bytes += size;
    }
  }
  return out;
}
