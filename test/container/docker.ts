import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Debian's Docker (package docker.io) for the container test: the CLI as a child process, and the
 * engine itself when none runs (CI machines are fresh). Every wait is bounded.
 */

/** Debian's CLI, not whatever else is first on PATH. */
export const DOCKER = process.env.KOSMI_RELAY_DOCKER ?? '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';
const REPO = path.resolve(import.meta.dirname, '../..');

const ENGINE_START_TIMEOUT_MS = 60_000;
const ENGINE_STOP_TIMEOUT_MS = 20_000;
const POLL_MS = 500;
const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to completion (SIGKILL after timeoutMs); never throws. */
export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; echo?: boolean } = {},
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (options.echo === true) process.stderr.write(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (options.echo === true) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}`, ms: Date.now() - started });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export function docker(args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
  return run(DOCKER, args, timeoutMs === undefined ? {} : { timeoutMs });
}

/** Throws with the command's output unless it exited 0. */
export async function dockerOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await docker(args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function engineAnswers(): Promise<boolean> {
  return (await docker(['info', '--format', '{{.ServerVersion}}'], 10_000)).code === 0;
}

export interface Engine {
  /** True when this test started dockerd (and stop() will stop it again). */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

/**
 * The running engine, or Debian's dockerd started here: as root, without iptables and the default
 * bridge (containers use the host's network), with the default /var/lib/docker so images and the
 * build cache survive between runs. Throws saying why when there is none and none can start.
 */
export async function ensureEngine(logFile: string): Promise<Engine> {
  if (!existsSync(DOCKER))
    throw new Error(`${DOCKER} is missing: apt-get install docker.io (test-all.sh does)`);
  if (await engineAnswers()) return { startedHere: false, stop: () => Promise.resolve() };
  if (process.getuid?.() !== 0) {
    throw new Error(
      'no Docker engine answers, and only root can start one (dockerd); run as root or start Docker',
    );
  }
  if (!existsSync(DOCKERD))
    throw new Error(`${DOCKERD} is missing: apt-get install docker.io (test-all.sh does)`);
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(DOCKERD, ['--iptables=false', '--bridge=none'], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const tail = (): string => readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  for (let tries = 0; tries < ENGINE_START_TIMEOUT_MS / POLL_MS; tries++) {
    if (exited) throw new Error(`dockerd exited during start-up (log ${logFile}):\n${tail()}`);
    if (await engineAnswers()) {
      return {
        startedHere: true,
        stop: async () => {
          process.off('exit', killOnExit);
          if (exited) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), ENGINE_STOP_TIMEOUT_MS);
          await exit;
          clearTimeout(timer);
        },
      };
    }
    await sleep(POLL_MS);
  }
  child.kill('SIGKILL');
  await exit;
  throw new Error(`dockerd did not answer within ${ENGINE_START_TIMEOUT_MS} ms (log ${logFile}):\n${tail()}`);
}

/** test/container/base-image.sh: the node:24-bookworm-slim stand-in, built once per machine. */
export async function ensureBaseImage(timeoutMs: number): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (process.version.startsWith('v24.')) env.NODE24_BIN = process.execPath;
  const result = await run('bash', [path.join(REPO, 'test/container/base-image.sh'), DOCKER], {
    timeoutMs,
    env,
    echo: true,
  });
  if (result.code !== 0)
    throw new Error(`base-image.sh exited ${result.code}:\n${result.stderr.slice(-3000)}`);
}

/** The states of every process in a running container, from /proc/PID/stat (proc(5): field 3). */
export async function processStates(
  container: string,
): Promise<{ pid: string; comm: string; state: string }[]> {
  const out = await dockerOk(['exec', container, 'sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null || true']);
  return out
    .split('\n')
    .filter((line) => line.includes(')'))
    .map((line) => {
      const close = line.lastIndexOf(')');
      return {
        pid: line.slice(0, line.indexOf(' ')),
        comm: line.slice(line.indexOf('(') + 1, close),
        state: line.slice(close + 2).split(' ')[0] ?? '?',
      };
    });
}

export { REPO, sleep };
