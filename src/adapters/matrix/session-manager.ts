/**
 * The token lifecycle of one Matrix account (issue 4 §2). Owns the current session and the only
 * code that logs in or refreshes:
 *
 * - establish(): at start (and on the slow retries of a failed account) picks a working token:
 *   the persisted session or the configured access_token, each checked with whoami; else a
 *   password login that reuses the known device id.
 * - renew(): a request was answered M_UNKNOWN_TOKEN / M_MISSING_TOKEN. One renewal at a time,
 *   shared by every caller (single flight): refresh when there is a refresh token, else (or when
 *   the refresh fails) a password login.
 * - a timer refreshes a token with expires_in_ms before it expires (spec §"Refreshing access tokens").
 *
 * Refresh tokens are one-shot on real servers (MAS consumes one at its first use, Synapse when the
 * new access token is used), so the newest one is persisted before the new access token is used,
 * and one the server refused is dropped at once, never presented again.
 *
 * Transient failures (network, 5xx) are retried with backoff and never lead to a login; 429 waits
 * retry_after_ms. A rejection that needs a human (no password, wrong password, a server that takes
 * no password logins) is a MatrixAuthFailure.
 */
import type { Logger } from 'pino';
import type { MatrixAccountConfig } from '../../config/matrix.js';
import {
  checkToken,
  passwordLogin,
  refreshWithFallback,
  type LoginAccount,
  type LoginResponse,
  type RefreshApi,
  type RetryContext,
} from './auth-requests.js';
import { MatrixAuthFailure } from './errors.js';
import { registerSecret } from './log-bridge.js';
import { tokenFingerprint, type MatrixSession, type SessionStore } from './session-store.js';

export { MatrixAuthFailure };

/** Refresh this long before expiry, at most; a fifth of a short lifetime otherwise. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * Longest single timer. Node turns a setTimeout delay above 2^31-1 ms (~24.8 days) into 1 ms
 * (Node docs, timers: "When delay is larger than 2147483647 ... the delay will be set to 1"), so a
 * homeserver granting a long expires_in_ms would cause an immediate refresh, again and again.
 */
export const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

/**
 * When to wake up for a token expiring at `expiresAt`: `due` when the refresh is to happen on
 * that wake-up, otherwise the timer only steps closer (at most MAX_TIMER_MS) and plans again.
 */
export function refreshTimerPlan(expiresAt: number, now: number): { delayMs: number; due: boolean } {
  const lifetime = expiresAt - now;
  const untilRefresh = Math.max(0, lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 5));
  return untilRefresh > MAX_TIMER_MS
    ? { delayMs: MAX_TIMER_MS, due: false }
    : { delayMs: untilRefresh, due: true };
}

export interface SessionManagerOptions {
  readonly accountId: string;
  readonly settings: MatrixAccountConfig;
  readonly store: SessionStore;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** A new token is in use; `login` means a new login (rooms are joined again). */
  readonly onSession: (session: MatrixSession, how: 'start' | 'login' | 'refresh') => void;
  /** Renewal started (the adapter shows `connecting`). */
  readonly onRenewing: (errcode: string) => void;
  /** A human must act (the adapter shows `failed` at once, not only when its sync loop notices). */
  readonly onFailed?: (reason: string) => void;
}

export class SessionManager {
  private session: MatrixSession | undefined;
  private inflight: Promise<MatrixSession> | undefined;
  private failure: MatrixAuthFailure | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /**
   * The refresh endpoint that worked on this homeserver, learned once per process (and kept in the
   * session file); 'none' when it serves neither, so logins stop asking for refresh tokens.
   */
  private refreshApi: RefreshApi | 'none' | undefined;
  /** Password logins attempted (metrics, tests). */
  loginAttempts = 0;
  private readonly log: Logger;
  private readonly hs: string;
  private readonly account: LoginAccount;

  private readonly retryContext: RetryContext;

  constructor(private readonly options: SessionManagerOptions) {
    this.log = options.log;
    this.retryContext = { signal: options.signal, log: options.log };
    this.hs = options.settings.homeserver.replace(/\/+$/, '');
    this.account = { homeserver: this.hs, accountId: options.accountId, settings: options.settings };
    registerSecret(options.settings.password);
    registerSecret(options.settings.access_token);
  }

  get current(): MatrixSession | undefined {
    return this.session;
  }

  stop(): void {
    clearTimeout(this.refreshTimer);
  }

  /** Finds or makes a working session; single flight with renew(). Throws MatrixAuthFailure. */
  establish(): Promise<MatrixSession> {
    this.failure = undefined;
    this.inflight ??= this.singleFlight(() => this.doEstablish());
    return this.inflight;
  }

  /**
   * `rejectedToken` was refused. Resolves with a session holding a different token; every caller
   * that hit the same rejection shares one renewal. While the account is failed, rejects at once
   * (the adapter's slow retry is the only thing that logs in again).
   */
  renew(rejectedToken: string, why: { errcode: string; softLogout: boolean }): Promise<MatrixSession> {
    if (this.session !== undefined && this.session.accessToken !== rejectedToken)
      return Promise.resolve(this.session);
    if (this.inflight !== undefined) return this.inflight;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.inflight = this.singleFlight(() => this.doRenew(why));
    return this.inflight;
  }

  private singleFlight(run: () => Promise<MatrixSession>): Promise<MatrixSession> {
    return run()
      .catch((error: unknown) => {
        if (error instanceof MatrixAuthFailure) {
          this.failure = error;
          this.options.onFailed?.(error.message);
        }
        throw error;
      })
      .finally(() => {
        this.inflight = undefined;
      });
  }

  private async doEstablish(): Promise<MatrixSession> {
    const { settings, store } = this.options;
    const configured = settings.access_token;
    const fingerprint = tokenFingerprint(configured);
    const stored = store.load((reason) =>
      this.log.warn({ file: store.file, reason }, 'ignoring unreadable Matrix session file'),
    );
    const usable =
      stored !== undefined && stored.userId === settings.user_id && stored.homeserver === this.hs
        ? stored
        : undefined;
    const configSession = (deviceId: string): MatrixSession => ({
      homeserver: this.hs,
      userId: settings.user_id,
      deviceId,
      accessToken: configured ?? '',
      source: 'config',
      ...(fingerprint === undefined ? {} : { configTokenFingerprint: fingerprint }),
    });
    // A token newly put into the config wins over the stored one; otherwise the stored one goes first.
    const candidates: MatrixSession[] = [];
    if (usable !== undefined) candidates.push(usable);
    if (configured !== undefined && usable?.accessToken !== configured) {
      if (usable !== undefined && usable.configTokenFingerprint !== fingerprint)
        candidates.unshift(configSession(usable.deviceId));
      else candidates.push(configSession(usable?.deviceId ?? ''));
    }
    let rejected: string | undefined;
    let deviceId = usable?.deviceId;
    for (const candidate of candidates) {
      registerSecret(candidate.accessToken);
      registerSecret(candidate.refreshToken);
      const checked = await checkToken(this.account, candidate, this.retryContext);
      if (checked.kind === 'ok') return this.adopt(checked.session, 'start');
      rejected = candidate.source === 'config' ? 'the configured access_token' : 'the stored session';
      // A stored session that expired may still be refreshable.
      if (candidate.refreshToken !== undefined) {
        const refreshed = await this.refresh(candidate);
        if (refreshed !== undefined) return this.adopt(refreshed, 'start');
      }
      if (candidate === usable) deviceId = this.reusableDevice(usable.deviceId, checked);
    }
    if (settings.password === undefined) {
      throw new MatrixAuthFailure(
        `Matrix access token for ${settings.user_id} was rejected and no password is configured: put a new access_token ` +
          `into [${this.options.accountId}] (or set password so the relay can log in by itself)`,
      );
    }
    if (rejected !== undefined)
      this.log.warn({ rejected }, 'Matrix access token rejected (M_UNKNOWN_TOKEN), logging in again');
    return this.adopt(await this.login(deviceId), 'login');
  }

  /**
   * Spec §"Soft logout": with a refresh token, refresh first; then log in with the password. The
   * refresh is tried whatever soft_logout says, because Synapse behind MAS answers an expired token
   * with soft_logout false ("Token is not active", synapse/api/auth/msc3861_delegated.py) although
   * the refresh token still works; the refresh endpoint is the authority on whether the session lives.
   */
  private async doRenew(why: { errcode: string; softLogout: boolean }): Promise<MatrixSession> {
    const old = this.session;
    this.options.onRenewing(why.errcode);
    if (old?.refreshToken !== undefined) {
      this.log.warn(
        { errcode: why.errcode, softLogout: why.softLogout },
        `Matrix access token rejected (${why.errcode}), refreshing it`,
      );
      const refreshed = await this.refresh(old);
      if (refreshed !== undefined) return this.adopt(refreshed, 'refresh');
    }
    if (this.options.settings.password === undefined) {
      throw new MatrixAuthFailure(
        `Matrix access token for ${this.options.settings.user_id} was rejected (${why.errcode}) and no password is configured: ` +
          `put a new access_token into [${this.options.accountId}] and restart, or set password so the relay can log in by itself`,
      );
    }
    this.log.warn(
      { errcode: why.errcode, softLogout: why.softLogout },
      `Matrix access token rejected (${why.errcode}), logging in again`,
    );
    return this.adopt(await this.login(this.reusableDevice(old?.deviceId, why)), 'login');
  }

  /**
   * The device id a password login may pass after the token was rejected with `why`. Spec §"Soft
   * logout": soft_logout false (the default) means "the server has destroyed the session": device
   * information "must not be reused and must be discarded", so the login makes a new device. Only
   * M_UNKNOWN_TOKEN counts: M_MISSING_TOKEN or a proxy's bare 401 says nothing about the device.
   */
  private reusableDevice(
    deviceId: string | undefined,
    why: { errcode: string; softLogout: boolean },
  ): string | undefined {
    if (deviceId === undefined || why.softLogout || why.errcode !== 'M_UNKNOWN_TOKEN') return deviceId;
    if (this.options.settings.encryption) {
      // The crypto store in the data dir belongs to this device id and cannot be swapped in-process.
      this.log.warn(
        { device: deviceId },
        'Matrix homeserver logged this device out; keeping its id for the encryption store',
      );
      return deviceId;
    }
    this.log.warn(
      { device: deviceId },
      'Matrix homeserver logged this device out; logging in as a new device',
    );
    return undefined;
  }

  private adopt(adopted: MatrixSession, how: 'start' | 'login' | 'refresh'): MatrixSession {
    // Remember which configured token this session was made under (see establish()).
    const fingerprint = tokenFingerprint(this.options.settings.access_token);
    const session: MatrixSession =
      fingerprint === undefined ? adopted : { ...adopted, configTokenFingerprint: fingerprint };
    registerSecret(session.accessToken);
    registerSecret(session.refreshToken);
    this.session = session;
    this.failure = undefined;
    try {
      this.options.store.save(session);
    } catch (error) {
      this.log.error(
        { err: error, file: this.options.store.file },
        'cannot write the Matrix session file; the next start will log in again',
      );
    }
    this.scheduleRefresh(session);
    this.options.onSession(session, how);
    return session;
  }

  /**
   * POST /refresh (v3, or v1 on servers that only serve that); undefined when the server refuses it
   * (the caller falls back to a login). A refused refresh token is dropped, never presented again.
   */
  private async refresh(from: MatrixSession): Promise<MatrixSession | undefined> {
    const refreshToken = from.refreshToken;
    if (refreshToken === undefined) return undefined;
    const learned = this.refreshApi === 'none' ? undefined : this.refreshApi;
    const outcome = await refreshWithFallback(
      this.hs,
      refreshToken,
      from.refreshApi ?? learned ?? 'v3',
      this.retryContext,
    );
    if (outcome.kind === 'unsupported') {
      this.refreshApi = 'none';
      this.log.warn(
        { device: from.deviceId },
        'Matrix homeserver serves no refresh endpoint; logins ask for no refresh token from now on',
      );
      this.dropRefreshToken(from);
      return undefined;
    }
    if (outcome.kind === 'rejected') {
      this.log.warn(
        { errcode: outcome.errcode, softLogout: outcome.softLogout },
        'Matrix token refresh failed, logging in with the password',
      );
      this.dropRefreshToken(from);
      return undefined;
    }
    const body = outcome.value as LoginResponse;
    if (typeof body.access_token !== 'string') {
      this.log.warn({ api: outcome.api }, 'Matrix token refresh answered without an access token');
      this.dropRefreshToken(from);
      return undefined;
    }
    this.refreshApi = outcome.api;
    this.log.info({ device: from.deviceId, api: outcome.api }, 'Matrix access token refreshed');
    const { expiresAt: _old, ...rest } = from;
    return {
      ...rest,
      accessToken: body.access_token,
      // Spec: without a new refresh_token in the answer, the old one stays valid.
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : refreshToken,
      ...(typeof body.expires_in_ms === 'number' ? { expiresAt: Date.now() + body.expires_in_ms } : {}),
      refreshApi: outcome.api,
      source: 'login',
    };
  }

  /**
   * The server refused `from`'s refresh token: forget it in memory and in the session file, so
   * neither this process nor the next start presents it again (MAS treats a reused refresh token as
   * a dead one; presenting it again only costs a request and a misleading log line).
   */
  private dropRefreshToken(from: MatrixSession): void {
    const { refreshToken: _dead, expiresAt: _expiry, ...rest } = from;
    if (this.session === from) this.session = rest;
    const stored = this.options.store.load(() => undefined);
    if (stored?.refreshToken !== from.refreshToken) return;
    try {
      this.options.store.save(rest);
    } catch (error) {
      this.log.error({ err: error, file: this.options.store.file }, 'cannot write the Matrix session file');
    }
  }

  private async login(deviceId: string | undefined): Promise<MatrixSession> {
    const refreshApi = this.refreshApi === 'none' ? undefined : this.refreshApi;
    const session = await passwordLogin(
      this.account,
      { deviceId, refreshToken: this.refreshApi !== 'none' },
      this.retryContext,
      () => (this.loginAttempts += 1),
    );
    return refreshApi === undefined ? session : { ...session, refreshApi };
  }

  private scheduleRefresh(session: MatrixSession): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (session.expiresAt === undefined || session.refreshToken === undefined) return;
    const { delayMs, due } = refreshTimerPlan(session.expiresAt, Date.now());
    this.refreshTimer = setTimeout(() => {
      if (this.options.signal.aborted || this.session !== session) return;
      // A long lifetime is waited out in steps of at most MAX_TIMER_MS; re-evaluate on each.
      if (due) this.renewSoon(session);
      else this.scheduleRefresh(session);
    }, delayMs);
    this.refreshTimer.unref();
  }

  /** The proactive refresh before expiry; shares the single flight with renew(). */
  private renewSoon(session: MatrixSession): void {
    if (this.inflight !== undefined) return;
    this.inflight = this.singleFlight(async () => {
      const refreshed = await this.refresh(session);
      if (refreshed !== undefined) return this.adopt(refreshed, 'refresh');
      if (this.options.settings.password === undefined) {
        throw new MatrixAuthFailure(
          `Matrix token refresh for ${this.options.settings.user_id} failed and no password is configured: put a new access_token into [${this.options.accountId}]`,
        );
      }
      return this.adopt(await this.login(session.deviceId), 'login');
    });
    this.inflight.catch((error: unknown) => {
      // A MatrixAuthFailure already reached the account's status (and its one log line) via onFailed.
      if (!this.options.signal.aborted && !(error instanceof MatrixAuthFailure))
        this.log.error({ err: error }, 'Matrix token renewal failed');
    });
  }
}
