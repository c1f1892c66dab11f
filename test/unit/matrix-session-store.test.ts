import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionStore, type MatrixSession } from '../../src/adapters/matrix/session-store.js';
import { SyncStore } from '../../src/adapters/matrix/sync-store.js';

describe('Matrix session and sync files', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const dir = (): string => {
    const created = mkdtempSync(path.join(tmpdir(), 'kr-session-'));
    dirs.push(created);
    return created;
  };

  const session: MatrixSession = {
    homeserver: 'https://hs',
    userId: '@relay:hs',
    deviceId: 'DEV1',
    accessToken: 'syt_access',
    refreshToken: 'syr_refresh',
    expiresAt: 1_700_000_000_000,
    source: 'login',
  };

  it('round-trips a session, mode 0600, without temp files left behind', () => {
    const root = dir();
    const store = new SessionStore(path.join(root, 'matrix.home.session.json'));
    store.save(session);
    expect(store.load(() => undefined)).toEqual(session);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(readdirSync(root)).toEqual(['matrix.home.session.json']);
  });

  it('keeps the refresh endpoint version learned from the server (issue 9), and ignores an unknown one', () => {
    const store = new SessionStore(path.join(dir(), 's.json'));
    store.save({ ...session, refreshApi: 'v1' });
    expect(store.load(() => undefined)).toEqual({ ...session, refreshApi: 'v1' });
    writeFileSync(
      store.file,
      JSON.stringify({ ...JSON.parse(readFileSync(store.file, 'utf8')), refresh_api: 'v9' }),
    );
    expect(store.load(() => undefined)).toEqual(session);
  });

  it('reports a corrupt or foreign file and ignores it', () => {
    const file = path.join(dir(), 's.json');
    const problems: string[] = [];
    writeFileSync(file, '{ not json');
    expect(new SessionStore(file).load((reason) => problems.push(reason))).toBeUndefined();
    writeFileSync(file, JSON.stringify({ version: 1, user_id: '@x:y' }));
    expect(new SessionStore(file).load((reason) => problems.push(reason))).toBeUndefined();
    expect(problems).toHaveLength(2);
    expect(new SessionStore(path.join(dir(), 'missing.json')).load(() => problems.push('x'))).toBeUndefined();
    expect(problems).toHaveLength(2);
  });

  it('keeps the sync token and filter across instances', () => {
    const file = path.join(dir(), 'sync.json');
    const first = new SyncStore(file, () => undefined);
    expect(first.resuming).toBe(false);
    first.setSyncToken('s42');
    first.rememberFilter('7', { a: 1 });
    const second = new SyncStore(file, () => undefined);
    expect(second.resuming).toBe(true);
    expect(second.getSyncToken()).toBe('s42');
    expect(second.filterIdFor({ a: 1 })).toBe('7');
    expect(second.filterIdFor({ a: 2 })).toBeUndefined();
  });
});
