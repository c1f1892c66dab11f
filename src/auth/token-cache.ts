import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../core/atomic-file.js';
import { decodeJwt, expiryOf } from './jwt.js';

/**
 * The token cache file, in exactly the format the Kosmi relay this replaces wrote
 * (docs/kosmi-protocol.md §6.4): {"token","email","expires_at","saved_at"}, timestamps in RFC 3339,
 * mode 0600. `email` is "" for an anonymous token.
 */
export interface TokenCacheEntry {
  readonly token: string;
  readonly email: string;
  readonly expiresAt: Date;
  readonly savedAt: Date;
}

export type TokenCacheRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'ok'; readonly entry: TokenCacheEntry };

const FILE_MODE = 0o600;

/** RFC 3339 in UTC, whole seconds (what Go's time.Time marshals to for a UTC time). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Reads the cache. Never throws for a bad file: it reports `corrupt` and the caller logs in again.
 * A file readable by others is tightened to 0600 with a warning.
 */
export async function readTokenCache(file: string, log: Logger): Promise<TokenCacheRead> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if ((stat.mode & 0o077) !== 0) {
      log.warn(
        { file, mode: (stat.mode & 0o777).toString(8) },
        'token cache was readable by others; permissions tightened to 0600',
      );
      await fs.chmod(file, FILE_MODE);
    }
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: `cannot read: ${code ?? String(error)}` };
  }
  return parseTokenCache(text);
}

export function parseTokenCache(text: string): TokenCacheRead {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'corrupt', reason: 'not JSON' };
  }
  if (data === null || typeof data !== 'object') return { kind: 'corrupt', reason: 'not a JSON object' };
  const { token, email, saved_at: savedAt } = data as Record<string, unknown>;
  if (typeof token !== 'string' || token === '') return { kind: 'corrupt', reason: 'no token' };
  if (typeof email !== 'string') return { kind: 'corrupt', reason: 'no email field' };
  const claims = decodeJwt(token);
  if (claims === undefined) return { kind: 'corrupt', reason: 'token is not a JWT with sub and exp' };
  // expires_at is derived from the token itself; the file's copy is informational.
  const saved = typeof savedAt === 'string' ? new Date(savedAt) : new Date(Number.NaN);
  return {
    kind: 'ok',
    entry: {
      token,
      email,
      expiresAt: expiryOf(claims),
      savedAt: Number.isNaN(saved.getTime()) ? new Date(0) : saved,
    },
  };
}

/** Writes the cache with core/atomic-file.ts: mode 0600, fsync, rename, directory fsync. */
export function writeTokenCache(file: string, entry: TokenCacheEntry): Promise<void> {
  const body = `${JSON.stringify(
    {
      token: entry.token,
      email: entry.email,
      expires_at: rfc3339(entry.expiresAt),
      saved_at: rfc3339(entry.savedAt),
    },
    null,
    2,
  )}\n`;
  // A throw inside the executor becomes a rejection, as callers of an async write expect.
  return new Promise((resolve) => {
    writeFileAtomic(file, body, { mode: FILE_MODE });
    resolve();
  });
}

export async function deleteTokenCache(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
