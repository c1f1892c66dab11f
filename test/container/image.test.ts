import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { freePort, uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  docker,
  dockerOk,
  ensureBaseImage,
  ensureEngine,
  processStates,
  REPO,
  type Engine,
} from './docker.js';

/**
 * Issue 10 §1: the project's Dockerfile, unchanged, built and run by Debian's Docker engine. Only
 * the CLI (`kosmi-relay run|check-config|kosmi-login|token-status`), /healthz and relay.toml's
 * format are used, never the relay's internals. Containers use the host's network, so they reach
 * the ngircd and Kosmi emulator this test starts on loopback.
 */

const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const IMAGE = `kosmi-relay-test:${RUN_ID}`;
const BUILD_TIMEOUT_MS = 20 * 60_000;
const HEALTHY_TIMEOUT_MS = 90_000;
/** Docker's default grace before SIGKILL; the relay must be gone before it. */
const STOP_LIMIT_MS = 10_000;
const LOGIN_TIMEOUT_MS = 90_000;
const USER = { email: 'relay@example.org', password: 'correct horse', displayName: 'Relay Bot' };

const work = mkdtempSync(path.join(os.tmpdir(), 'kosmi-relay-container-'));
const containers = new Set<string>();
let engine: Engine | undefined;

/** A fresh dir as `docker compose up` finds ./data when Docker created it: owned by root, 0755. */
function rootOwnedDir(name: string): string {
  const dir = mkdtempSync(path.join(work, `${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** A config file the container's uid 1000 can read. */
function configFile(name: string, text: string): string {
  const file = path.join(work, name);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

function containerName(role: string): string {
  const name = `kosmi-relay-test-${RUN_ID}-${role}`;
  containers.add(name);
  return name;
}

/** `docker run` arguments every container here shares: host network, config and data mounted. */
function runArgs(config: string, data: string, extra: readonly string[] = []): string[] {
  return [
    '--network',
    'host',
    '-v',
    `${config}:/app/relay.toml:ro`,
    '-v',
    `${data}:/app/data`,
    '-e',
    'LOG_LEVEL=debug',
    ...extra,
  ];
}

async function containerState(name: string): Promise<{ status: string; exitCode: number; health: string }> {
  const out = await dockerOk([
    'inspect',
    '-f',
    '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}',
    name,
  ]);
  const [status = '', exitCode = '', health = ''] = out.trim().split(' ');
  return { status, exitCode: Number(exitCode), health };
}

async function logs(name: string): Promise<string> {
  const result = await docker(['logs', name]);
  return result.stdout + result.stderr;
}

/** `docker stop`, timed: the relay must exit 0 before Docker's SIGKILL. */
async function timedStop(name: string): Promise<{ ms: number; exitCode: number }> {
  const result = await docker(['stop', '-t', String(STOP_LIMIT_MS / 1000), name], 60_000);
  expect(result.code, result.stderr).toBe(0);
  process.stderr.write(`container test: docker stop ${name} took ${result.ms} ms\n`);
  return { ms: result.ms, exitCode: (await containerState(name)).exitCode };
}

function ircAccounts(server: NgircdServer, nicks: readonly string[]): string {
  return nicks
    .map((nick, i) => `[irc.n${i}]\nserver = "127.0.0.1:${server.port}"\nnick = "${nick}"\n`)
    .join('\n');
}

describe('the Docker image (project Dockerfile, Debian docker.io)', () => {
  let ngircd: NgircdServer;
  let emulator: KosmiEmulator;
  const clients: TestIrcClient[] = [];

  beforeAll(async () => {
    engine = await ensureEngine(path.join(work, 'dockerd.log'));
    await ensureBaseImage(BUILD_TIMEOUT_MS);
    const build = await docker(['build', '--network', 'host', '-t', IMAGE, REPO], BUILD_TIMEOUT_MS);
    if (build.code !== 0)
      throw new Error(`docker build failed:\n${build.stdout.slice(-4000)}${build.stderr}`);
    const bytes = Number((await dockerOk(['image', 'inspect', '-f', '{{.Size}}', IMAGE])).trim());
    process.stderr.write(
      `container test: built ${IMAGE} in ${(build.ms / 1000).toFixed(0)} s, ${(bytes / 1e6).toFixed(0)} MB\n`,
    );
    [ngircd, emulator] = await Promise.all([startNgircd(), startKosmiEmulator({ users: [USER] })]);
  }, BUILD_TIMEOUT_MS * 2);

  afterAll(async () => {
    for (const client of clients) await client.quit();
    await Promise.all([...containers].map((name) => docker(['rm', '-f', '-v', name])));
    // --no-prune keeps the layers as build cache for the next run.
    await docker(['rmi', '--no-prune', IMAGE]);
    await ngircd?.stop();
    await emulator?.close();
    await engine?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('is under 600 MB and runs every command as uid 1000, started as root or with --user 1000', async () => {
    const bytes = Number((await dockerOk(['image', 'inspect', '-f', '{{.Size}}', IMAGE])).trim());
    expect(bytes).toBeLessThan(600e6);
    expect((await dockerOk(['run', '--rm', '--network', 'host', IMAGE, 'id', '-u'])).trim()).toBe('1000');
    const asUser = await dockerOk([
      'run',
      '--rm',
      '--network',
      'host',
      '--user',
      '1000:1000',
      IMAGE,
      'id',
      '-u',
    ]);
    expect(asUser.trim()).toBe('1000');
  });

  it('kosmi-relay check-config works through docker run', async () => {
    const config = configFile(
      'check.toml',
      `${ircAccounts(ngircd, ['ca', 'cb'])}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.n0"
  channel = "#a"
  [[gateway.inout]]
  account = "irc.n1"
  channel = "#b"
`,
    );
    const result = await docker([
      'run',
      '--rm',
      ...runArgs(config, rootOwnedDir('check')),
      IMAGE,
      'kosmi-relay',
      'check-config',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('config OK: /app/relay.toml');
  });

  describe('a relay between two IRC channels, started on a root-owned ./data', () => {
    const name = containerName('relay');
    const data = rootOwnedDir('relay-data');
    const channels = [`#${uniqueName('ca')}`, `#${uniqueName('cb')}`];
    const nicks = [uniqueName('ra'), uniqueName('rb')];
    let loginConfig = '';

    beforeAll(async () => {
      const httpPort = await freePort();
      const config = configFile(
        'relay.toml',
        `[general]
http_listen = "127.0.0.1:${httpPort}"
${ircAccounts(ngircd, nicks)}
[[gateway]]
name = "two-channels"
  [[gateway.inout]]
  account = "irc.n0"
  channel = "${channels[0]}"
  [[gateway.inout]]
  account = "irc.n1"
  channel = "${channels[1]}"
`,
      );
      // Email login against a loopback port nobody listens on: it fails at the network error.
      loginConfig = configFile(
        'login.toml',
        `${ircAccounts(ngircd, ['la'])}
[kosmi.k]
email = "${USER.email}"
password = "${USER.password}"
web_url = "http://127.0.0.1:${await freePort()}/"
login_timeout_seconds = 30
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.n0"
  channel = "#a"
  [[gateway.inout]]
  account = "kosmi.k"
  channel = "@movienight"
`,
      );
      // The image's own HEALTHCHECK command, asked more often, and at this run's port.
      const test = JSON.parse(
        await dockerOk(['image', 'inspect', '-f', '{{json .Config.Healthcheck.Test}}', IMAGE]),
      ) as string[];
      const script = (test[3] ?? '').replace('127.0.0.1:9090', `127.0.0.1:${httpPort}`);
      expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(script).toContain(`:${httpPort}/healthz`);
      await dockerOk([
        'run',
        '-d',
        '--name',
        name,
        ...runArgs(config, data, ['-v', `${loginConfig}:/app/login.toml:ro`]),
        '--health-cmd',
        `node -e "${script}"`,
        '--health-interval',
        '2s',
        IMAGE,
      ]);
    });

    it('turns healthy, with the data dir given to uid 1000 and the daemon running as uid 1000', async () => {
      await waitFor(async () => (await containerState(name)).health === 'healthy', {
        timeoutMs: HEALTHY_TIMEOUT_MS,
        intervalMs: 1_000,
        what: `${name} healthy`,
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${(await logs(name)).slice(-4000)}`);
      });
      expect(statSync(data).uid).toBe(1000);
      const uids = await dockerOk([
        'exec',
        name,
        'sh',
        '-c',
        // The daemon is the process whose command line is the image's CMD (not this shell's).
        'for d in /proc/[0-9]*; do case "$(tr "\\0" " " <$d/cmdline)" in "node dist/main.js "*) grep "^Uid:" $d/status;; esac; done',
      ]);
      expect(uids.trim().split('\n')).toEqual([expect.stringMatching(/^Uid:\s+1000\s+1000\s/)]);
      expect(await logs(name)).toContain('giving /app/data to node');
    });

    it('relays a line from one channel to the other', async () => {
      const [alice, bob] = await Promise.all([
        connectIrcClient({ port: ngircd.port, nick: uniqueName('alice'), channels: [channels[0] as string] }),
        connectIrcClient({ port: ngircd.port, nick: uniqueName('bob'), channels: [channels[1] as string] }),
      ]);
      clients.push(alice, bob);
      // Each relay nick is in its channel: seen joining, or listed in NAMES (353) when it was first.
      const inChannel = (nick: string) => (l: string) =>
        (l.startsWith(`:${nick}!`) && l.includes(' JOIN ')) || (/ 353 /.test(l) && l.includes(nick));
      await alice.waitForLine(inChannel(nicks[0] as string), 30_000);
      await bob.waitForLine(inChannel(nicks[1] as string), 30_000);
      await alice.say(channels[0] as string, 'hello from the container test');
      const got = await bob.waitForMessage((m) => m.text.includes('hello from the container test'), 20_000);
      expect(got.nick).toBe(nicks[1]);
      expect(got.text).toBe(`[irc] <${alice.nick}> hello from the container test`);
    });

    it('starts Chromium as uid 1000 under the default seccomp profile; three failed logins leave no zombie', async () => {
      // The engine's default seccomp profile, not loosened for this container.
      expect(await dockerOk(['info', '--format', '{{json .SecurityOptions}}'])).toContain(
        'name=seccomp,profile=default',
      );
      expect(await dockerOk(['inspect', '-f', '{{json .HostConfig.SecurityOpt}}', name])).toMatch(
        /^(null|\[\])$/m,
      );
      for (let attempt = 1; attempt <= 3; attempt++) {
        const login = await docker(
          ['exec', '--user', 'node', name, 'kosmi-relay', 'kosmi-login', '--config', '/app/login.toml'],
          LOGIN_TIMEOUT_MS,
        );
        const output = login.stdout + login.stderr;
        expect(login.code, output).toBe(1);
        expect(output).toContain('chromium started');
        expect(output).toContain('ERR_CONNECTION_REFUSED');
      }
      const zombies = async (): Promise<string[]> =>
        (await processStates(name)).filter((p) => p.state === 'Z').map((p) => `${p.pid} (${p.comm})`);
      await waitFor(async () => (await zombies()).length === 0, {
        timeoutMs: 5_000,
        intervalMs: 250,
        what: 'no zombie processes in the container',
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${(await zombies()).join(', ')}`);
      });
    });

    it('docker stop: exit 0 within 10 s', async () => {
      const stopped = await timedStop(name);
      expect(stopped.exitCode, await logs(name)).toBe(0);
      expect(stopped.ms).toBeLessThan(STOP_LIMIT_MS);
    });
  });

  it('docker stop during a browser login whose page never answers: exit 0 within 10 s', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const name = containerName('login-stop');
      const config = configFile(
        'login-stop.toml',
        `${ircAccounts(ngircd, [uniqueName('rs')])}
[kosmi.k]
email = "${USER.email}"
password = "${USER.password}"
web_url = "http://127.0.0.1:${port}/"
api_url = "http://127.0.0.1:${port}/"
ws_url = "ws://127.0.0.1:${port}/"
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.n0"
  channel = "#${uniqueName('ls')}"
  [[gateway.inout]]
  account = "kosmi.k"
  channel = "@movienight"
`,
      );
      await dockerOk(['run', '-d', '--name', name, ...runArgs(config, rootOwnedDir('login-stop')), IMAGE]);
      await waitFor(async () => (await logs(name)).includes('chromium started'), {
        timeoutMs: LOGIN_TIMEOUT_MS,
        intervalMs: 500,
        what: 'the browser login to start',
      });
      const stopped = await timedStop(name);
      const output = await logs(name);
      expect(stopped.exitCode, output).toBe(0);
      expect(stopped.ms, output).toBeLessThan(STOP_LIMIT_MS);
    } finally {
      silent.close();
    }
  });

  it('keeps the token cache across docker rm: kosmi-login in one container, token-status in the next', async () => {
    const data = rootOwnedDir('persist');
    const config = configFile(
      'persist.toml',
      `${ircAccounts(ngircd, ['pa'])}
[kosmi.k]
email = "${USER.email}"
password = "${USER.password}"
web_url = "${emulator.webUrl}"
api_url = "${emulator.apiUrl}"
ws_url = "${emulator.wsUrl}"
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.n0"
  channel = "#a"
  [[gateway.inout]]
  account = "kosmi.k"
  channel = "@movienight"
`,
    );
    const first = containerName('login');
    const login = await docker(
      ['run', '--name', first, ...runArgs(config, data), IMAGE, 'kosmi-relay', 'kosmi-login'],
      LOGIN_TIMEOUT_MS,
    );
    expect(login.code, login.stdout + login.stderr).toBe(0);
    expect(emulator.logins.email).toBe(1);
    await dockerOk(['rm', '-v', first]);
    containers.delete(first);
    // The store may hold more than the token cache (relay.db): only ask that the cache is there.
    expect(readdirSync(data)).toContain('kosmi_token_cache.json');
    const status = await docker([
      'run',
      '--rm',
      '--user',
      '1000:1000',
      ...runArgs(config, data),
      IMAGE,
      'kosmi-relay',
      'token-status',
    ]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^kosmi\\.k: email=${USER.email} .*\\(valid\\)$`, 'm'));
  });
});
