import { readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionFile } from '../../src/adapters/matrix/files.js';
import { MatrixFixture, RELAY_PASSWORD } from '../helpers/matrix-homeserver/fixture.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 4 §2 / §5: the three start modes, the persisted session, failures that need a human. */
describe('Matrix login and the persisted session', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  const stored = (): Record<string, unknown> =>
    JSON.parse(readFileSync(sessionFile(fx.dataDir, 'matrix.test'), 'utf8')) as Record<string, unknown>;

  it('password only: logs in once, asks for a refresh token, persists the session 0600', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    expect(fx.hs.auth.counters.loginsOk).toBe(1);
    const session = stored();
    expect(session.user_id).toBe(fx.relayUserId);
    expect(fx.hs.validTokens(fx.relayUserId)).toContain(session.access_token);
    expect(fx.hs.devices(fx.relayUserId)).toEqual([session.device_id]);
    expect(statSync(sessionFile(fx.dataDir, 'matrix.test')).mode & 0o777).toBe(0o600);
    expect(fx.logged(`Matrix login OK (device ${String(session.device_id)})`)).toHaveLength(1);
    expect(relay.adapter.loginAttempts).toBe(1);
  });

  it('access token only: no login, device id from whoami', async () => {
    fx = await MatrixFixture.create();
    const { token, deviceId } = fx.hs.createAccessToken(fx.relayUserId);
    await fx.started(fx.adapter(fx.settings({ password: undefined, access_token: token })));
    expect(fx.hs.auth.counters.loginAttempts).toBe(0);
    expect(stored()).toMatchObject({ access_token: token, device_id: deviceId, source: 'config' });
  });

  it('both, token valid: uses the token and never logs in', async () => {
    fx = await MatrixFixture.create();
    const { token } = fx.hs.createAccessToken(fx.relayUserId);
    await fx.started(fx.adapter(fx.settings({ access_token: token })));
    expect(fx.hs.auth.counters.loginAttempts).toBe(0);
  });

  it('both, token already revoked: logs in with the password', async () => {
    fx = await MatrixFixture.create();
    const { token } = fx.hs.createAccessToken(fx.relayUserId);
    fx.hs.invalidateTokens(fx.relayUserId);
    await fx.started(fx.adapter(fx.settings({ access_token: token })));
    expect(fx.hs.auth.counters.loginsOk).toBe(1);
    expect(stored().access_token).not.toBe(token);
    expect(fx.logged('Matrix access token rejected (M_UNKNOWN_TOKEN), logging in again')).toHaveLength(1);
  });

  it('a restart reuses the persisted session: no login, same device', async () => {
    fx = await MatrixFixture.create();
    const first = await fx.started(fx.adapter(fx.settings()));
    const device = stored().device_id;
    await first.adapter.stop(2_000);
    const whoamisBefore = fx.hs.auth.counters.whoamis;

    const second = await fx.started(fx.adapter(fx.settings()));
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(second.adapter.loginAttempts).toBe(0);
    expect(fx.hs.auth.counters.whoamis).toBeGreaterThan(whoamisBefore);
    expect(stored().device_id).toBe(device);
    expect(fx.hs.devices(fx.relayUserId)).toEqual([device]);
  });

  it('a restart whose stored token was revoked logs in again with the same device id', async () => {
    fx = await MatrixFixture.create();
    const first = await fx.started(fx.adapter(fx.settings()));
    const device = stored().device_id as string;
    await first.adapter.stop(2_000);
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: true });

    await fx.started(fx.adapter(fx.settings()));
    expect(fx.hs.auth.counters.loginsOk).toBe(2);
    expect(fx.hs.auth.loginDeviceIds).toEqual([undefined, device]);
    expect(fx.hs.devices(fx.relayUserId)).toEqual([device]);
  });

  it('a wrong password ends in failed, says what to do, and retries only slowly', async () => {
    fx = await MatrixFixture.create();
    const relay = fx.adapter(fx.settings({ password: 'not-the-password', retry_failed_seconds: 1 }));
    await relay.adapter.start();
    const failed = await waitFor(() =>
      relay.adapter.status().state === 'failed' ? relay.adapter.status() : undefined,
    );
    expect(failed.reason).toMatch(
      /login as @.* was rejected \(M_FORBIDDEN.*check password in \[matrix\.test\]/,
    );
    // The first attempt, then one after retry_failed_seconds (1 s), then one 2 s later: never a burst.
    await waitFor(() => fx.hs.auth.counters.loginAttempts >= 2, {
      timeoutMs: 10_000,
      what: 'second login attempt',
    });
    expect(relay.adapter.status().state).toBe('failed');
    // Fixing the password on the server side heals it at the next slow retry.
    fx.hs.setPassword(fx.relayUserId, 'not-the-password');
    await waitFor(() => relay.adapter.status().state === 'connected', {
      timeoutMs: 10_000,
      what: 'healed after the password matched',
    });
    const attempts = fx.hs.requests
      .filter((r) => r.path === '/_matrix/client/v3/login' && r.method === 'POST')
      .map((r) => r.at);
    expect(attempts).toHaveLength(3);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(900);
    expect((attempts[2] ?? 0) - (attempts[1] ?? 0)).toBeGreaterThanOrEqual(1_900);
  });

  it('a rejected access token without a password ends in failed and never calls login', async () => {
    fx = await MatrixFixture.create();
    const { token } = fx.hs.createAccessToken(fx.relayUserId);
    fx.hs.invalidateTokens(fx.relayUserId);
    const relay = fx.adapter(fx.settings({ password: undefined, access_token: token }));
    await relay.adapter.start();
    const failed = await waitFor(() =>
      relay.adapter.status().state === 'failed' ? relay.adapter.status() : undefined,
    );
    expect(failed.reason).toMatch(/no password is configured: put a new access_token into \[matrix\.test\]/);
    expect(fx.hs.auth.counters.loginAttempts).toBe(0);
  });

  it('never writes a password or token into the log', async () => {
    fx = await MatrixFixture.create();
    const { token } = fx.hs.createAccessToken(fx.relayUserId);
    fx.hs.invalidateTokens(fx.relayUserId);
    await fx.started(fx.adapter(fx.settings({ access_token: token })));
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: true });
    await waitFor(() => fx.hs.auth.counters.loginsOk === 2, { what: 'second login' });
    const log = fx.logText();
    expect(log).not.toContain(RELAY_PASSWORD);
    for (const secret of [...fx.hs.state.accessTokens.keys(), ...fx.hs.state.refreshTokens.keys()])
      expect(log).not.toContain(secret);
  });
});
