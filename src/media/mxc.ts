/**
 * mxc URIs and their parts, validated strictly: what is not a valid server name or media id never
 * becomes a link, a path of the relay's listener, or a request to a homeserver.
 */

/** A file on a homeserver: `mxc://{server}/{mediaId}`. */
export interface MxcRef {
  readonly server: string;
  readonly mediaId: string;
}

/** Longest server name: the spec's dns-name is at most 255 characters, plus ":" and a port. */
const MAX_SERVER_NAME_LENGTH = 255 + 6;
/** The spec sets no limit on media ids; homeservers use 24-32 characters. A bound keeps paths sane. */
const MAX_MEDIA_ID_LENGTH = 255;

/**
 * The Matrix spec's server name grammar (Appendices, "Server Name"):
 *   server_name = hostname [ ":" port ];  port = 1*5DIGIT
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name
 *   IPv6address = 2*45IPv6char;  IPv6char = DIGIT / %x41-46 / %x61-66 / ":" / "."
 *   dns-name    = 1*255dns-char;  dns-char = DIGIT / ALPHA / "-" / "."
 * (An IPv4 address is also a dns-name, so it needs no branch of its own.)
 */
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?$/;

/** The Matrix spec's media id grammar (Content repository, "Matrix Content (mxc://) URIs"). */
const MEDIA_ID = /^[A-Za-z0-9_-]+$/;

export function isServerName(text: string): boolean {
  return text.length <= MAX_SERVER_NAME_LENGTH && SERVER_NAME.test(text);
}

export function isMediaId(text: string): boolean {
  return text.length <= MAX_MEDIA_ID_LENGTH && MEDIA_ID.test(text);
}

/** The parts of `mxc://{server}/{mediaId}`, or undefined when the text is not exactly that. */
export function parseMxc(uri: string): MxcRef | undefined {
  if (!uri.startsWith('mxc://')) return undefined;
  const rest = uri.slice('mxc://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const server = rest.slice(0, slash);
  const mediaId = rest.slice(slash + 1);
  return isServerName(server) && isMediaId(mediaId) ? { server, mediaId } : undefined;
}

export function mxcUri(ref: MxcRef): string {
  return `mxc://${ref.server}/${ref.mediaId}`;
}
