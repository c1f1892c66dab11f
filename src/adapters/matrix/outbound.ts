/**
 * Neutral message -> Matrix event content (issue 4 §3, "To Matrix"; issue 8 for replies, edits and
 * files). `body` is plain text with the rendered nick prefix; `formatted_body`
 * (org.matrix.custom.html, spec §"m.room.message msgtypes") is the same with the nick in bold.
 * Text from other networks is always HTML-escaped, so it can never inject markup.
 */
import { noPingNick } from '../../core/format.js';
import type { AttachmentKind, OutboundPiece } from '../../core/message.js';
import { parseMxc } from './inbound.js';

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

/** http(s) URLs in text from other networks; trailing punctuation is the sentence's, not the URL's. */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/g;
const URL_TRAILING = /[.,!?;:'")\]]+$/;

/**
 * Text from another network as HTML: escaped, newlines as <br>, and http(s) URLs as links, so
 * they stay clickable in clients that do not find links in formatted_body themselves.
 */
export function textToHtml(text: string): string {
  let html = '';
  let at = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0].replace(URL_TRAILING, '');
    html += escapeHtml(text.slice(at, match.index));
    html += `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
    at = match.index + url.length;
  }
  html += escapeHtml(text.slice(at));
  return html.replace(/\r?\n/g, '<br>');
}

/** The event content that carries one piece into a Matrix room (the core split it to fit). */
export function renderForMatrix(piece: OutboundPiece, options: { html: boolean }): MatrixTextContent {
  const msgtype = piece.kind === 'action' ? 'm.emote' : piece.kind === 'notice' ? 'm.notice' : 'm.text';
  const content: MatrixTextContent = { msgtype, body: piece.prefix + piece.text };
  if (options.html) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = htmlPrefix(piece.prefix, piece.nick) + textToHtml(piece.text);
  }
  return content;
}

/**
 * The whole m.room.message content for a piece:
 *
 * - piece.replyTo: a rich reply, `m.relates_to.m.in_reply_to` (spec §"Rich replies"), without a
 *   fallback (removed by MSC2781); the body keeps the mention the core wrote.
 * - piece.replaces: an edit (spec §"Event replacements"): `m.new_content` holds the new text,
 *   the outer body is the same with "* " in front for clients that do not know edits.
 * - a Matrix file (piece.attachment.native, protocol 'matrix'): the file event itself, with the
 *   same mxc URI (docs/matrix.md "Files to Matrix").
 */
export function contentForPiece(piece: OutboundPiece, options: { html: boolean }): Record<string, unknown> {
  const native = piece.attachment?.native;
  if (native?.protocol === 'matrix' && parseMxc(native.uri) !== undefined && piece.replaces === undefined)
    return withReply(mediaContent(piece, native, options), piece.replyTo);
  const text = renderForMatrix(piece, options);
  if (piece.replaces !== undefined) {
    return {
      msgtype: text.msgtype,
      body: `* ${text.body}`,
      ...(text.formatted_body === undefined
        ? {}
        : { format: text.format, formatted_body: `* ${text.formatted_body}` }),
      'm.new_content': { ...text },
      'm.relates_to': { rel_type: 'm.replace', event_id: piece.replaces },
    };
  }
  return withReply({ ...text }, piece.replyTo);
}

function withReply(content: Record<string, unknown>, replyTo: string | undefined): Record<string, unknown> {
  return replyTo === undefined
    ? content
    : { ...content, 'm.relates_to': { 'm.in_reply_to': { event_id: replyTo } } };
}

const MEDIA_MSGTYPES: Readonly<Record<AttachmentKind, string>> = {
  image: 'm.image',
  video: 'm.video',
  audio: 'm.audio',
  file: 'm.file',
  // An m.sticker event is a different event type without a caption; the picture goes as an image.
  sticker: 'm.image',
};

/**
 * One media event for a file from another Matrix room: `filename` is the file's name and `body`
 * a caption (spec v1.10, media captions) that says who sent it: the prefix and the name, e.g.
 * "[matrix] <alice> cat.jpg". Clients without captions show the body as the file's name.
 */
function mediaContent(
  piece: OutboundPiece,
  native: NonNullable<NonNullable<OutboundPiece['attachment']>['native']>,
  options: { html: boolean },
): Record<string, unknown> {
  const attachment = piece.attachment;
  const name = attachment?.name ?? 'file';
  const info: Record<string, unknown> = {};
  if (native.mimetype !== undefined) info.mimetype = native.mimetype;
  if (native.size !== undefined) info.size = native.size;
  if (native.width !== undefined) info.w = native.width;
  if (native.height !== undefined) info.h = native.height;
  const content: Record<string, unknown> = {
    msgtype: MEDIA_MSGTYPES[attachment?.kind ?? 'file'],
    body: piece.prefix + name,
    filename: name,
    url: native.uri,
    info,
  };
  if (options.html) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = htmlPrefix(piece.prefix, piece.nick) + escapeHtml(name);
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
