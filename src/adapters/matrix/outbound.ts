/**
 * Neutral message -> Matrix event content (issue 4 §3, "To Matrix"). `body` is plain text with the
 * rendered nick prefix; `formatted_body` (org.matrix.custom.html, spec §"m.room.message msgtypes")
 * is the same with the nick in bold. Text from other networks is always HTML-escaped, so it can
 * never inject markup.
 */
import { noPingNick } from '../../core/format.js';
import type { OutboundPiece } from '../../core/message.js';

export interface MatrixTextContent {
  msgtype: 'm.text' | 'm.emote' | 'm.notice';
  body: string;
  format?: 'org.matrix.custom.html';
  formatted_body?: string;
}

/**
 * Longest text per event, in UTF-8 bytes. Events are limited to 65,536 bytes of JSON (spec
 * §"Size limits"); body and formatted_body both carry the text, and escaping can grow it.
 */
export const MAX_TEXT_BYTES = 12_000;

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/** The event content that carries one piece into a Matrix room (the core split it to fit). */
export function renderForMatrix(piece: OutboundPiece, options: { html: boolean }): MatrixTextContent {
  const msgtype = piece.kind === 'action' ? 'm.emote' : piece.kind === 'notice' ? 'm.notice' : 'm.text';
  const content: MatrixTextContent = { msgtype, body: piece.prefix + piece.text };
  if (options.html) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body =
      htmlPrefix(piece.prefix, piece.nick) + escapeHtml(piece.text).replace(/\r?\n/g, '<br>');
  }
  return content;
}

/** The prefix, escaped, with the nick in it (also in its {NOPINGNICK} form) in <strong>. */
export function htmlPrefix(prefix: string, nick: string): string {
  if (prefix === '' || nick === '') return escapeHtml(prefix);
  for (const form of new Set([nick, noPingNick(nick)])) {
    const at = prefix.indexOf(form);
    if (at >= 0) {
      return `${escapeHtml(prefix.slice(0, at))}<strong>${escapeHtml(form)}</strong>${escapeHtml(prefix.slice(at + form.length))}`;
    }
  }
  return escapeHtml(prefix);
}
