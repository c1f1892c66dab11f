import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayStore, SCHEMA_VERSION, StoreLockedError, StoreOpenError } from '../../src/store/index.js';
import { loadSqlite } from '../../src/store/sqlite.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { piece, tempDirs } from './store-helpers.js';

describe('RelayStore', () => {
  const dirs = tempDirs();
  const open: RelayStore[] = [];
  afterEach(() => {
    open.splice(0).forEach((store) => store.close());
    dirs.cleanup();
  });
  const openStore = (dataDir: string, extra: { now?: () => number } = {}) => {
    const log = memoryLogger();
    const store = RelayStore.open({ dataDir, logger: log.logger, ...extra });
    open.push(store);
    return { store, log };
  };
  /** Closes the store and reads the file with a connection of its own. */
  const rawAfterClose = (store: RelayStore) => {
    store.close();
    const { DatabaseSync } = loadSqlite();
    return new DatabaseSync(store.path, { readOnly: true });
  };

  it('keeps outbox, message map, cursors, echoes and secrets across a reopen', () => {
    const dataDir = dirs.make();
    const first = openStore(dataDir).store;
    first.addPieces([piece('m1', 0), piece('m1', 1), piece('m2', 0)]);
    first.addPieces([piece('m3', 0)]);
    first.removePiece('m1.0');
    first.removePieces(['m2.0']);
    const long = '\u{1F600}'.repeat(150) + 'x'.repeat(100); // 250 code points, 400 UTF-16 units
    first.recordMessage({
      messageId: 'm1',
      account: 'kosmi.a',
      channel: 'room',
      networkId: 'k-1',
      nick: 'ann',
      text: long,
      createdAt: 10,
    });
    first.recordMessage({
      messageId: 'm2',
      account: 'irc.b',
      channel: '#x',
      nick: 'bob',
      text: 'hi',
      createdAt: 11,
    });
    first.recordCopy({
      messageId: 'm1',
      account: 'matrix.c',
      channel: '!r:hs',
      networkId: '$ev1',
      pieceIndex: 0,
      createdAt: 12,
    });
    first.recordCopy({
      messageId: 'm1',
      account: 'matrix.c',
      channel: '!r:hs',
      networkId: '$ev2',
      pieceIndex: 1,
      createdAt: 12,
    });
    first.setCursor('matrix.c', 'since', 's1');
    first.setCursor('matrix.c', 'since', 's2');
    first.addEcho('old echo', 100);
    first.addEcho('live echo', 1_000);
    const secret = first.secret('hmac', () => 'generated-once');
    expect(secret).toBe('generated-once');
    first.close();

    const store = openStore(dataDir).store;
    const pending = store.pendingPieces();
    expect(pending.map((p) => p.id)).toEqual(['m1.1', 'm3.0']);
    expect(pending[0]).toEqual({ ...piece('m1', 1), seq: 2 });
    expect(pending[1]?.seq).toBe(4);
    expect(store.hasSource('kosmi.a', 'k-1')).toBe(true);
    expect(store.hasSource('kosmi.a', 'k-2')).toBe(false);
    expect(store.hasSource('matrix.c', '$ev1')).toBe(false); // a copy is not a source
    const bySource = store.findByNetworkId('kosmi.a', 'k-1');
    const byCopy = store.findByNetworkId('matrix.c', '$ev2');
    expect(byCopy).toEqual(bySource);
    expect(bySource).toMatchObject({
      messageId: 'm1',
      account: 'kosmi.a',
      channel: 'room',
      networkId: 'k-1',
      nick: 'ann',
      createdAt: 10,
    });
    expect(Array.from(bySource?.text ?? '')).toHaveLength(200);
    expect(bySource?.text.startsWith('\u{1F600}'.repeat(150) + 'x'.repeat(50))).toBe(true);
    expect(bySource?.copies).toEqual([
      { account: 'matrix.c', channel: '!r:hs', networkId: '$ev1', pieceIndex: 0 },
      { account: 'matrix.c', channel: '!r:hs', networkId: '$ev2', pieceIndex: 1 },
    ]);
    store.reviseMessage('m1', `edited ${'y'.repeat(300)}`);
    expect(Array.from(store.findByNetworkId('kosmi.a', 'k-1')?.text ?? '')).toHaveLength(200);
    expect(store.findByNetworkId('kosmi.a', 'k-1')?.text.startsWith('edited y')).toBe(true);
    expect(store.findByNetworkId('irc.b', 'whatever')).toBeUndefined();
    expect(store.findByNetworkId('matrix.c', 'k-1')).toBeUndefined(); // ids are per account
    expect(store.copiesOf('m2')).toEqual([]);
    expect(store.getCursor('matrix.c', 'since')).toBe('s2');
    expect(store.getCursor('matrix.c', 'other')).toBeUndefined();
    expect(store.liveEchoes(500)).toEqual([{ text: 'live echo', expiresAt: 1_000 }]);
    expect(store.secret('hmac', () => 'must not be used')).toBe('generated-once');

    const raw = rawAfterClose(store);
    expect(
      raw
        .prepare('SELECT text FROM echoes')
        .all()
        .map((r) => r.text),
    ).toEqual(['live echo']); // expired rows deleted
    raw.close();
  });

  it('ignores a piece added twice and keeps its first place', () => {
    const dataDir = dirs.make();
    const store = openStore(dataDir).store;
    store.addPieces([piece('a', 0), piece('b', 0)]);
    store.addPieces([piece('a', 0, { payload: 'changed' })]);
    store.close();
    expect(
      openStore(dataDir)
        .store.pendingPieces()
        .map((p) => [p.id, p.seq, p.payload]),
    ).toEqual([
      ['a.0', 1, piece('a', 0).payload],
      ['b.0', 2, piece('b', 0).payload],
    ]);
  });

  it('prunes messages and their copies by age, and says how many rows went', () => {
    const dataDir = dirs.make();
    const store = openStore(dataDir).store;
    const message = (id: string, createdAt: number) =>
      store.recordMessage({
        messageId: id,
        account: 'irc.a',
        channel: '#a',
        networkId: `n-${id}`,
        nick: 'n',
        text: 't',
        createdAt,
      });
    message('old', 100);
    message('new', 300);
    store.recordCopy({
      messageId: 'old',
      account: 'irc.b',
      channel: '#b',
      networkId: 'c-old',
      pieceIndex: 0,
      createdAt: 250,
    });
    store.recordCopy({
      messageId: 'new',
      account: 'irc.b',
      channel: '#b',
      networkId: 'c-new',
      pieceIndex: 0,
      createdAt: 300,
    });
    expect(store.pruneMessageMap(200)).toBe(2); // the old message, and its copy made after the cut-off
    expect(store.pruneMessageMap(200)).toBe(0);
    store.close();
    const reopened = openStore(dataDir).store;
    expect(reopened.findByNetworkId('irc.a', 'n-old')).toBeUndefined();
    expect(reopened.findByNetworkId('irc.b', 'c-old')).toBeUndefined();
    expect(reopened.findByNetworkId('irc.b', 'c-new')?.messageId).toBe('new');
  });

  it('creates relay.db, its WAL and relay.pid with mode 0600, in WAL mode, at the latest schema', () => {
    const dataDir = path.join(dirs.make(), 'nested', 'data');
    const store = openStore(dataDir).store;
    store.addPieces([piece('m', 0)]);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const file of ['relay.db', 'relay.db-wal', 'relay.pid']) {
      expect(statSync(path.join(dataDir, file)).mode & 0o777, file).toBe(0o600);
    }
    expect(existsSync(path.join(dataDir, 'relay.db-shm'))).toBe(false); // exclusive mode: WAL index in memory
    expect(readFileSync(path.join(dataDir, 'relay.pid'), 'utf8').trim()).toBe(String(process.pid));
    const raw = rawAfterClose(store);
    expect(raw.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    expect(raw.prepare('PRAGMA user_version').get()?.user_version).toBe(SCHEMA_VERSION);
    raw.close();
    expect(existsSync(path.join(dataDir, 'relay.pid'))).toBe(false);
  });

  it('refuses a second open of the same data dir, naming the holder, until the first closes', () => {
    const dataDir = dirs.make();
    const first = openStore(dataDir).store;
    let refused: unknown;
    try {
      openStore(dataDir);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect((refused as StoreLockedError).pid).toBe(process.pid);
    expect((refused as Error).message).toContain(
      `data dir ${dataDir} is in use by another kosmi-relay (pid ${process.pid})`,
    );
    first.addPieces([piece('still-mine', 0)]); // the refused open did not disturb the holder's lock or file
    first.close();
    expect(
      openStore(dataDir)
        .store.pendingPieces()
        .map((p) => p.id),
    ).toEqual(['still-mine.0']);
  });

  const CORRUPT_AT = Date.UTC(2026, 10, 30, 4, 15, 0);
  const expectMovedAside = (dataDir: string, original: Buffer, log: ReturnType<typeof memoryLogger>) => {
    const moved = path.join(dataDir, 'relay.db.corrupt-20261130T041500Z');
    expect(readFileSync(moved).equals(original)).toBe(true);
    expect(statSync(moved).mode & 0o777).toBe(0o600);
    const errors = log.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('moved it aside');
    expect(errors[0]?.msg).toContain(
      'messages waiting for delivery and the message map in it are not used; the file is kept for inspection',
    );
    expect(errors[0]?.movedTo).toBe(moved);
  };

  it('moves a file that is not a database aside and starts fresh', () => {
    const dataDir = dirs.make();
    const garbage = Buffer.from('this is not a database, just text '.repeat(100));
    writeFileSync(path.join(dataDir, 'relay.db'), garbage);
    const { store, log } = openStore(dataDir, { now: () => CORRUPT_AT });
    expectMovedAside(dataDir, garbage, log);
    store.addPieces([piece('fresh', 0)]);
    store.close();
    expect(
      openStore(dataDir)
        .store.pendingPieces()
        .map((p) => p.id),
    ).toEqual(['fresh.0']);
  });

  it('moves a truncated database aside and starts fresh', () => {
    const dataDir = dirs.make();
    const first = openStore(dataDir).store;
    first.addPieces(Array.from({ length: 2_000 }, (_, i) => piece('big', i, { payload: 'p'.repeat(200) })));
    first.close();
    const file = path.join(dataDir, 'relay.db');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const truncated = readFileSync(file);
    const { store, log } = openStore(dataDir, { now: () => CORRUPT_AT });
    expectMovedAside(dataDir, truncated, log);
    expect(store.pendingPieces()).toEqual([]);
  });

  it('refuses a file written by a newer schema, without moving it aside', () => {
    const dataDir = dirs.make();
    openStore(dataDir).store.close();
    const { DatabaseSync } = loadSqlite();
    const raw = new DatabaseSync(path.join(dataDir, 'relay.db'));
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openStore(dataDir)).toThrow(StoreOpenError);
    expect(() => openStore(dataDir)).toThrow(
      `cannot open the relay store ${path.join(dataDir, 'relay.db')}: it has schema version ${SCHEMA_VERSION + 1}`,
    );
    expect(existsSync(path.join(dataDir, 'relay.db'))).toBe(true);
  });

  it('names the path when relay.db cannot be created', () => {
    const parent = dirs.make();
    const notADir = path.join(parent, 'file');
    writeFileSync(notADir, 'x');
    expect(() => openStore(notADir)).toThrow(StoreOpenError);
    expect(() => openStore(notADir)).toThrow(path.join(notADir, 'relay.db'));
  });
});
