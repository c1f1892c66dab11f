/**
 * The neutral hub model. Every adapter maps its wire format to and from these types exactly once;
 * nothing converts adapter-to-adapter (house style: "A neutral hub model").
 */

export type Protocol = 'irc' | 'matrix' | 'kosmi';

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
  /**
   * The message's own id on its network where it has one (Matrix event id, Kosmi message id, IRC
   * msgid). The ledger remembers it, so a message read again after a restart is not relayed twice.
   */
  readonly networkId?: string;
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
  /**
   * This message answers another one in the same channel: that message's id on this network. The
   * core finds it in the message map; where the map does not know it, the adapter may say who
   * wrote it and what it said (Matrix fetches the event), so the reply still reads right.
   */
  readonly replyTo?: { readonly networkId: string; readonly nick?: string; readonly text?: string };
  /**
   * This message is an edit (Matrix m.replace) of the message with this id on this network; `text`
   * is the whole new content, without any marker. The core relays it only when the map knows the
   * original (it was relayed).
   */
  readonly editOf?: string;
  /**
   * A file (picture, video, audio, sticker, other). `text` already says what it is to people on
   * other networks ("sent an image: cat.jpg <link>"); `native` lets a destination of the same
   * protocol show the file itself.
   */
  readonly attachment?: Attachment;
}

export type AttachmentKind = 'image' | 'video' | 'audio' | 'file' | 'sticker';

export interface Attachment {
  readonly kind: AttachmentKind;
  readonly name: string;
  /** The file on its own network (Matrix: the mxc URI and the event's info), plain JSON. */
  readonly native?: {
    readonly protocol: Protocol;
    readonly uri: string;
    readonly mimetype?: string;
    readonly size?: number;
    readonly width?: number;
    readonly height?: number;
  };
}

/** A message removed on its network (Matrix redaction), by its id there. */
export interface ChatDeletion {
  readonly source: ChannelRef;
  readonly networkId: string;
}

/**
 * One piece of one relayed message for one destination channel: what the core hands an adapter.
 * The core split the message for this destination (its capabilities), so a piece is sent as one
 * IRC line, one Matrix event or one Kosmi message. Pieces are kept in the store until confirmed,
 * so a piece must stay plain JSON.
 */
export interface OutboundPiece {
  /** Stable across restarts: `<outbound id>.<index>`; adapters are idempotent on it. */
  readonly id: string;
  /** The relayed message this piece belongs to (the message map's key). */
  readonly messageId: string;
  readonly index: number;
  readonly count: number;
  readonly kind: MessageKind;
  /** This piece's text, without the prefix, in the destination's formatting. */
  readonly text: string;
  /** The original sender's nick, for adapters that render it themselves (Matrix bolds it). */
  readonly nick: string;
  /** The prefix rendered from remote_nick_format for this destination, e.g. "[irc] <bob> ". */
  readonly prefix: string;
  /** The text is the new content of an edited message, relayed as a new message (with the marker). */
  readonly edited?: boolean;
  /**
   * A reply whose original the destination has: the original's id there (the relay's copy, or the
   * source message itself). Only set for a destination whose capabilities declare `replies`.
   */
  readonly replyTo?: string;
  /** An edit applied in place (capabilities.edits): the destination's id of the message it changes. */
  readonly replaces?: string;
  /** A deletion (capabilities.deletes): the destination's id of the message to remove; text is ''. */
  readonly redacts?: string;
  /** Only on a message's first piece, for a destination that shows files (same protocol). */
  readonly attachment?: Attachment;
  readonly origin: ChannelRef & { readonly protocol: Protocol; readonly gateway: string };
  /** The destination channel on the receiving account. */
  readonly channel: string;
  /** When the source network said it (ms since the epoch). */
  readonly timestamp: number;
}
