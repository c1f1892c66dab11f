import {
  byteLength,
  MIRC_COLOUR_CODES,
  splitToBytes as coreSplit,
  truncateToBytes as coreTruncate,
} from '../../core/text-split.js';
import { sanitizeLine } from './format.js';
import type { ClientTag } from './tags.js';

/** The IRC line terminator; counted in the 512 bytes (RFC 1459 §2.3). */
const CRLF_BYTES = 2;
/** "\x01ACTION " and the closing "\x01" around a CTCP ACTION (CTCP spec, ACTION). */
const ACTION_OVERHEAD_BYTES = 9;
/** The nick prefix may take at most the budget minus this, so some text always fits. */
const MIN_TEXT_BYTES = 64;

export type IrcLineKind = 'text' | 'action' | 'notice';

export interface LineBudget {
  readonly kind: IrcLineKind;
  readonly target: string;
  /** Bytes of ":nick!user@host " that the server puts in front when it relays our line. */
  readonly sourceBytes: number;
  /** Whole-line limit including CR LF (512). */
  readonly maxLineBytes: number;
}

/** What a line is made of, kept so it can be fitted again to another connection (refitLine). */
export interface LineParts {
  readonly kind: IrcLineKind;
  readonly target: string;
  /** The nick prefix, already sanitized. */
  readonly prefix: string;
  /** The text after the prefix, already sanitized. */
  readonly piece: string;
  /**
   * IRCv3 client tags for the line (+draft/reply). Not part of `wire`: the send queue adds them
   * when it writes the line, and only on a connection that has message-tags (send-queue.ts). Tags
   * do not count in the 512 bytes (message-tags "Size limit").
   */
  readonly tags?: readonly ClientTag[];
}

export interface RenderedLine {
  /** The command as written to the socket, without CR LF: `PRIVMSG #chan :text`. */
  readonly wire: string;
  /** What the channel sees as the message text (for ACTION: without the CTCP wrapping). */
  readonly text: string;
  /** Set by renderLine; lines without it are written as they are. */
  readonly parts?: LineParts;
}

export { byteLength };

/** Room for the text part of one line (prefix + piece). */
export function textBudget(request: LineBudget): number {
  const command = request.kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
  const fixed = CRLF_BYTES + request.sourceBytes + byteLength(`${command} ${request.target} :`);
  return request.maxLineBytes - fixed - (request.kind === 'action' ? ACTION_OVERHEAD_BYTES : 0);
}

/**
 * One piece from the core as an IRC line, the prefix in front. No CR, LF, NUL or \x01 survives
 * inside it: text from other networks can never inject a command or a CTCP.
 */
export function renderLine(parts: LineParts): RenderedLine {
  return toLine({ ...parts, prefix: sanitizeLine(parts.prefix), piece: sanitizeLine(parts.piece) });
}

function toLine(parts: LineParts): RenderedLine {
  const command = parts.kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
  const text = parts.prefix + parts.piece;
  const payload = parts.kind === 'action' ? `\x01ACTION ${text}\x01` : text;
  return { wire: `${command} ${parts.target} :${payload}`, text, parts };
}

/**
 * Fits a line rendered earlier to the connection it is written on now. A line waits across a
 * reconnect (the rest of a half-sent message, an unconfirmed line sent again), and the new
 * connection's source can be longer (`nick_` or `nick1234` while the nick is taken, another host),
 * so a line filled to 512 bytes for the old one would be cut by the server (RFC 1459 §2.3). A line
 * that no longer fits is split again, the prefix on every piece; one that fits is returned as is.
 */
export function refitLine(line: RenderedLine, sourceBytes: number, maxLineBytes: number): RenderedLine[] {
  const parts = line.parts;
  if (parts === undefined) return [line];
  const budget = textBudget({ kind: parts.kind, target: parts.target, sourceBytes, maxLineBytes });
  if (byteLength(line.text) <= budget) return [line];
  const prefix = truncateToBytes(parts.prefix, Math.max(0, budget - MIN_TEXT_BYTES));
  const pieces = splitToBytes(parts.piece, budget - byteLength(prefix));
  return pieces.length === 0 ? [line] : pieces.map((piece) => toLine({ ...parts, prefix, piece }));
}

/** Splits IRC text to fit maxBytes; core/text-split.ts with colour codes kept whole. */
export function splitToBytes(text: string, maxBytes: number): string[] {
  return coreSplit(text, maxBytes, MIRC_COLOUR_CODES);
}

/** The longest start of IRC text that fits maxBytes, colour codes kept whole. */
export function truncateToBytes(text: string, maxBytes: number): string {
  return coreTruncate(text, maxBytes, MIRC_COLOUR_CODES);
}
