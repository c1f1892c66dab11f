/**
 * IRCv3 message tags (https://ircv3.net/specs/extensions/message-tags): the `msgid` a server gives
 * each message (https://ircv3.net/specs/extensions/message-ids) and the `+draft/reply` client tag
 * (https://ircv3.net/specs/client-tags/reply). Parsed from the raw line here, not taken from
 * irc-framework's decoded tags: it lowercases keys and reads "\S" as a space, both off the spec.
 */

/** One client tag we put on an outgoing line; the value is raw and escaped when written. */
export interface ClientTag {
  /** With its "+" client prefix: `+draft/reply`. */
  readonly name: string;
  readonly value: string;
}

/** The reply tag we send: the spec is still a draft, so its name carries the `draft/` vendor. */
export const REPLY_TAG = '+draft/reply';
/** The name the reply tag will have once ratified; read too, never sent. */
const RATIFIED_REPLY_TAG = '+reply';
/**
 * The longest id we accept from the network or put in a tag value. Real msgids are short
 * (InspIRCd, Ergo, UnrealIRCd: 20-40 bytes); anything longer is not an id we want in the map.
 */
export const MAX_ID_BYTES = 128;
/** message-tags "Size limit": a client's tag data, "@" and the space after it included. */
const MAX_CLIENT_TAG_BYTES = 4094;

const ESCAPES: Record<string, string> = { ';': '\\:', ' ': '\\s', '\\': '\\\\', '\r': '\\r', '\n': '\\n' };
const UNESCAPES: Record<string, string> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

/** message-tags "Escaping values": `;`, space, `\`, CR and LF are written as two characters. */
export function escapeTagValue(value: string): string {
  return value.replace(/[; \\\r\n]/g, (c) => ESCAPES[c] ?? c);
}

/**
 * The inverse: an unknown escape drops the backslash ("\b" is "b"), a lone backslash at the end is
 * dropped (message-tags "Escaping values").
 */
export function unescapeTagValue(escaped: string): string {
  return escaped.replace(/\\(.?)/gs, (_match, next: string) => UNESCAPES[next] ?? next);
}

/**
 * The tags of a raw line (`@a=1;+b=x\sy :nick!u@h PRIVMSG ...`); empty for an untagged line.
 * A tag without a value has the value ''. Of a key given twice, the last one counts.
 */
export function parseTags(raw: string): Map<string, string> {
  const tags = new Map<string, string>();
  if (!raw.startsWith('@')) return tags;
  const end = raw.indexOf(' ');
  const section = raw.slice(1, end === -1 ? raw.length : end);
  for (const item of section.split(';')) {
    const equals = item.indexOf('=');
    const key = equals === -1 ? item : item.slice(0, equals);
    if (key === '') continue;
    tags.set(key, equals === -1 ? '' : unescapeTagValue(item.slice(equals + 1)));
  }
  return tags;
}

/** An id as the network gave it, or undefined when it is empty, oversized or holds a NUL. */
export function validId(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.includes('\0')) return undefined;
  return Buffer.byteLength(value, 'utf8') <= MAX_ID_BYTES ? value : undefined;
}

/** What the tags of an incoming chat line say about it. */
export interface MessageTagFacts {
  /** The server's id for the message (`msgid`). */
  readonly msgid?: string;
  /** The msgid of the message it answers (`+draft/reply`, or the ratified `+reply`). */
  readonly replyTo?: string;
}

export function readMessageTags(tags: ReadonlyMap<string, string>): MessageTagFacts {
  const msgid = validId(tags.get('msgid'));
  const replyTo = validId(tags.get(REPLY_TAG) ?? tags.get(RATIFIED_REPLY_TAG));
  return { ...(msgid === undefined ? {} : { msgid }), ...(replyTo === undefined ? {} : { replyTo }) };
}

/**
 * The tag section for an outgoing line, `@name=value;... ` with the trailing space, or '' when no
 * tag is left. Values are escaped, so an id from any network stays one tag value: it can neither
 * end the tag section nor the line. Tags past the client size limit are left off.
 */
export function formatClientTags(tags: readonly ClientTag[]): string {
  let section = '';
  for (const tag of tags) {
    if (tag.value.includes('\0')) continue; // no escape exists for NUL; no line may hold one
    const item = `${tag.name}=${escapeTagValue(tag.value)}`;
    const next = section === '' ? item : `${section};${item}`;
    if (Buffer.byteLength(`@${next} `, 'utf8') > MAX_CLIENT_TAG_BYTES) break;
    section = next;
  }
  return section === '' ? '' : `@${section} `;
}

/**
 * Whether the server relays this client tag (`+name`): the ISUPPORT CLIENTTAGDENY list names tags
 * without their "+", "*" denies all, "-name" exempts one from "*" (message-tags "RPL_ISUPPORT tokens").
 */
export function clientTagAllowed(name: string, deny: unknown): boolean {
  if (!Array.isArray(deny)) return true;
  const bare = name.replace(/^\+/, '');
  if (deny.includes('*')) return deny.includes(`-${bare}`);
  return !deny.includes(bare);
}
