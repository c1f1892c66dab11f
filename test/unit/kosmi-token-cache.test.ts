import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeJwt } from '../../src/auth/jwt.js';
import { parseTokenCache, readTokenCache, writeTokenCache } from '../../src/auth/token-cache.js';
import { fakeKosmiJwt } from '../helpers/kosmi-jwt.js';
import { tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryLogger } from '../helpers/memory-logger.js';

describe('kosmi token cache file', () => {
  it('writes exactly {token, email, expires_at, saved_at} in RFC 3339, mode 0600, creating the directory', async () => {
    const dir = path.join(tempDataDir(), 'nested', 'data');
    const file = path.join(dir, 'kosmi_token_cache.json');
    const token = fakeKosmiJwt({ issuedAt: 1_761_955_200 });
    const expiresAt = new Date((decodeJwt(token)?.exp ?? 0) * 1000);
    await writeTokenCache(file, {
      token,
      email: 'a@example.org',
      expiresAt,
      savedAt: new Date('2025-11-01T00:00:00.000Z'),
    });
    const data = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['token', 'email', 'expires_at', 'saved_at']);
    expect(data).toEqual({
      token,
      email: 'a@example.org',
      expires_at: '2026-10-31T00:00:00Z',
      saved_at: '2025-11-01T00:00:00Z',
    });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['kosmi_token_cache.json']);
  });

  it('replaces the file atomically: a failed write leaves the old file whole and no temp file', async () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'kosmi_token_cache.json');
    const first = fakeKosmiJwt();
    await writeTokenCache(file, { token: first, email: '', expiresAt: new Date(), savedAt: new Date() });
    const before = await fs.readFile(file, 'utf8');
    // The target is now a non-empty directory, so the rename step fails after the temp file was written.
    const blocked = path.join(dir, 'blocked.json');
    await fs.mkdir(path.join(blocked, 'inside'), { recursive: true });
    await expect(
      writeTokenCache(blocked, { token: first, email: '', expiresAt: new Date(), savedAt: new Date() }),
    ).rejects.toThrow();
    expect((await fs.readdir(dir)).sort()).toEqual(['blocked.json', 'kosmi_token_cache.json']);
    const second = fakeKosmiJwt();
    await writeTokenCache(file, { token: second, email: '', expiresAt: new Date(), savedAt: new Date() });
    expect(await fs.readFile(file, 'utf8')).not.toBe(before);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ token: second });
  });

  it('tightens a cache readable by others to 0600 and warns', async () => {
    const file = path.join(tempDataDir(), 'kosmi_token_cache.json');
    await writeTokenCache(file, {
      token: fakeKosmiJwt(),
      email: '',
      expiresAt: new Date(),
      savedAt: new Date(),
    });
    await fs.chmod(file, 0o644);
    const { logger, lines } = memoryLogger();
    const read = await readTokenCache(file, logger);
    expect(read.kind).toBe('ok');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('tightened to 0600'))).toBe(true);
  });

  it('reports missing and corrupt files instead of throwing', async () => {
    const dir = tempDataDir();
    const { logger } = memoryLogger();
    expect(await readTokenCache(path.join(dir, 'none.json'), logger)).toEqual({ kind: 'missing' });
    expect(parseTokenCache('{"token": "abc"')).toMatchObject({ kind: 'corrupt' });
    expect(parseTokenCache('[]')).toMatchObject({ kind: 'corrupt' });
    expect(parseTokenCache('{"token":"not.a.jwt","email":""}')).toMatchObject({ kind: 'corrupt' });
    expect(parseTokenCache(`{"token":"${fakeKosmiJwt()}"}`)).toMatchObject({
      kind: 'corrupt',
      reason: 'no email field',
    });
    await fs.mkdir(path.join(dir, 'adir.json'));
    expect(await readTokenCache(path.join(dir, 'adir.json'), logger)).toMatchObject({ kind: 'corrupt' });
  });

  it('takes expires_at from the JWT exp, not from the file', () => {
    const token = fakeKosmiJwt({ issuedAt: 1_761_955_200, lifetimeSeconds: 100 });
    const read = parseTokenCache(
      JSON.stringify({ token, email: '', expires_at: '2099-01-01T00:00:00Z', saved_at: 'x' }),
    );
    expect(read.kind === 'ok' && read.entry.expiresAt.toISOString()).toBe('2025-11-01T00:01:40.000Z');
  });
});
