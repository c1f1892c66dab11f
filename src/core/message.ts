/**
 * The neutral hub model. Every adapter maps its wire format to and from these types exactly once;
 * nothing converts adapter-to-adapter (house style: "A neutral hub model").
 */

export type Protocol = 'irc' | 'matrix' | 'kosmi';
export const PROTOCOLS: readonly Protocol[] = ['irc', 'matrix', 'kosmi'];

/** text: an ordinary line; action: /me (CTCP ACTION, m.emote); notice: IRC NOTICE, m.notice. */
export type MessageKind = 'text' | 'action' | 'notice';

/** One channel of one account, e.g. { account: 'irc.libera', channel: '#movienight' }. */
export interface ChannelRef {
  readonly account: string;
  readonly channel: string;
}

/** A message as an adapter received it, already parsed and trusted. */
export interface ChatMessage {
  /** Unique within this process; used for logs (debug level prints ids only). */
  readonly id: string;
  readonly kind: MessageKind;
  /** Plain text, formatting removed. May hold several lines separated by "\n". */
  readonly text: string;
  /**
   * The same text in the source network's own markup, for a destination that speaks it
   * (IRC to IRC keeps mIRC colours). Destinations of another format use `text`.
   */
  readonly rich?: { readonly format: 'irc'; readonly body: string };
  /** The name people see (display name, nick); the user id where the network has one. */
  readonly sender: { readonly nick: string; readonly userId?: string };
  readonly source: ChannelRef;
  readonly timestamp: Date;
  /** True for an edit of an earlier message (Matrix m.replace); the text is the new content. */
  readonly edited?: boolean;
}

/** What the router hands a destination adapter: the message plus the rendered nick prefix. */
export interface OutboundMessage {
  readonly id: string;
  readonly kind: MessageKind;
  readonly text: string;
  readonly rich?: ChatMessage['rich'];
  readonly edited?: boolean;
  /** The original sender's nick, for adapters that render it themselves (Matrix bolds it). */
  readonly nick: string;
  /** The prefix rendered from remote_nick_format for this destination, e.g. "[irc] <bob> ". */
  readonly prefix: string;
  readonly origin: ChannelRef & { readonly protocol: Protocol; readonly gateway: string };
  /** The destination channel on the receiving account. */
  readonly channel: string;
  readonly timestamp: Date;
}
