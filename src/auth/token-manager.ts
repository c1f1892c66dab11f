import path from 'node:path';
import type { Logger } from 'pino';
import type { KosmiAccountConfig } from '../config/kosmi.js';
import { anonLogin } from './anon-login.js';
import { browserLogin } from './browser-login.js';
import { LoginFailedError } from './errors.js';
import { decodeJwt, expiryOf } from './jwt.js';
import { deleteTokenCache, readTokenCache, rfc3339, writeTokenCache } from './token-cache.js';
import { DAY_MS } from '../core/time.js';

/**
 * A fresh token that is already due for renewal (our clock ahead of the server's, or a server that
 * issues tokens inside the window) is renewed no sooner than this, so renewals never loop.
 */
export const MIN_RENEW_INTERVAL_MS = 10_000;

export interface TokenInfo {
  readonly token: string;
  readonly sub: string;
  readonly expiresAt: Date;
  /** When the token will be renewed (see renewalTime). */
  readonly renewAt: Date;
}

/** Performs one login and returns the JWT. Injected in unit tests (house style: fakes of our interfaces). */
export type LoginFn = (signal?: AbortSignal) => Promise<string>;

export interface KosmiTokenManagerOptions {
  readonly account: string;
  readonly settings: KosmiAccountConfig;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly login?: LoginFn;
  readonly now?: () => number;
  readonly env?: Record<string, string | undefined>;
  readonly onBrowserPid?: (pid: number) => void;
}

/**
 * When to renew a token (issue 3 §3). Normally refresh_before_days before exp. A token whose whole
 * lifetime is not longer than that window (a 30-second test token) would be "inside the window" the
 * moment it is issued and cause a login loop, so such a token is renewed when three quarters of its
 * lifetime have passed instead.
 */
export function renewalTime(
  claims: { exp: number; iat?: number },
  windowMs: number,
  fallbackIssuedAtMs: number,
): Date {
  const expMs = claims.exp * 1000;
  const issuedMs = claims.iat !== undefined ? claims.iat * 1000 : fallbackIssuedAtMs;
  const lifetimeMs = Math.max(0, expMs - issuedMs);
  const marginMs = lifetimeMs > windowMs ? windowMs : lifetimeMs / 4;
  return new Date(expMs - marginMs);
}

/** "8736h", or minutes/seconds when less than an hour is left (the old relay's log lines). */
export function formatTimeLeft(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)}h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.max(0, Math.round(ms / 1000))}s`;
}

/**
 * Owns one account's Kosmi token: the cache file, the decision to reuse or renew, and the login
 * itself (anonymous over HTTP, or email/password in a browser). Never logs the token.
 */
export class KosmiTokenManager {
  readonly cacheFile: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly login: LoginFn;
  private currentToken: TokenInfo | undefined;
  private readonly rejected = new Set<string>();
  private pendingLogin: Promise<TokenInfo> | undefined;
  /** The one read of the cache file; concurrent first callers all await it (no extra login). */
  private cacheRead: Promise<unknown> | undefined;
  private warnedDueAtIssue = false;

  constructor(private readonly options: KosmiTokenManagerOptions) {
    this.cacheFile = path.resolve(options.dataDir, options.settings.token_cache);
    this.log = options.logger;
    this.now = options.now ?? Date.now;
    this.login = options.login ?? ((signal) => this.defaultLogin(signal));
  }

  /** When the token in use expires; undefined before the first login or after a rejection. */
  get expiresAt(): Date | undefined {
    return this.currentToken?.expiresAt;
  }

  private get email(): string {
    return this.options.settings.email ?? '';
  }

  private get windowMs(): number {
    return this.options.settings.refresh_before_days * DAY_MS;
  }

  /**
   * A token to connect with: the one in memory while it is outside its renewal window, else the
   * cached one under the same rule, else a fresh login. Concurrent callers share one login.
   */
  async getToken(signal?: AbortSignal): Promise<TokenInfo> {
    const held = this.currentToken;
    if (held !== undefined && this.now() < held.renewAt.getTime()) return held;
    if (held !== undefined) {
      this.log.info(`Cached token expires soon (${rfc3339(held.expiresAt)}), will refresh`);
      return this.renew(signal);
    }
    if (this.cacheRead === undefined) {
      this.cacheRead = this.fromCache();
      await this.cacheRead;
    } else {
      await this.cacheRead;
    }
    // fromCache() set currentToken when the cache was usable (and invalidate() clears it again).
    const cached = this.currentToken;
    if (cached !== undefined && this.now() < cached.renewAt.getTime()) return cached;
    return this.renew(signal);
  }

  /** Logs in now, whatever the cache holds, and caches the result (kosmi-login, renewal). */
  renew(signal?: AbortSignal): Promise<TokenInfo> {
    this.pendingLogin ??= this.performLogin(signal).finally(() => {
      this.pendingLogin = undefined;
    });
    return this.pendingLogin;
  }

  /**
   * The server refused this token: never use it again. The cache is deleted if it still holds it,
   * so a restart does not try it either.
   */
  async invalidate(token: string): Promise<void> {
    this.rejected.add(token);
    if (this.currentToken?.token === token) this.currentToken = undefined;
    const cached = await readTokenCache(this.cacheFile, this.log);
    if (cached.kind === 'ok' && cached.entry.token === token) await deleteTokenCache(this.cacheFile);
    this.log.warn(
      { cacheFile: this.cacheFile },
      'Kosmi rejected the token; cache invalidated, a new login follows',
    );
  }

  private async fromCache(): Promise<TokenInfo | undefined> {
    const read = await readTokenCache(this.cacheFile, this.log);
    switch (read.kind) {
      case 'missing':
        this.log.info('No cached token found, performing authentication...');
        return undefined;
      case 'corrupt':
        this.log.warn(
          { cacheFile: this.cacheFile, reason: read.reason },
          'token cache unreadable, performing authentication...',
        );
        return undefined;
      case 'ok':
        break;
    }
    const { entry } = read;
    if (entry.email.toLowerCase() !== this.email.toLowerCase()) {
      const was = entry.email === '' ? 'anonymous' : 'another email';
      const now = this.email === '' ? 'anonymous' : 'email';
      this.log.info(
        { cached: was, configured: now },
        'Cached token belongs to other credentials, performing authentication...',
      );
      return undefined;
    }
    if (this.rejected.has(entry.token)) return undefined;
    const info = this.describe(entry.token, entry.savedAt.getTime());
    if (info === undefined) return undefined;
    if (this.now() >= info.renewAt.getTime()) {
      this.log.info(`Cached token expires soon (${rfc3339(info.expiresAt)}), will refresh`);
      return undefined;
    }
    this.log.info(`Using cached token (expires in ${formatTimeLeft(info.expiresAt.getTime() - this.now())})`);
    this.currentToken = info;
    return info;
  }

  private async performLogin(signal?: AbortSignal): Promise<TokenInfo> {
    const token = await this.login(signal);
    let info = this.describe(token, this.now());
    if (info === undefined)
      throw new LoginFailedError('Kosmi returned a token that is not a JWT with sub and exp');
    if (info.expiresAt.getTime() <= this.now()) {
      throw new LoginFailedError(
        `Kosmi returned a token that expired at ${rfc3339(info.expiresAt)}: check the system clock`,
      );
    }
    if (this.rejected.has(token))
      throw new LoginFailedError('Kosmi returned the same token it had just rejected');
    info = this.notDueYet(info);
    this.currentToken = info;
    this.cacheRead ??= Promise.resolve();
    try {
      await writeTokenCache(this.cacheFile, {
        token,
        email: this.email,
        expiresAt: info.expiresAt,
        savedAt: new Date(this.now()),
      });
      this.log.info(`Token cached (expires in ${formatTimeLeft(info.expiresAt.getTime() - this.now())})`);
    } catch (error) {
      // The token still works for this run; only the next start will have to log in again.
      this.log.error(
        { cacheFile: this.cacheFile, err: (error as Error).message },
        'cannot write the token cache',
      );
    }
    return info;
  }

  /**
   * A token just issued whose renewal time has already passed would be renewed at once, again and
   * again (each a full login, Chromium for email accounts). Renew it halfway to its expiry instead,
   * and no sooner than MIN_RENEW_INTERVAL_MS; warn once per run.
   */
  private notDueYet(info: TokenInfo): TokenInfo {
    const now = this.now();
    if (info.renewAt.getTime() > now) return info;
    const leftMs = info.expiresAt.getTime() - now;
    const renewAt = new Date(now + Math.max(leftMs / 2, MIN_RENEW_INTERVAL_MS));
    if (!this.warnedDueAtIssue) {
      this.warnedDueAtIssue = true;
      this.log.warn(
        { expiresAt: rfc3339(info.expiresAt), renewAt: rfc3339(renewAt) },
        'Kosmi issued a token already inside its renewal window (clock skew?); renewing it halfway to its expiry instead',
      );
    }
    return { ...info, renewAt };
  }

  private describe(token: string, fallbackIssuedAtMs: number): TokenInfo | undefined {
    const claims = decodeJwt(token);
    if (claims === undefined) return undefined;
    return {
      token,
      sub: claims.sub,
      expiresAt: expiryOf(claims),
      renewAt: renewalTime(claims, this.windowMs, fallbackIssuedAtMs),
    };
  }

  private defaultLogin(signal?: AbortSignal): Promise<string> {
    const { settings } = this.options;
    if (settings.email !== undefined && settings.password !== undefined) {
      this.log.info('Starting browser automation for authentication...');
      return browserLogin({
        webUrl: settings.web_url,
        email: settings.email,
        password: settings.password,
        timeoutMs: settings.login_timeout_seconds * 1000,
        selectors: settings.login_selectors,
        userAgent: settings.user_agent,
        dataDir: this.options.dataDir,
        account: this.options.account,
        logger: this.log,
        ...(signal === undefined ? {} : { signal }),
        ...(this.options.env === undefined ? {} : { env: this.options.env }),
        ...(this.options.onBrowserPid === undefined ? {} : { onBrowserPid: this.options.onBrowserPid }),
      });
    }
    this.log.info('Requesting an anonymous token (anonLogin)...');
    return anonLogin({
      apiUrl: settings.api_url,
      webUrl: settings.web_url,
      userAgent: settings.user_agent,
      ...(signal === undefined ? {} : { signal }),
    });
  }
}
