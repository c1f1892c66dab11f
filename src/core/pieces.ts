/**
 * Splitting a relayed message for one destination, once, in core (one splitter for every
 * network): from the destination's capabilities, into the texts of its pieces.
 */
import type { AdapterCapabilities } from './adapter.js';
import type { PiecePlan } from './conversation.js';
import type { ChatMessage, OutboundPiece, Protocol } from './message.js';
import { byteLength, MIRC_COLOUR_CODES, splitToBytes, truncateToBytes } from './text-split.js';

/** The prefix may take at most the piece's room minus this, so some text always fits. */
const MIN_TEXT_BYTES = 64;

export interface SplitResult {
  /** The prefix, shortened if it would leave less than MIN_TEXT_BYTES for the text. */
  readonly prefix: string;
  readonly texts: readonly string[];
  /** Pieces cut off by maxPieces. */
  readonly cut: number;
}

/**
 * `body` is the text in the destination's formatting (mIRC codes only for an 'irc' destination,
 * which never cuts inside one). Lines are pieces of their own where the network has no
 * multi-line messages; blank lines are dropped there.
 */
export function splitForDestination(body: string, prefix: string, caps: AdapterCapabilities): SplitResult {
  const atomic = caps.formatting === 'irc' ? MIRC_COLOUR_CODES : undefined;
  const shortPrefix = truncateToBytes(prefix, Math.max(0, caps.maxMessageBytes - MIN_TEXT_BYTES), atomic);
  const room = caps.maxMessageBytes - byteLength(shortPrefix);
  const lines = caps.multiline ? [body] : body.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '');
  const texts = lines.flatMap((line) => (line === '' ? [] : splitToBytes(line, room, atomic)));
  let cut = 0;
  if (caps.maxPieces !== undefined && texts.length > caps.maxPieces) {
    cut = texts.length - caps.maxPieces;
    texts.length = caps.maxPieces;
    const marker = caps.cutMarker ?? '';
    const last = texts[texts.length - 1] ?? '';
    texts[texts.length - 1] =
      truncateToBytes(last, Math.max(0, room - byteLength(marker)), atomic).trimEnd() + marker;
  }
  return { prefix: shortPrefix, texts, cut };
}

/** Everything a destination's pieces of one message are made from. */
export interface PieceSource {
  readonly message: ChatMessage;
  /** `<message id>.<route index>`: piece ids are `<outboundId>.<index>`. */
  readonly outboundId: string;
  readonly messageId: string;
  readonly origin: OutboundPiece['origin'];
  readonly channel: string;
  readonly destination: Protocol;
  readonly prefix: string;
  readonly plan: PiecePlan;
}

/** The pieces of one message for one destination; `cut` counts pieces dropped by maxPieces. */
export function buildPieces(
  source: PieceSource,
  caps: AdapterCapabilities,
): { pieces: OutboundPiece[]; cut: number } {
  const { message, plan } = source;
  const split = splitForDestination(plan.body, source.prefix, caps);
  // A replacement is one event: the edited message's new text, in its first piece's place.
  const texts = plan.replaces === undefined ? split.texts : split.texts.slice(0, 1);
  const attachment =
    message.attachment?.native?.protocol === source.destination ? message.attachment : undefined;
  const pieces = texts.map((text, index) => ({
    id: `${source.outboundId}.${index}`,
    messageId: source.messageId,
    index,
    count: texts.length,
    kind: message.kind,
    text,
    nick: message.sender.nick,
    prefix: split.prefix,
    ...(plan.edited === true ? { edited: true } : {}),
    ...(index === 0 && plan.replyTo !== undefined ? { replyTo: plan.replyTo } : {}),
    ...(index === 0 && plan.replaces !== undefined ? { replaces: plan.replaces } : {}),
    ...(index === 0 && attachment !== undefined ? { attachment } : {}),
    origin: source.origin,
    channel: source.channel,
    timestamp: message.timestamp.getTime(),
  }));
  return { pieces, cut: split.cut };
}
