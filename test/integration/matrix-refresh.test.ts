import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionFile } from '../../src/adapters/matrix/files.js';
import {
  MatrixFixture,
  outbound,
  RELAY_PASSWORD,
  type RelayHarness,
} from '../helpers/matrix-homeserver/fixture.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Issue 9 §1: token refresh as real homeservers do it. Synapse before /v3/refresh (1.67),
 * the Matrix Authentication Service (matrix.org), MAS without passwords, and soft_logout.
 */
describe('Matrix token refresh on real homeservers', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  const stored = (): Record<string, unknown> =>
    JSON.parse(readFileSync(sessionFile(fx.dataDir, 'matrix.test'), 'utf8')) as Record<string, unknown>;
  const bodies = (): string[] => fx.hs.messagesFrom(fx.relayUserId, fx.alias).map((c) => String(c.body));
  const passwordLogins = (): number =>
    fx.hs.requests.filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/login').length;

  /** One message out and one in: the account still works with whatever token it holds now. */
  const messagesFlow = async (relay: RelayHarness, tag: string): Promise<void> => {
    await relay.send(outbound(fx.alias, `out ${tag}`));
    expect(bodies()).toContain(`[irc] <bob> out ${tag}`);
    fx.hs.text(fx.aliceId, fx.alias, `in ${tag}`);
    await waitFor(() => relay.received.find((m) => m.text === `in ${tag}`), { what: `inbound ${tag}` });
  };

  /** The refresh token in the session file is the server's newest: never used, never revoked. */
  const persistedRefreshTokenIsCurrent = (): boolean => {
    const refresh = fx.hs.state.refreshTokens.get(String(stored().refresh_token));
    return refresh !== undefined && !refresh.used && !refresh.revoked;
  };

  it('Synapse without /v3/refresh (400 M_UNRECOGNIZED): refreshes at /v1 over many cycles, no password login, learned across a restart', async () => {
    fx = await MatrixFixture.create();
    fx.hs.emulateLegacyRefresh('M_UNRECOGNIZED');
    fx.hs.auth.tokenLifetimeMs = 1_000;
    const first = await fx.started(fx.adapter(fx.settings()));
    await waitFor(() => fx.hs.auth.counters.refreshes >= 4, {
      what: 'four refresh cycles',
      timeoutMs: 15_000,
    });
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    // /v3 was tried once; every later refresh went straight to /v1.
    expect(fx.hs.auth.counters.refreshCalls.v3).toBe(1);
    expect(fx.hs.auth.counters.refreshCalls.v1).toBeGreaterThanOrEqual(4);
    await waitFor(() => stored().refresh_api === 'v1' && persistedRefreshTokenIsCurrent(), {
      what: 'refresh_api v1 and the newest refresh token persisted',
    });
    await messagesFlow(first, 'before restart');
    expect(fx.logged('Matrix refresh endpoint not served here, trying the other version')).toHaveLength(1);

    await first.adapter.stop(2_000);
    const refreshesBefore = fx.hs.auth.counters.refreshes;
    const second = await fx.started(fx.adapter(fx.settings()));
    await waitFor(() => fx.hs.auth.counters.refreshes >= refreshesBefore + 2, {
      what: 'two refreshes after the restart',
      timeoutMs: 15_000,
    });
    await messagesFlow(second, 'after restart');
    expect(fx.hs.auth.counters.refreshCalls.v3).toBe(1);
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(fx.hs.auth.counters.refreshReuses).toBe(0);
  });

  for (const answer of [404, 405] as const) {
    it(`a proxy answering /v3/refresh with a bare ${answer}: refreshes at /v1, no password login`, async () => {
      fx = await MatrixFixture.create();
      fx.hs.emulateLegacyRefresh(answer);
      fx.hs.auth.tokenLifetimeMs = 1_000;
      const relay = await fx.started(fx.adapter(fx.settings()));
      await waitFor(() => fx.hs.auth.counters.refreshes >= 2, { what: 'two refreshes', timeoutMs: 15_000 });
      expect(fx.hs.auth.counters.loginAttempts).toBe(1);
      expect(fx.hs.auth.counters.refreshCalls.v3).toBe(1);
      await messagesFlow(relay, `bare ${answer}`);
    });
  }

  it('MAS (matrix.org): rotating one-shot refresh tokens, the newest always persisted, none reused, no password login', async () => {
    fx = await MatrixFixture.create();
    fx.hs.emulateMas({ passwords: true });
    fx.hs.auth.tokenLifetimeMs = 1_000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    await waitFor(() => fx.hs.auth.counters.refreshes >= 4, {
      what: 'four refresh cycles',
      timeoutMs: 15_000,
    });
    await waitFor(persistedRefreshTokenIsCurrent, { what: 'the newest refresh token persisted' });
    await messagesFlow(relay, 'mas');
    expect(fx.hs.auth.counters.refreshReuses).toBe(0);
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(fx.hs.auth.counters.refreshCalls.v1).toBe(0);
    // The old access token dies at each refresh (soft_logout false) and a request racing it is
    // repeated with the new token, never answered with a login.
    expect(fx.logged('Matrix access token rejected (M_UNKNOWN_TOKEN), logging in again')).toHaveLength(0);
  });

  it('MAS without passwords, password only: failed with one instruction, never a password login', async () => {
    fx = await MatrixFixture.create();
    fx.hs.emulateMas({ passwords: false });
    const relay = fx.adapter(fx.settings({ retry_failed_seconds: 1 }));
    await relay.adapter.start();
    const failed = await waitFor(() =>
      relay.adapter.status().state === 'failed' ? relay.adapter.status() : undefined,
    );
    expect(failed.reason).toMatch(
      /does not accept password logins \(m\.login\.password is not among its login flows\).*set access_token in \[matrix\.test\].*mas-cli manage issue-compatibility-token relay/,
    );
    // A slow retry looks at the login flows again, and still sends no password.
    await waitFor(() => fx.hs.auth.counters.loginFlowRequests >= 2, {
      what: 'a slow retry',
      timeoutMs: 10_000,
    });
    expect(passwordLogins()).toBe(0);
    expect(fx.logged('account failed')).toHaveLength(1);
    expect(fx.logText()).not.toContain(RELAY_PASSWORD);
  });

  it('MAS without passwords, compatibility token + password: uses the token; when it is revoked, failed, no password login', async () => {
    fx = await MatrixFixture.create();
    fx.hs.emulateMas({ passwords: false });
    const { token } = fx.hs.createAccessToken(fx.relayUserId);
    const relay = await fx.started(fx.adapter(fx.settings({ access_token: token })));
    await messagesFlow(relay, 'compat token');
    fx.hs.invalidateTokens(fx.relayUserId);
    const failed = await waitFor(() =>
      relay.adapter.status().state === 'failed' ? relay.adapter.status() : undefined,
    );
    expect(failed.reason).toMatch(/does not accept password logins.*issue-compatibility-token/);
    expect(passwordLogins()).toBe(0);
    expect(fx.logged('account failed')).toHaveLength(1);
  });

  it('a password login answered 400 M_UNRECOGNIZED is not retried as a password problem', async () => {
    fx = await MatrixFixture.create();
    fx.hs.failWithError(400, 'M_UNRECOGNIZED', 'Invalid login type', {
      path: /^\/_matrix\/client\/v3\/login$/,
      method: 'POST',
    });
    const relay = fx.adapter(fx.settings({ retry_failed_seconds: 60 }));
    await relay.adapter.start();
    const failed = await waitFor(() =>
      relay.adapter.status().state === 'failed' ? relay.adapter.status() : undefined,
    );
    expect(failed.reason).toMatch(
      /does not accept password logins \(login answered M_UNRECOGNIZED \(HTTP 400\): Invalid login type\).*issue-compatibility-token/,
    );
    expect(passwordLogins()).toBe(1);
  });
});
