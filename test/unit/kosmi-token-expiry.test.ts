import { describe, expect, it } from 'vitest';
import { KosmiTokenManager } from '../../src/auth/token-manager.js';
import { decodeJwt } from '../../src/auth/jwt.js';
import { kosmiAccountSchema } from '../../src/config/kosmi.js';
import { fakeKosmiJwt } from '../helpers/kosmi-jwt.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';

/** KosmiTokenManager.expiresAt: what the status page shows as the token's days left (issue 10 §2). */
describe('kosmi token manager: expiresAt', () => {
  it('is unknown before a login, the token exp after it, unknown again once the token is rejected', async () => {
    const token = fakeKosmiJwt({ lifetimeSeconds: 364 * 86_400 });
    const manager = new KosmiTokenManager({
      account: 'kosmi.main',
      settings: kosmiAccountSchema.parse({}),
      dataDir: tempDataDir(),
      logger: memoryLogger().logger,
      login: () => Promise.resolve(token),
    });
    expect(manager.expiresAt).toBeUndefined();
    await manager.getToken();
    expect(manager.expiresAt?.getTime()).toBe((decodeJwt(token)?.exp ?? 0) * 1000);
    await manager.invalidate(token);
    expect(manager.expiresAt).toBeUndefined();
  });
});
