import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionFile } from '../../src/adapters/matrix/files.js';
import { MatrixFixture, outbound } from '../helpers/matrix-homeserver/fixture.js';

/**
 * Issue 9 §1.3, spec §"Soft logout": M_UNKNOWN_TOKEN with a refresh token held. The refresh comes
 * first whatever soft_logout says (Synapse behind MAS answers an expired token soft_logout false);
 * when it fails, soft_logout true logs in on the same device, soft_logout false on a new one (the
 * spec: the session was destroyed, device information "must not be reused").
 */
describe('Matrix soft_logout with a refresh token', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  const deviceId = (): string =>
    String(
      (JSON.parse(readFileSync(sessionFile(fx.dataDir, 'matrix.test'), 'utf8')) as { device_id: unknown })
        .device_id,
    );
  const bodies = (): string[] => fx.hs.messagesFrom(fx.relayUserId, fx.alias).map((c) => String(c.body));

  it('soft_logout false with a live refresh token (an expired token behind MAS): refreshed, no login', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 60_000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    const device = deviceId();
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: false });
    await relay.send(outbound(fx.alias, 'after soft_logout false'));
    expect(bodies()).toEqual(['[irc] <bob> after soft_logout false']);
    expect(fx.hs.auth.counters.refreshes).toBe(1);
    expect(fx.hs.auth.counters.loginAttempts).toBe(1);
    expect(deviceId()).toBe(device);
  });

  it('soft_logout true and the refresh refused: password login on the same device', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 60_000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    const device = deviceId();
    fx.hs.auth.failRefreshes = 1;
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: true });
    await relay.send(outbound(fx.alias, 'after soft logout'));
    expect(bodies()).toEqual(['[irc] <bob> after soft logout']);
    expect(fx.hs.auth.counters.loginAttempts).toBe(2);
    expect(fx.hs.auth.loginDeviceIds).toEqual([undefined, device]);
    expect(fx.hs.devices(fx.relayUserId)).toEqual([device]);
    expect(fx.hs.auth.counters.refreshReuses).toBe(0);
  });

  it('the device signed out (soft_logout false, refresh token dead): password login as a new device', async () => {
    fx = await MatrixFixture.create();
    fx.hs.auth.tokenLifetimeMs = 60_000;
    const relay = await fx.started(fx.adapter(fx.settings()));
    const device = deviceId();
    fx.hs.logoutDevice(fx.relayUserId, device);
    await relay.send(outbound(fx.alias, 'after a hard logout'));
    expect(bodies()).toEqual(['[irc] <bob> after a hard logout']);
    expect(fx.hs.auth.counters.loginAttempts).toBe(2);
    // No device_id in the second login: the server made a new device, and the old one stays gone.
    expect(fx.hs.auth.loginDeviceIds).toEqual([undefined, undefined]);
    const devices = fx.hs.devices(fx.relayUserId);
    expect(devices).toHaveLength(1);
    expect(devices[0]).not.toBe(device);
    expect(deviceId()).toBe(devices[0]);
    expect(fx.logged('Matrix homeserver logged this device out; logging in as a new device')).toHaveLength(1);
    // The refused refresh token was dropped: the session file holds the new login's, never the old.
    expect(fx.hs.auth.counters.refreshReuses).toBe(0);
    expect(fx.hs.auth.counters.refreshCalls.v3).toBe(1);
  });
});
