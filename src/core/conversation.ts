/**
 * How a reply, an edit or a deletion reads on a destination (issue 8), decided once, in core, from
 * the message map: the adapters only read and write their network's own fields. Pure functions;
 * the router (router.ts) calls them.
 */
import type { AdapterCapabilities } from './adapter.js';
import { TEXT_KEPT_CHARS } from './ledger.js';
import { truncateGraphemes } from './text-split.js';

/** Longest quote of the original in the quote form, in grapheme clusters. */
export const QUOTE_GRAPHEMES = 80;
/** Put where a quote or an edit's change was cut. */
const ELLIPSIS = '…';

/** One message of the map as the router needs it (structurally the store's MappedMessage). */
export interface MapEntry {
  readonly messageId: string;
  readonly account: string;
  readonly channel: string;
  readonly networkId?: string;
  readonly nick: string;
  readonly text: string;
  readonly createdAt: number;
  readonly copies: readonly {
    readonly account: string;
    readonly channel: string;
    readonly networkId: string;
    readonly pieceIndex: number;
  }[];
}

/** The message a reply answers: who wrote it and what it said (possibly only its start). */
export interface ReplyOrigin {
  readonly nick: string;
  readonly text: string;
  /** The original in the map, when the relay relayed it (then each destination may have its id). */
  readonly entry?: MapEntry;
}

export type ReplyStyle = 'mention' | 'quote';

/**
 * The original's id in one destination channel: the source message itself when it was said
 * there, else the relay's copy there (its first piece). Undefined when that channel has neither.
 */
export function idIn(entry: MapEntry, account: string, channel: string): string | undefined {
  if (entry.account === account && entry.channel === channel) return entry.networkId;
  let best: { networkId: string; pieceIndex: number } | undefined;
  for (const copy of entry.copies)
    if (
      copy.account === account &&
      copy.channel === channel &&
      (best === undefined || copy.pieceIndex < best.pieceIndex)
    )
      best = copy;
  return best?.networkId;
}

/**
 * The reply's text for a destination that cannot show the original: "alice: yes, at nine"
 * (mention), or a quote line of at most QUOTE_GRAPHEMES of the original before it (quote). A
 * multi-line original is quoted as one line.
 */
export function renderReply(style: ReplyStyle, origin: ReplyOrigin, text: string): string {
  if (style === 'mention') return `${origin.nick}: ${text}`;
  const flat = origin.text.replace(/\s*\n\s*/g, ' ').trim();
  const quote = truncateGraphemes(flat, QUOTE_GRAPHEMES);
  return `> <${origin.nick}> ${quote.text.trimEnd()}${quote.cut ? ELLIPSIS : ''}\n${text}`;
}

/** An edit shows only its change when at most this many words changed. */
export const EDIT_CHANGE_MAX_WORDS = 5;

/**
 * What an edit shows where it cannot replace the message in place (IRC, Kosmi): when a few words
 * changed, only those (with "…" where the unchanged text was left out), the approach Heisenbridge
 * takes for IRC; otherwise the whole new text. `previous` is what people saw last; `complete`
 * false when the map kept only its start (then the whole new text is shown).
 */
export function editText(previous: string, next: string, complete: boolean): string {
  if (!complete) return next;
  const before = words(previous);
  const after = words(next);
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head += 1;
  let tail = 0;
  while (
    tail < before.length - head &&
    tail < after.length - head &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  )
    tail += 1;
  const changed = after.slice(head, after.length - tail);
  // Nothing inserted (only words removed), or too much changed: the whole text says it best.
  if (changed.length === 0 || changed.length > EDIT_CHANGE_MAX_WORDS || changed.length === after.length)
    return next;
  return `${head > 0 ? ELLIPSIS : ''}${changed.join(' ')}${tail > 0 ? ELLIPSIS : ''}`;
}

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== '');

/** What one destination gets for a message, beyond what every piece carries. */
export interface PiecePlan {
  /** The text in the destination's formatting, before splitting. */
  readonly body: string;
  readonly replyTo?: string;
  readonly replaces?: string;
  readonly edited?: boolean;
}

/** What the planners need to know about a destination. */
export interface PlanTarget {
  readonly account: string;
  readonly channel: string;
  readonly capabilities: AdapterCapabilities;
  readonly replyStyle: ReplyStyle;
}

/**
 * A reply for one destination: linked to the original's id there when the network can show
 * replies and has it; the mention (or the quote) in the text unless the network shows the
 * original itself.
 */
export function replyPlan(origin: ReplyOrigin, body: string, target: PlanTarget): PiecePlan {
  const replies = target.capabilities.replies;
  const id = origin.entry === undefined ? undefined : idIn(origin.entry, target.account, target.channel);
  if (id !== undefined && replies !== undefined)
    return { body: replies === 'native' ? body : renderReply('mention', origin, body), replyTo: id };
  return { body: renderReply(target.replyStyle, origin, body) };
}

/** How an edit of a message in the map goes out; the source account's edit settings. */
export interface EditContext {
  readonly entry: MapEntry;
  readonly text: string;
  readonly marker: string;
  /** The original is young enough for an edit to be relayed as new text. */
  readonly inWindow: boolean;
}

/**
 * An edit for one destination: a replacement of the relay's copy where the network edits in place
 * and has one; else, within the window, the change as new text behind the marker; else nothing.
 */
export function editPlan(edit: EditContext, target: PlanTarget): PiecePlan | undefined {
  const id = idIn(edit.entry, target.account, target.channel);
  if (id !== undefined && target.capabilities.edits) return { body: edit.text, replaces: id };
  if (!edit.inWindow) return undefined;
  const complete = Array.from(edit.entry.text).length < TEXT_KEPT_CHARS;
  return { body: edit.marker + editText(edit.entry.text, edit.text, complete), edited: true };
}
