/**
 * Neutral message -> Matrix event content (issue 4 §3, "To Matrix"). `body` is plain text with the
 * rendered nick prefix; `formatted_body` (org.matrix.custom.html, spec §"m.room.message msgtypes")
 * is the same with the nick in bold. Text from other networks is always HTML-escaped, so it can
 * never inject markup.
 */
import type { OutboundMessage } from '../../core/message.js';

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

const ZWSP = '\u200b';

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

/** The events (usually one) that carry an outbound message into a Matrix room. */
export function renderForMatrix(message: OutboundMessage, options: { html: boolean }): MatrixTextContent[] {
  const msgtype = message.kind === 'action' ? 'm.emote' : message.kind === 'notice' ? 'm.notice' : 'm.text';
  return splitUtf8(message.text, MAX_TEXT_BYTES).map((part) => {
    const content: MatrixTextContent = { msgtype, body: message.prefix + part };
    if (options.html) {
      content.format = 'org.matrix.custom.html';
      content.formatted_body =
        htmlPrefix(message.prefix, message.nick) + escapeHtml(part).replace(/\r?\n/g, '<br>');
    }
    return content;
  });
}

/** The prefix, escaped, with the nick in it (also in its {NOPINGNICK} form) in <strong>. */
export function htmlPrefix(prefix: string, nick: string): string {
  if (prefix === '') return '';
  const forms = nick.length > 1 ? [nick, `${nick.slice(0, 1)}${ZWSP}${nick.slice(1)}`] : [nick];
  for (const form of forms) {
    const at = nick === '' ? -1 : prefix.indexOf(form);
    if (at >= 0) {
      return `${escapeHtml(prefix.slice(0, at))}<strong>${escapeHtml(form)}</strong>${escapeHtml(prefix.slice(at + form.length))}`;
    }
  }
  return escapeHtml(prefix);
}

/** Splits text into pieces of at most maxBytes UTF-8 bytes, at a line or word end where possible. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return [text];
  const parts: string[] = [];
  let rest = text;
  while (Buffer.byteLength(rest) > maxBytes) {
    // Largest prefix of whole code points that fits.
    let end = 0;
    let bytes = 0;
    for (const char of rest) {
      const size = Buffer.byteLength(char);
      if (bytes + size > maxBytes) break;
      bytes += size;
      end += char.length;
    }
    const window = rest.slice(0, end);
    const breakAt = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    const cut = breakAt > end / 2 ? breakAt : end;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, '');
  }
  if (rest !== '') parts.push(rest);
  return parts;
}
