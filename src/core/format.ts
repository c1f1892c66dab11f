import type { Protocol } from './message.js';

export interface NickFormatFields {
  readonly nick: string;
  readonly protocol: Protocol;
  readonly account: string;
  readonly label: string;
  readonly gateway: string;
  readonly channel: string;
}

const ZERO_WIDTH_SPACE = '\u200b';

/**
 * Renders remote_nick_format (matterbridge's RemoteNickFormat): {NICK}, {NOPINGNICK}, {PROTOCOL},
 * {ACCOUNT}, {LABEL}, {GATEWAY}, {CHANNEL}. Unknown placeholders stay as written, so a typo shows.
 */
export function renderNickFormat(format: string, fields: NickFormatFields): string {
  return format.replace(
    /\{(NICK|NOPINGNICK|PROTOCOL|ACCOUNT|LABEL|GATEWAY|CHANNEL)\}/g,
    (_match, name: string) => {
      switch (name) {
        case 'NICK':
          return fields.nick;
        case 'NOPINGNICK':
          return noPingNick(fields.nick);
        case 'PROTOCOL':
          return fields.protocol;
        case 'ACCOUNT':
          return fields.account;
        case 'LABEL':
          return fields.label;
        case 'GATEWAY':
          return fields.gateway;
        default:
          return fields.channel;
      }
    },
  );
}

/**
 * The nick with a zero-width space after its first character, so IRC clients do not highlight
 * the person whose name it is. Splits by code point, never inside a surrogate pair.
 */
export function noPingNick(nick: string): string {
  const chars = Array.from(nick);
  if (chars.length < 2) return nick;
  return `${chars[0] ?? ''}${ZERO_WIDTH_SPACE}${chars.slice(1).join('')}`;
}
