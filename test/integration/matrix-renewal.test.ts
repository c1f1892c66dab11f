import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionFile } from '../../src/adapters/matrix/files.js';
import { DeliveryError } from '../../src/core/adapter.js';
import { MatrixFixture, outbound, type RelayHarness } from '../helpers/matrix-homeserver/fixture.js';
import { FROM_IRC, deliveryQueue } from '../helpers/pieces.js';
import { waitFor } from '../helpers/wait-for.js';

/** Issue 4 §2 / §5: a rejected token mid-burst, refresh tokens, 429, 5xx. Sends go through the core's queue. */
describe('Matrix token renewal and error handling', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  /** The core's per-destination queue, kicked on `connected` as the Router does. */
  const queueFor = (relay: RelayHarness, channel: string): ReturnType<typeof deliveryQueue> =>
    deliveryQueue(relay.adapter, channel, {
      bounds: { maxMessages: 1_000, maxAgeMs: 600_000 },
      defaults: FROM_IRC,
    });

  const bodies = (): string[] => fx.hs.messagesFrom(fx.relayUserId, fx.alias).map((c) => String(c.body));

  for (const softLogout of [false, true]) {
    it(`a token invalidated during a burst of 50 (soft_logout ${softLogout}): one login, all 50 in order`, async () => {
      fx = await MatrixFixture.create();
      const relay = await fx.started(fx.adapter(fx.settings()));
      const loginsBefore = fx.hs.auth.counters.loginAttempts;
      let sends = 0;
      fx.hs.beforeRequest.push((method, path) => {
        if (method === 'PUT' && path.includes('/send/') && ++sends === 20)
          fx.hs.invalidateTokens(fx.relayUserId, { softLogout });
      });
      const queue = queueFor(relay, fx.alias);
      const expected = Array.from({ length: 50 }, (_, i) => `burst line ${i + 1}`);
      for (const line of expected) queue.send(line);
      await waitFor(() => bodies().length >= 50 && queue.queue.depth === 0, { what: '50 delivered' });
      expect(bodies()).toEqual(expected.map((line) => `[irc] <bob> ${line}`));
      expect(fx.hs.auth.counters.loginAttempts - loginsBefore).toBe(1);
      expect(fx.logged('Matrix access token rejected (M_UNKNOWN_TOKEN), logging in again')).toHaveLength(1);
      // The sync loop carries on with the new token and the room is joined again.
      fx.hs.text(fx.aliceId, fx.alias, 'after the re-login');
      await waitFor(() => relay.received.find((m) => m.text === 'after the re-login'), {
        what: 'inbound after re-login',
      });
      queue.queue.close();
    });
  }

  it('refreshes a token with expires_in_ms before it expires, and persists the rotation', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 1_500;
    const relay = await fx.started(fx.adapter(fx.settings()));
    await waitFor(() => fx.hs.auth.counters.refreshes >= 2, { what: 'two refreshes', timeoutMs: 10_000 });
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(fx.hs.requests.filter((r) => r.status === 401)).toHaveLength(0);
    // The rotated tokens reach the session file (the server counts a refresh before our client has its answer).
    await waitFor(
      () => {
        const persisted = JSON.parse(readFileSync(sessionFile(fx.dataDir, 'matrix.test'), 'utf8')) as {
          refresh_token: string;
        };
        const refresh = fx.hs.state.refreshTokens.get(persisted.refresh_token);
        return refresh !== undefined && !refresh.used && !refresh.revoked;
      },
      { what: 'the current refresh token persisted' },
    );
    await relay.send(outbound(fx.alias, 'still here'));
    expect(bodies()).toEqual(['[irc] <bob> still here']);
    fx.hs.text(fx.aliceId, fx.alias, 'with a refreshed token');
    await waitFor(() => relay.received.find((m) => m.text === 'with a refreshed token'));
  });

  it('a token lifetime beyond the 24.8-day timer limit (40 days) does not refresh at once', async () => {
    // Node runs a setTimeout delay above 2^31-1 ms after 1 ms: without the clamp this refreshed
    // right away, and again after every refresh, rewriting the session file in a loop.
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 40 * 24 * 60 * 60 * 1000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    expect(fx.hs.state.refreshTokens.size).toBe(1); // a refresh token was granted, so a timer is armed
    // Two sync round-trips: the timer, if it misfired at 1 ms, has had many times that long.
    for (const line of ['first round-trip', 'second round-trip']) {
      fx.hs.text(fx.aliceId, fx.alias, line);
      await waitFor(() => relay.received.find((m) => m.text === line), { what: line });
    }
    await relay.send(outbound(fx.alias, 'and back'));
    expect(bodies()).toEqual(['[irc] <bob> and back']);
    expect(fx.hs.auth.counters.refreshes).toBe(0);
    expect(fx.logged('Matrix access token refreshed')).toHaveLength(0);
  });

  it('falls back to a password login when the refresh is refused', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 1_000;
    fx.hs.auth.failRefreshes = 1;
    const relay = await fx.started(fx.adapter(fx.settings()));
    await waitFor(() => fx.hs.auth.counters.loginsOk >= 2, { what: 'fallback login', timeoutMs: 10_000 });
    expect(fx.logged('Matrix token refresh failed, logging in with the password')).toHaveLength(1);
    expect(fx.hs.auth.loginDeviceIds[1]).toBe(
      fx.hs.auth.loginDeviceIds[0] ?? fx.hs.devices(fx.relayUserId)[0],
    );
    expect(fx.hs.devices(fx.relayUserId)).toHaveLength(1);
    await relay.send(outbound(fx.alias, 'after fallback'));
    expect(bodies()).toEqual(['[irc] <bob> after fallback']);
  });

  it('an expired token (soft logout) is refreshed, not logged in again', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 60_000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: true });
    await relay.send(outbound(fx.alias, 'after soft logout'));
    expect(bodies()).toEqual(['[irc] <bob> after soft logout']);
    expect(fx.hs.auth.counters.refreshes).toBe(1);
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
  });

  it('429 waits retry_after_ms and delivers, without logging in', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    fx.hs.rateLimit(400, { path: /\/send\//, times: 2 });
    // The adapter reports the 429 with its retry_after_ms; the core's queue waits at least that long.
    const queue = queueFor(relay, fx.alias);
    const started = Date.now();
    queue.send('rate limited');
    await waitFor(() => queue.queue.depth === 0, { what: 'delivered after the 429s' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(bodies()).toEqual(['[irc] <bob> rate limited']);
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    queue.queue.close();
  });

  it('a 5xx outage heals: sync resumes, queued sends go out in order, no login', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const queue = queueFor(relay, fx.alias);
    fx.hs.failWith(502, { forMs: 1_500, html: true });
    await waitFor(() => relay.adapter.status().state === 'disconnected', {
      what: 'disconnected during the outage',
    });
    for (let i = 1; i <= 5; i++) queue.send(`during outage ${i}`);
    fx.hs.text(fx.aliceId, fx.alias, 'said during the outage');
    await waitFor(() => relay.adapter.status().state === 'connected', {
      what: 'connected again',
      timeoutMs: 15_000,
    });
    await waitFor(() => queue.queue.depth === 0 && bodies().length === 5, {
      what: 'queued sends delivered',
      timeoutMs: 15_000,
    });
    expect(bodies()).toEqual([1, 2, 3, 4, 5].map((i) => `[irc] <bob> during outage ${i}`));
    await waitFor(() => relay.received.find((m) => m.text === 'said during the outage'), {
      what: 'inbound after outage',
    });
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    queue.queue.close();
  });

  it('M_FORBIDDEN on send is an error for that room, not retried, no login', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    fx.hs.failWithError(403, 'M_FORBIDDEN', 'You do not have permission to post here', {
      path: /\/send\//,
      times: 1,
    });
    const error = await relay.send(outbound(fx.alias, 'refused')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(false);
    const logged = fx.logged(/M_FORBIDDEN/);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, channel: fx.alias });
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(relay.adapter.status().state).toBe('connected');
    // The next message goes through.
    await relay.send(outbound(fx.alias, 'allowed'));
    expect(bodies()).toEqual(['[irc] <bob> allowed']);
  });
});
