import { parseTags, readMessageTags, type MessageTagFacts } from './tags.js';
import type { IrcLine } from './wire.js';

/** A chat line from a user, parsed from PRIVMSG or NOTICE. */
export interface ChatLine extends MessageTagFacts {
  readonly kind: 'text' | 'action' | 'notice';
  readonly target: string;
  readonly nick: string;
  /** The text with its mIRC formatting, CTCP markers removed. */
  readonly body: string;
  /** IRCv3 server-time when the server sent it, else now. */
  readonly time: Date;
}

/**
 * PRIVMSG/NOTICE -> ChatLine. Undefined for what is not chat: lines from servers (no nick!user
 * prefix), CTCP other than ACTION (VERSION, PING and all CTCP replies), and a NOTICE carrying
 * CTCP (CTCP spec: replies travel as NOTICE). `raw` is the line as received, for its IRCv3 tags
 * (msgid, +draft/reply: tags.ts); a server without message-tags sends none.
 */
export function parseChatLine(line: IrcLine, raw = ''): ChatLine | undefined {
  if (line.command !== 'PRIVMSG' && line.command !== 'NOTICE') return undefined;
  if (!line.prefix.includes('!')) return undefined;
  const [target = '', text = ''] = line.params;
  let kind: ChatLine['kind'] = line.command === 'NOTICE' ? 'notice' : 'text';
  let body = text;
  if (text.startsWith('\x01')) {
    const isAction = text.startsWith('\x01ACTION ') || text === '\x01ACTION\x01';
    if (line.command !== 'PRIVMSG' || !isAction) return undefined;
    kind = 'action';
    body = text.slice('\x01ACTION '.length);
    if (body.endsWith('\x01')) body = body.slice(0, -1);
  }
  const stamp = line.tags.time === undefined ? undefined : new Date(line.tags.time);
  const time = stamp === undefined || Number.isNaN(stamp.getTime()) ? new Date() : stamp;
  return { kind, target, nick: line.nick, body, time, ...readMessageTags(parseTags(raw)) };
}
