/**
 * Matrix m.room.message / m.sticker -> the neutral message fields (issue 4 §3 and issue 8, "From
 * Matrix"; docs/matrix.md "Replies, edits, deletions" and "Files from Matrix"). Event content is
 * untrusted: it is read through narrow guards, and anything unexpected is skipped, never thrown.
 *
 * - m.text / m.emote / m.notice -> text / action / notice.
 * - Rich replies (spec §"Rich replies": m.relates_to.m.in_reply_to.event_id) give `replyTo`. Reply
 *   fallbacks were removed from the spec (MSC2781, v1.13) and are never read; the "> <@alice:hs>"
 *   quote lines old clients still put in front of a reply's body are only stripped.
 * - Edits (spec §"Event replacements": m.relates_to rel_type m.replace) give `editOf` and the text
 *   of m.new_content, without any marker: the core marks it for destinations that cannot edit in
 *   place. With edits = 'drop' they are not relayed at all.
 * - Files (m.image, m.video, m.audio, m.file and m.sticker events) give an `attachment` and a text
 *   that says what was sent: "sent an image: <link>" with the relay's media links
 *   (general.public_url), else "sent an image: cat.jpg". The kind stays 'text'.
 */
import type { Attachment, AttachmentKind, MessageKind } from '../../core/message.js';
import type { MediaLinks } from '../../media/types.js';
import { isObject, type Json } from './json.js';

export interface InboundOptions {
  readonly edits: 'mark' | 'drop';
  /** The relay's media links; undefined when general.public_url is not set. */
  readonly media: MediaLinks | undefined;
}

export type Inbound =
  | {
      readonly relay: true;
      readonly kind: MessageKind;
      readonly text: string;
      /** The event id of the message this one replies to. */
      readonly replyTo?: string;
      /** The event id of the message this one replaces (edits). */
      readonly editOf?: string;
      readonly attachment?: Attachment;
    }
  | { readonly relay: false; readonly why: string };

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

const MEDIA_KINDS: Readonly<Record<string, AttachmentKind>> = {
  'm.image': 'image',
  'm.video': 'video',
  'm.audio': 'audio',
  'm.file': 'file',
};

/** How the text names each kind of file: "sent an image: ...". */
export const KIND_WORDS: Readonly<Record<AttachmentKind, string>> = {
  image: 'an image',
  video: 'a video',
  audio: 'an audio file',
  file: 'a file',
  sticker: 'a sticker',
};

/** mxc://{server}/{media id} (spec §"Matrix Content (mxc://) URIs"). */
const MXC = /^mxc:\/\/([A-Za-z0-9.:[\]-]+)\/([A-Za-z0-9_-]+)$/;

/** `type` is the event type: m.room.message or m.sticker. */
export function mapRoomMessage(type: string, content: unknown, options: InboundOptions): Inbound {
  if (!isObject(content)) return { relay: false, why: 'no content' };
  const relation = isObject(content['m.relates_to']) ? content['m.relates_to'] : undefined;
  let editOf: string | undefined;
  let effective: Json = content;
  if (relation?.rel_type === 'm.replace') {
    if (options.edits === 'drop') return { relay: false, why: 'edit (edits = drop)' };
    editOf = str(relation.event_id);
    if (editOf === undefined) return { relay: false, why: 'edit without event_id' };
    if (isObject(content['m.new_content'])) effective = content['m.new_content'];
    else effective = { ...content, body: (str(content.body) ?? '').replace(/^\* /, '') };
  }
  const inReplyTo =
    relation !== undefined && isObject(relation['m.in_reply_to']) ? relation['m.in_reply_to'] : undefined;
  const replyTo = editOf === undefined ? str(inReplyTo?.event_id) : undefined;
  const msgtype = type === 'm.sticker' ? 'm.sticker' : str(effective.msgtype);
  const body = str(effective.body);
  if (msgtype === undefined || body === undefined) return { relay: false, why: 'no msgtype or body' };

  let kind: MessageKind = 'text';
  let text: string;
  let attachment: Attachment | undefined;
  const fileKind = msgtype === 'm.sticker' ? 'sticker' : MEDIA_KINDS[msgtype];
  if (fileKind !== undefined) {
    const file = mediaOf(effective, fileKind, options.media);
    text = file.text;
    attachment = file.attachment;
  } else {
    if (msgtype === 'm.emote') kind = 'action';
    else if (msgtype === 'm.notice') kind = 'notice';
    // Only a rich reply can carry an old client's fallback; a plain message that starts with
    // "> <nick> " is a quote typed by a user (IRC habit) and is kept.
    text = replyTo !== undefined ? stripReplyFallback(body) : body;
    if (msgtype === 'm.location' && str(effective.geo_uri) !== undefined)
      text = `${text} ${str(effective.geo_uri)}`;
  }
  text = text.replace(/\r\n?/g, '\n').trim();
  if (text === '') return { relay: false, why: 'empty' };
  return {
    relay: true,
    kind,
    text,
    ...(replyTo === undefined ? {} : { replyTo }),
    ...(editOf === undefined ? {} : { editOf }),
    ...(attachment === undefined ? {} : { attachment }),
  };
}

/**
 * Removes the leading "> " quote lines of an old client's reply fallback and the blank line that
 * ends them. Never parsed for meaning: the original comes from m.in_reply_to.
 */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let index = 0;
  while (index < lines.length && (lines[index]?.startsWith('> ') === true || lines[index] === '>'))
    index += 1;
  if (index === 0) return body;
  if (lines[index] === '') index += 1;
  return lines.slice(index).join('\n');
}

/**
 * The attachment and the words for a file event. The file name is `filename` when present, where
 * `body` is then a caption (spec v1.10 §"m.image" etc., "media captions"); else `body`.
 * An end-to-end encrypted file has `file` (with the keys) instead of `url`: the relay cannot
 * open it for anyone, so it only names it.
 */
export function mediaOf(
  content: Json,
  kind: AttachmentKind,
  media: MediaLinks | undefined,
): { text: string; attachment: Attachment } {
  const body = str(content.body)?.trim() ?? '';
  const filename = str(content.filename)?.trim();
  const name = oneLine(filename !== undefined && filename !== '' ? filename : body === '' ? 'file' : body);
  const caption = filename !== undefined && filename !== '' && body !== '' && body !== filename ? body : '';
  const said = `sent ${KIND_WORDS[kind]}:`;
  const mxc = str(content.url);
  const withCaption = (text: string): string => (caption === '' ? text : `${text}\n${caption}`);
  if (mxc === undefined || !MXC.test(mxc)) {
    const encrypted = isObject(content.file);
    return {
      text: withCaption(
        encrypted
          ? `${said} ${name} (encrypted: the relay cannot open end-to-end encrypted files)`
          : `${said} ${name}`,
      ),
      attachment: { kind, name },
    };
  }
  const info = isObject(content.info) ? content.info : {};
  const mimetype = str(info.mimetype);
  const size = num(info.size);
  const width = num(info.w);
  const height = num(info.h);
  const link = media?.link(mxc, name);
  return {
    text: withCaption(`${said} ${link ?? name}`),
    attachment: {
      kind,
      name,
      native: {
        protocol: 'matrix',
        uri: mxc,
        ...(mimetype === undefined ? {} : { mimetype }),
        ...(size === undefined ? {} : { size }),
        ...(width === undefined ? {} : { width }),
        ...(height === undefined ? {} : { height }),
      },
    },
  };
}

/** A file name on one line (a name with a newline would become two IRC lines). */
function oneLine(name: string): string {
  return name.replace(/[\r\n]+/g, ' ');
}

/** `[server, media id]` of an mxc URI, or undefined when it is not one. */
export function parseMxc(uri: string): [server: string, mediaId: string] | undefined {
  const match = MXC.exec(uri);
  return match === null ? undefined : [match[1] ?? '', match[2] ?? ''];
}
