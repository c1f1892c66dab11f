import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait-for.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'main.js');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Daemon {
  readonly process: ChildProcess;
  /** The temp dir holding relay.toml; data/ inside it unless the config says otherwise. */
  readonly dir: string;
  readonly configPath: string;
  /** Everything the daemon wrote to stdout and stderr, as text. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): LogLine[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Runs steps; an error they throw gets the end of the daemon's output appended. */
  explain<T>(steps: () => Promise<T>): Promise<T>;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface DaemonOptions {
  readonly config: string;
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
  /** Reuse a directory (restart tests); otherwise a fresh temp dir. */
  readonly dir?: string;
}

/** scripts/test-all.sh marks the processes of its run so it can name any a test left behind. */
function testRunMarker(): Record<string, string> {
  const mark = process.env.KOSMI_RELAY_TEST_RUN;
  return mark === undefined ? {} : { KOSMI_RELAY_TEST_RUN: mark };
}

const running = new Set<Daemon>();
// A test worker that dies (timeout, crash) must not leave daemons reconnecting forever.
process.once('exit', () => {
  for (const daemon of running) daemon.process.kill('SIGKILL');
});

/** Starts `node dist/main.js --config DIR/relay.toml` with the given config text. */
export function startDaemon(options: DaemonOptions): Daemon {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-'));
  const configPath = path.join(dir, 'relay.toml');
  writeFileSync(configPath, options.config);
  const child = spawn(process.execPath, [MAIN, ...(options.args ?? []), '--config', configPath], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, LOG_LEVEL: 'debug', ...testRunMarker(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const parsed: LogLine[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        parsed.push(JSON.parse(line) as LogLine);
      } catch {
        // not a JSON log line (pretty output or a stray print): kept in output() only
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const daemon: Daemon = {
    process: child,
    dir,
    configPath,
    output: () => text,
    logs: () => parsed,
    waitForLog: (predicate, timeoutMs = 20_000) =>
      daemon.explain(() => waitFor(() => parsed.find(predicate), { timeoutMs, what: 'a daemon log line' })),
    async explain<T>(steps: () => Promise<T>): Promise<T> {
      try {
        return await steps();
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- daemon output ---\n${text.slice(-4000)}`, {
          cause: error,
        });
      }
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      running.delete(daemon);
      return code;
    },
    exited,
  };
  running.add(daemon);
  void exited.then(() => running.delete(daemon));
  return daemon;
}

/** For afterEach/afterAll: kills every daemon still running and removes temp dirs it was given. */
export async function stopAllDaemons(): Promise<void> {
  await Promise.all([...running].map((d) => d.stop('SIGKILL')));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a CLI command to completion: { code, stdout, stderr }. */
export function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: options.cwd, ...testRunMarker(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Healthz {
  readonly status: number;
  readonly durable: boolean;
  readonly accounts: Record<string, { state: string; queue_depth: number }>;
}

/** GET /healthz of a daemon started with general.http_listen on `port`. */
export async function healthz(port: number): Promise<Healthz> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as Omit<Healthz, 'status'>;
  return { status: response.status, durable: body.durable, accounts: body.accounts };
}
