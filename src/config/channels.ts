import type { Protocol } from '../core/message.js';

/** Channel forms per protocol (issue 2 §2). Returns an error text, or undefined when valid. */
export function checkChannel(protocol: Protocol, channel: string): string | undefined {
  switch (protocol) {
    case 'irc':
      // RFC 2812 §1.3: '#', '&', '+' or '!' prefix; no space, comma or BEL.
      // eslint-disable-next-line no-control-regex -- BEL is exactly what RFC 2812 forbids in a name
      return /^[#&+!][^\s,\x07]{1,199}$/.test(channel) ? undefined : `"${channel}" is not an IRC channel (expected #name)`;
    case 'matrix':
      return /^[!#][^:\s]+:\S+$/.test(channel)
        ? undefined
        : `"${channel}" is not a Matrix room (expected !id:server or #alias:server)`;
    case 'kosmi':
      return kosmiRoomId(channel) === undefined
        ? `"${channel}" is not a Kosmi room (expected @room, a room code, or https://app.kosmi.io/room/...)`
        : undefined;
  }
}

/**
 * Reduces a Kosmi channel to its room id, keeping the '@' (kosmi-protocol.md §5: dropping it gives
 * ROOM_NOT_FOUND). Accepts '@name', a short code, or a room URL. Undefined when not a room.
 */
export function kosmiRoomId(channel: string): string | undefined {
  let id = channel.trim();
  const url = /^https?:\/\/[^/]+\/room\/([^/?#]+)\/?(?:[?#].*)?$/.exec(id);
  if (url?.[1] !== undefined) id = decodeURIComponent(url[1]);
  // Pattern used by another client (kosmi-protocol.md §5).
  return /^@?[A-Za-z0-9_-]{2,64}$/.test(id) ? id : undefined;
}
