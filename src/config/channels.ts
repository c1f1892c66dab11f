import type { Protocol } from '../core/message.js';

/**
 * Channel forms per protocol (issue 2 §2). Returns an error text, or undefined when valid; the
 * channel is quoted as JSON so a control character shows as an escape, not as a line break.
 */
export function checkChannel(protocol: Protocol, channel: string): string | undefined {
  switch (protocol) {
    case 'irc':
      // RFC 2812 §1.3: '#', '&', '+' or '!' prefix; no space, comma, BEL; and no control character
      // at all, since the name goes into JOIN and PRIVMSG lines as it is.
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
      return /^[#&+!][^\s,\x00-\x1f\x7f]{1,199}$/.test(channel)
        ? undefined
        : `${JSON.stringify(channel)} is not an IRC channel (expected #name)`;
    case 'matrix':
      // eslint-disable-next-line no-control-regex -- control characters are refused in room ids too
      return /^[!#][^:\s\x00-\x1f]+:[^\s\x00-\x1f]+$/.test(channel)
        ? undefined
        : `${JSON.stringify(channel)} is not a Matrix room (expected !id:server or #alias:server)`;
    case 'kosmi':
      return kosmiRoomId(channel) === undefined
        ? `${JSON.stringify(channel)} is not a Kosmi room (expected @room, a room code, or https://app.kosmi.io/room/...)`
        : undefined;
  }
}

/**
 * Reduces a Kosmi channel to its room id, keeping the '@' (docs/kosmi-protocol.md §5: dropping it gives
 * ROOM_NOT_FOUND). Accepts '@name', a short code, or a room URL. Undefined when not a room.
 */
export function kosmiRoomId(channel: string): string | undefined {
  let id = channel.trim();
  const url = /^https?:\/\/[^/]+\/room\/([^/?#]+)\/?(?:[?#].*)?$/.exec(id);
  if (url?.[1] !== undefined) id = decodeURIComponent(url[1]);
  // Pattern used by another client (docs/kosmi-protocol.md §5).
  return /^@?[A-Za-z0-9_-]{2,64}$/.test(id) ? id : undefined;
}
