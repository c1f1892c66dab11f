import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayStore, StoreLockedError } from '../../src/store/index.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { tempDirs } from './store-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOLDER = path.join(ROOT, 'test/unit/store-holder.ts');
const READY_TIMEOUT_MS = 30_000;
const ANSWER_TIMEOUT_MS = 10_000;

/** A child process holding a store (test/unit/store-holder.ts). */
class Holder {
  readonly exited: Promise<number | null>;
  stderr = '';
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.#lines.push(line);
      this.#wake?.();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => this.#wake?.());
  }

  static async start(dataDir: string): Promise<Holder> {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dataDir], { cwd: ROOT, stdio: 'pipe' });
    const holder = new Holder(child);
    holders.push(holder);
    await holder.next((line) => line === 'ready', READY_TIMEOUT_MS);
    return holder;
  }

  /** The first unconsumed line that `match` accepts (consumed; others stay); rejects on timeout or exit. */
  next(match: (line: string) => boolean, timeoutMs = ANSWER_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`holder said nothing matching in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      const finish = (error?: Error, line?: string): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        if (error !== undefined) reject(error);
        else resolve(line as string);
      };
      const check = (): void => {
        const index = this.#lines.findIndex(match);
        if (index >= 0) return finish(undefined, this.#lines.splice(index, 1)[0]);
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(
            new Error(
              `holder exited (${this.child.exitCode ?? this.child.signalCode}); stderr: ${this.stderr}`,
            ),
          );
        }
      };
      this.#wake = check;
      check();
    });
  }

  async send(command: string): Promise<{ ok: boolean; durable?: boolean; ids?: string[] }> {
    this.child.stdin.write(`${command}\n`);
    return JSON.parse(await this.next((line) => line.includes('"ok"'))) as {
      ok: boolean;
      durable?: boolean;
      ids?: string[];
    };
  }
}

const holders: Holder[] = [];
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

describe('RelayStore across processes', () => {
  const dirs = tempDirs();
  afterEach(async () => {
    for (const holder of holders.splice(0)) {
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    dirs.cleanup();
  });

  it('refuses a second daemon, naming the holder, and opens once the holder is SIGKILLed', async () => {
    const dataDir = dirs.make();
    const holder = await Holder.start(dataDir);
    const log = memoryLogger();
    let refused: unknown;
    try {
      RelayStore.open({ dataDir, logger: log.logger }).close();
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect((refused as Error).message).toContain(
      `data dir ${dataDir} is in use by another kosmi-relay (pid ${holder.child.pid})`,
    );

    holder.child.kill('SIGKILL');
    expect(await holder.exited).toBeNull();
    const store = RelayStore.open({ dataDir, logger: log.logger });
    try {
      expect(store.pendingPieces().map((p) => p.id)).toEqual(['held.0']); // written before "ready", kept through the kill
      expect(readFileSync(path.join(dataDir, 'relay.pid'), 'utf8').trim()).toBe(String(process.pid));
    } finally {
      store.close();
    }
  });

  it('prints no SQLite ExperimentalWarning, and still prints every other warning', async () => {
    const holder = await Holder.start(dirs.make());
    await holder.send('warn');
    await holder.send('close');
    expect(await holder.exited).toBe(0);
    expect(holder.stderr).toContain('TestWarning: a warning that must still be printed');
    expect(holder.stderr).not.toMatch(/ExperimentalWarning|SQLite is an experimental/);
  });

  it.skipIf(!hasPrlimit)(
    'keeps writes the disk refuses, in order, and saves them once there is room',
    async () => {
      const dataDir = dirs.make();
      const holder = await Holder.start(dataDir);
      expect(await holder.send('add p1')).toEqual({ ok: true, durable: true });
      // No byte more in any file: the next WAL append fails with EFBIG, as on a full disk. Only the
      // soft limit moves (`N:`), so it can be raised again without CAP_SYS_RESOURCE.
      const walSize = statSync(path.join(dataDir, 'relay.db-wal')).size;
      const limit = (value: string) =>
        spawnSync('prlimit', [`--pid=${holder.child.pid}`, `--fsize=${value}:`]).status;
      expect(limit(String(walSize))).toBe(0);
      expect(await holder.send('add p2')).toEqual({ ok: true, durable: false });
      await holder.next((line) => line === '{"durable":false}');
      expect(await holder.send('add p3')).toEqual({ ok: true, durable: false });
      expect(await holder.send('pending')).toEqual({ ok: true, ids: ['held.0', 'p1', 'p2', 'p3'] });
      expect(await holder.send('retry')).toEqual({ ok: true, durable: false });

      expect(limit('unlimited')).toBe(0);
      expect(await holder.send('retry')).toEqual({ ok: true, durable: true });
      await holder.next((line) => line === '{"durable":true}');
      await holder.send('close');
      expect(await holder.exited).toBe(0);

      const store = RelayStore.open({ dataDir, logger: memoryLogger().logger });
      try {
        expect(store.pendingPieces().map((p) => p.id)).toEqual(['held.0', 'p1', 'p2', 'p3']);
      } finally {
        store.close();
      }
    },
  );
});
