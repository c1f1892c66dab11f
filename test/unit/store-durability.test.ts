import { mkdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayStore, StoreLockedError } from '../../src/store/index.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { piece, tempDirs } from './store-helpers.js';

/**
 * Runtime failures: the timer is driven by retryNow() (the interval is set far out of reach), so
 * every step below is a deterministic event, never a sleep.
 */
describe('RelayStore when relay.db goes away', () => {
  const dirs = tempDirs();
  const open: RelayStore[] = [];
  afterEach(() => {
    open.splice(0).forEach((store) => store.close());
    dirs.cleanup();
  });
  const openStore = (dataDir: string) => {
    const log = memoryLogger();
    const changes: boolean[] = [];
    const store = RelayStore.open({
      dataDir,
      logger: log.logger,
      retryIntervalMs: 3_600_000,
      onDurableChange: (durable) => changes.push(durable),
    });
    open.push(store);
    return { store, log, changes };
  };

  it('recreates a removed relay.db from the open handle, with everything written before and after', () => {
    const dataDir = dirs.make();
    const { store, log, changes } = openStore(dataDir);
    store.addPieces([piece('before', 0)]);
    store.setCursor('irc.a', 'k', 'v1');
    const removedIno = statSync(store.path).ino;
    rmSync(store.path);
    store.addPieces([piece('between', 0)]); // SQLite takes it, into the removed inode
    expect(store.retryNow()).toBe(true);
    expect(changes).toEqual([false, true]);
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]?.msg).toContain('relay.db was removed or replaced while open');
    expect(statSync(store.path).ino).not.toBe(removedIno);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(() => RelayStore.open({ dataDir, logger: log.logger })).toThrow(StoreLockedError); // lock taken again
    store.addPieces([piece('after', 0)]);
    store.close();

    const reopened = openStore(dataDir).store;
    expect(reopened.pendingPieces().map((p) => p.id)).toEqual(['before.0', 'between.0', 'after.0']);
    expect(reopened.getCursor('irc.a', 'k')).toBe('v1');
  });

  it('keeps writes in order while a directory sits at the path, and saves them all once it is gone', () => {
    const dataDir = dirs.make();
    const { store, log, changes } = openStore(dataDir);
    store.addPieces([piece('a', 0), piece('b', 0)]);
    store.setCursor('irc.a', 'k', 'v1');
    rmSync(store.path);
    mkdirSync(store.path);
    expect(store.retryNow()).toBe(false);
    expect(store.durable).toBe(false);
    expect(changes).toEqual([false]);

    // Queued while the path is blocked; reads see them.
    store.removePiece('a.0');
    store.addPieces([piece('c', 0), piece('c', 1)]);
    store.setCursor('irc.a', 'k', 'v2');
    store.recordMessage({
      messageId: 'm',
      account: 'irc.a',
      channel: '#a',
      networkId: 'n1',
      nick: 'x',
      text: 'hello',
      createdAt: 5,
    });
    store.recordCopy({
      messageId: 'm',
      account: 'irc.b',
      channel: '#b',
      networkId: 'n2',
      pieceIndex: 0,
      createdAt: 6,
    });
    store.reviseMessage('m', 'hello, edited');
    store.addEcho('echo', Number.MAX_SAFE_INTEGER);
    const secret = store.secret('key', () => 'queued-secret');
    expect(store.pendingPieces().map((p) => p.id)).toEqual(['b.0', 'c.0', 'c.1']);
    expect(store.getCursor('irc.a', 'k')).toBe('v2');
    expect(store.hasSource('irc.a', 'n1')).toBe(true);
    expect(store.findByNetworkId('irc.b', 'n2')).toMatchObject({
      messageId: 'm',
      text: 'hello, edited', // the journaled edit is seen before it reaches the file
      copies: [{ networkId: 'n2' }],
    });
    expect(store.liveEchoes(0)).toEqual([{ text: 'echo', expiresAt: Number.MAX_SAFE_INTEGER }]);
    expect(store.secret('key', () => 'another')).toBe(secret);

    expect(store.retryNow()).toBe(false); // still blocked: no second error line
    expect(log.at('error')).toHaveLength(1);
    expect(statSync(store.path).isDirectory()).toBe(true); // never overwritten

    rmdirSync(store.path);
    expect(store.retryNow()).toBe(true);
    expect(changes).toEqual([false, true]);
    expect(log.at('info').some((e) => e.msg.includes('writable again'))).toBe(true);
    store.close();

    const reopened = openStore(dataDir).store;
    expect(reopened.pendingPieces().map((p) => p.id)).toEqual(['b.0', 'c.0', 'c.1']);
    expect(reopened.getCursor('irc.a', 'k')).toBe('v2');
    expect(reopened.hasSource('irc.a', 'n1')).toBe(true);
    expect(reopened.copiesOf('m')).toEqual([
      { account: 'irc.b', channel: '#b', networkId: 'n2', pieceIndex: 0 },
    ]);
    expect(reopened.findByNetworkId('irc.a', 'n1')?.text).toBe('hello, edited');
    expect(reopened.liveEchoes(0)).toHaveLength(1);
    expect(reopened.secret('key', () => 'new')).toBe('queued-secret');
  });

  it('notices a removal on its own timer', async () => {
    const dataDir = dirs.make();
    const changes: boolean[] = [];
    let healed: () => void = () => undefined;
    const durableAgain = new Promise<void>((resolve) => (healed = resolve));
    const store = RelayStore.open({
      dataDir,
      logger: memoryLogger().logger,
      retryIntervalMs: 20,
      onDurableChange: (durable) => {
        changes.push(durable);
        if (durable) healed();
      },
    });
    open.push(store);
    store.addPieces([piece('x', 0)]);
    rmSync(store.path);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the timer never healed the store')), 10_000);
    });
    await Promise.race([durableAgain, timeout]).finally(() => clearTimeout(timer));
    expect(changes).toEqual([false, true]);
    expect(statSync(store.path).isFile()).toBe(true);
  });
});
