/**
 * Nick helpers: IRC case folding and the alternative nicks used while the configured one is taken.
 */

/** RFC 1459 §2.2 case mapping ("rfc1459", the ISUPPORT default): []\~ are the upper case of {}|^. */
export function ircLower(text: string): string {
  return text
    .toLowerCase()
    .replace(/[[\]\\~]/g, (c) => ({ '[': '{', ']': '}', '\\': '|', '~': '^' })[c] ?? c);
}

/**
 * The n-th alternative to `nick` (n from 1): nick_, nick__, then a short random suffix, keeping
 * within `maxLength` (ISUPPORT NICKLEN; RFC 2812 says 9).
 */
export function alternativeNick(
  nick: string,
  attempt: number,
  maxLength: number,
  random: () => number = Math.random,
): string {
  if (attempt <= 2) {
    const suffix = '_'.repeat(attempt);
    return nick.slice(0, Math.max(1, maxLength - suffix.length)) + suffix;
  }
  const digits = String(Math.floor(random() * 10_000)).padStart(4, '0');
  return nick.slice(0, Math.max(1, Math.min(nick.length, maxLength - digits.length))) + digits;
}

/** Registration gives up on nicks after this many alternatives. */
export const MAX_NICK_ATTEMPTS = 8;
/** NICKLEN when the server has not said (RFC 2812 §1.2.1). */
const DEFAULT_NICKLEN = 9;

/**
 * Which nick the connection has, which nicks are its own (the configured one and every
 * alternative it used: lines from them are never relayed), and whether to take the configured
 * nick back.
 */
export class NickKeeper {
  private nick: string;
  private attempts = 0;
  private readonly own = new Set<string>();

  constructor(
    readonly configured: string,
    private readonly random: () => number = Math.random,
  ) {
    this.nick = configured;
    this.own.add(ircLower(configured));
  }

  get current(): string {
    return this.nick;
  }

  get hasConfiguredNick(): boolean {
    return ircLower(this.nick) === ircLower(this.configured);
  }

  isMe(nick: string): boolean {
    return ircLower(nick) === ircLower(this.nick);
  }

  isOwn(nick: string): boolean {
    return this.own.has(ircLower(nick));
  }

  /** The server confirmed a nick (001, or NICK from us); true when that regained the configured one. */
  changed(nick: string): boolean {
    const regained = !this.hasConfiguredNick && ircLower(nick) === ircLower(this.configured);
    this.nick = nick;
    this.own.add(ircLower(nick));
    return regained;
  }

  /**
   * The next nick to try during registration, or undefined when out of tries. Before 005 NICKLEN
   * is unknown: the suffixed nicks are tried anyway (a server answers 432 or cuts them), then
   * digits that fit in the configured nick's own length.
   */
  nextAlternative(nicklen: number | undefined): string | undefined {
    this.attempts += 1;
    if (this.attempts > MAX_NICK_ATTEMPTS) return undefined;
    const own = this.configured.length;
    const known = nicklen !== undefined && nicklen > 0 ? nicklen : undefined;
    const maxLength = this.attempts <= 2 ? (known ?? own + 2) : Math.max(known ?? DEFAULT_NICKLEN, own);
    const next = alternativeNick(this.configured, this.attempts, maxLength, this.random);
    this.nick = next;
    this.own.add(ircLower(next));
    return next;
  }

  /** RPL_ISON (303) lists the nicks online: is the configured one missing, so free? */
  freeInIsonReply(reply: string): boolean {
    return !reply.split(' ').some((nick) => ircLower(nick) === ircLower(this.configured));
  }

  /** RPL_MONOFFLINE (731) lists nick!user@host masks gone offline: is the configured one among them? */
  freeInMonitorReply(reply: string): boolean {
    return reply.split(',').some((mask) => ircLower(mask.split('!')[0] ?? '') === ircLower(this.configured));
  }
}
