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
