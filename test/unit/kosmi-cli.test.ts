import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKosmiLogin, runTokenStatus } from '../../src/cli/kosmi-commands.js';
import { writeTokenCache } from '../../src/auth/token-cache.js';
import { decodeJwt } from '../../src/auth/jwt.js';
import { parseConfig } from '../../src/config/load.js';
import { fakeKosmiJwt } from '../helpers/kosmi-jwt.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';

function config(dataDir: string) {
  return parseConfig(
    `[general]
data_dir = "${dataDir}"
[kosmi.main]
email = "me@example.org"
password = "pw"
[kosmi.anon]
token_cache = "anon.json"
[kosmi.third]
token_cache = "third.json"
`,
    { env: {}, cwd: dataDir },
  );
}

describe('kosmi-relay token-status', () => {
  it('prints email, saved_at, expires_at and time left per account, never the token', async () => {
    const dataDir = tempDataDir();
    const token = fakeKosmiJwt({ issuedAt: Math.floor(Date.now() / 1000) - 86_400 });
    const expiresAt = new Date((decodeJwt(token)?.exp ?? 0) * 1000);
    await writeTokenCache(path.join(dataDir, 'kosmi_token_cache.json'), {
      token,
      email: 'me@example.org',
      expiresAt,
      savedAt: new Date('2026-01-02T03:04:05Z'),
    });
    const lines: string[] = [];
    const code = await runTokenStatus(config(dataDir), (line) => lines.push(line));
    expect(lines[0]).toBe(
      `kosmi.main: email=me@example.org saved_at=2026-01-02T03:04:05Z expires_at=${expiresAt.toISOString().replace('.000', '')} left=8712h (valid)`,
    );
    expect(lines[1]).toMatch(/^kosmi\.anon: no cached token \(.*anon\.json\); the next start logs in$/);
    expect(lines.join('\n')).not.toContain(token);
    expect(code).toBe(1);
  });
});

describe('kosmi-relay kosmi-login', () => {
  it('rejects an unknown account with exit code 2, naming the accounts', async () => {
    const log = memoryLogger();
    expect(await runKosmiLogin(config(tempDataDir()), 'nope', log.logger)).toBe(2);
    expect(log.lines[0]).toMatchObject({
      msg: 'no such Kosmi account',
      accounts: 'kosmi.main, kosmi.anon, kosmi.third',
    });
  });

  it('reports a failed login with exit code 1', async () => {
    const log = memoryLogger();
    // api_url defaults to engine.kosmi.io, which this machine cannot reach: a transient failure.
    const dataDir = tempDataDir();
    const cfg = parseConfig(
      `[general]\ndata_dir = "${dataDir}"\n[kosmi.anon]\napi_url = "http://127.0.0.1:1/"\n`,
      { env: {}, cwd: dataDir },
    );
    expect(await runKosmiLogin(cfg, 'kosmi.anon', log.logger)).toBe(1);
    expect(log.lines.some((l) => l.msg === 'Kosmi login failed')).toBe(true);
  });
});
