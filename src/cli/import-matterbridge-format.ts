/**
 * Value conversions: RemoteNickFormat placeholders, Go regular expressions, Go durations.
 * matterbridge's semantics are quoted from its gateway/gateway.go (modifyUsername, ignoreMessage,
 * ignoreText) and bridge/irc/irc.go.
 */
import type { ImportContext } from './import-matterbridge-context.js';
import { literal } from './import-matterbridge-context.js';

/**
 * matterbridge placeholders and what they become here. {BRIDGE} is the account's name without
 * its protocol ("libera"); {ACCOUNT} here is the whole id ("irc.libera"), the closest there is.
 */
const PLACEHOLDERS: Readonly<Record<string, { to: string; why?: string }>> = {
  NICK: { to: '{NICK}' },
  NOPINGNICK: { to: '{NOPINGNICK}' },
  PROTOCOL: { to: '{PROTOCOL}' },
  LABEL: { to: '{LABEL}' },
  GATEWAY: { to: '{GATEWAY}' },
  CHANNEL: { to: '{CHANNEL}' },
  BRIDGE: {
    to: '{ACCOUNT}',
    why: '{BRIDGE} (the account name, "libera") became {ACCOUNT}, which shows the whole id ("irc.libera")',
  },
  USERID: { to: '', why: '{USERID} has no equivalent and was removed' },
  TENGO: { to: '', why: '{TENGO} (a tengo script) is not supported and was removed' },
};

/** Converts a RemoteNickFormat; every placeholder that changed meaning is noted at `path`. */
export function convertNickFormat(format: string, path: string, ctx: ImportContext): string {
  const converted = format.replace(/\{([A-Z]+)\}/g, (match, name: string) => {
    const mapped = PLACEHOLDERS[name];
    if (mapped === undefined) return match; // matterbridge leaves unknown text as it is, so do we
    if (mapped.why !== undefined) ctx.note(path, mapped.why);
    return mapped.to;
  });
  return literal(converted);
}

/**
 * A Go (RE2) regular expression as a JavaScript one. Returns undefined, and says why, when the
 * syntax has no JavaScript equivalent or does not compile. Rewritten: (?P<name> to (?<name>,
 * \A to ^ and \z to $ (JavaScript's $ without the m flag matches only at the very end, like \z).
 */
export function convertGoRegex(pattern: string, path: string, ctx: ImportContext): string | undefined {
  const unsupported: readonly [RegExp, string][] = [
    [/\(\?[imsU]+\)/, 'inline flags like (?i)'],
    [/\(\?[imsU-]+:/, 'flag groups like (?i:...)'],
    [/\[\[:[a-z]+:\]\]/, 'POSIX classes like [[:alpha:]]'],
    [/\\[QE]/, '\\Q...\\E quoting'],
    [/\\[pP][A-Za-z]/, 'one-letter Unicode classes like \\pL'],
    [/\\C/, '\\C'],
  ];
  for (const [detect, what] of unsupported) {
    if (detect.test(pattern)) {
      ctx.skip(
        path,
        `${JSON.stringify(pattern)} uses Go regexp syntax with no JavaScript equivalent: ${what}`,
      );
      return undefined;
    }
  }
  const converted = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$');
  try {
    new RegExp(converted);
  } catch (error) {
    ctx.skip(
      path,
      `${JSON.stringify(pattern)} is not a valid JavaScript regular expression: ${(error as Error).message}`,
    );
    return undefined;
  }
  return converted;
}

/**
 * IgnoreNicks and IgnoreMessages: matterbridge reads each as one string, splits it at whitespace
 * (strings.Fields) and matches every word as an unanchored regex (gateway.go ignoreText). So a
 * regex can never contain a space there, and "bot" also ignores "robot". Both are carried as
 * they are, one list item per word, so they match what they matched before.
 */
export function convertIgnoreList(value: unknown, path: string, ctx: ImportContext): string[] {
  let words: string[];
  if (typeof value === 'string') {
    words = value.split(/\s+/).filter((word) => word !== '');
  } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    // viper's GetString turns an array into "", so matterbridge ignored this setting entirely.
    ctx.note(
      path,
      'matterbridge reads this as a space-separated string and ignored this array; carried anyway',
    );
    words = value.flatMap((item: string) => item.split(/\s+/)).filter((word) => word !== '');
  } else {
    ctx.skip(path, 'expected a space-separated string of regular expressions');
    return [];
  }
  const out: string[] = [];
  for (const word of words) {
    const regex = convertGoRegex(word, path, ctx);
    if (regex !== undefined) out.push(literal(regex));
  }
  return out;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration ("1m", "1m30s", "500ms") in milliseconds; undefined when invalid. */
export function parseGoDurationMs(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}
