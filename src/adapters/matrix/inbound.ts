/**
 * Matrix m.room.message -> the neutral kind and text (issue 4 §3, "From Matrix"). Event content is
 * untrusted: it is read through narrow guards, and anything unexpected is skipped, never thrown.
 *
 * - m.text / m.emote / m.notice -> text / action / notice.
 * - Reply fallbacks ("> <@alice:hs> quoted" lines and the blank line after them) are stripped
 *   from replies, i.e. events with m.relates_to.m.in_reply_to (spec §"Fallbacks for rich replies").
 * - Edits (m.relates_to rel_type m.replace, spec §"Event replacements") carry the new text in
 *   m.new_content; with edits = 'mark' it is relayed with the edit marker in front and `edited`
 *   set, with 'drop' not at all. (matterbridge relays them as silent near-duplicates: its issues
 *   #1315, #2073.)
 * - Media (m.image, m.file, m.audio, m.video) become "file name + download link".
 */
import type { MessageKind } from '../../core/message.js';
import { isObject, type Json } from './json.js';

export interface InboundOptions {
  readonly edits: 'mark' | 'drop';
  readonly editMarker: string;
  /** Base URL for media links, the account's homeserver. */
  readonly homeserver: string;
}

export type Inbound =
  | { readonly relay: true; readonly kind: MessageKind; readonly text: string; readonly edited: boolean }
  | { readonly relay: false; readonly why: string };

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const MEDIA_TYPES = new Set(['m.image', 'm.file', 'm.audio', 'm.video']);

export function mapRoomMessage(content: unknown, options: InboundOptions): Inbound {
  if (!isObject(content)) return { relay: false, why: 'no content' };
  const relation = isObject(content['m.relates_to']) ? content['m.relates_to'] : undefined;
  let edited = false;
  let effective: Json = content;
  if (relation?.rel_type === 'm.replace') {
    if (options.edits === 'drop') return { relay: false, why: 'edit (edits = drop)' };
    edited = true;
    if (isObject(content['m.new_content'])) effective = content['m.new_content'];
    else effective = { ...content, body: (str(content.body) ?? '').replace(/^\* /, '') };
  }
  const msgtype = str(effective.msgtype);
  const body = str(effective.body);
  if (msgtype === undefined || body === undefined) return { relay: false, why: 'no msgtype or body' };

  let kind: MessageKind = 'text';
  let text: string;
  if (MEDIA_TYPES.has(msgtype)) {
    text = mediaText(effective, options.homeserver);
  } else {
    if (msgtype === 'm.emote') kind = 'action';
    else if (msgtype === 'm.notice') kind = 'notice';
    const isReply = relation !== undefined && isObject(relation['m.in_reply_to']);
    // Only a rich reply carries a fallback (spec §"Rich replies": m.relates_to.m.in_reply_to); a
    // plain message that starts with "> <nick> " is a quote typed by a user (IRC habit) and is kept.
    text = isReply ? stripReplyFallback(body) : body;
    if (msgtype === 'm.location' && str(effective.geo_uri) !== undefined)
      text = `${text} ${str(effective.geo_uri)}`;
  }
  text = text.replace(/\r\n?/g, '\n').trim();
  if (text === '') return { relay: false, why: 'empty' };
  if (edited) text = options.editMarker + text;
  return { relay: true, kind, text, edited };
}

/** Removes the leading "> " quote lines of a reply fallback and the blank line that ends them. */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let index = 0;
  while (index < lines.length && (lines[index]?.startsWith('> ') === true || lines[index] === '>'))
    index += 1;
  if (index === 0) return body;
  if (lines[index] === '') index += 1;
  return lines.slice(index).join('\n');
}

/** "name.png https://hs/_matrix/media/v3/download/server/id/name.png" (mxc URI, spec §"Matrix Content URIs"). */
export function mediaText(content: Json, homeserver: string): string {
  const name = str(content.filename) ?? str(content.body) ?? 'file';
  const mxc = str(content.url);
  if (mxc === undefined) return isObject(content.file) ? `${name} (encrypted file)` : name;
  const link = mxcToHttp(mxc, homeserver, name);
  return link === undefined ? name : `${name} ${link}`;
}

export function mxcToHttp(mxc: string, homeserver: string, fileName?: string): string | undefined {
  const match = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  if (match === null) return undefined;
  const [, server = '', mediaId = ''] = match;
  const base = `${homeserver.replace(/\/+$/, '')}/_matrix/media/v3/download/${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
  return fileName === undefined || fileName === '' ? base : `${base}/${encodeURIComponent(fileName)}`;
}
