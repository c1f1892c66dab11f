import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 2 §7: Debian's docker-compose validates the compose file, run as a user would on a fresh
 * clone: `cp .env.example .env`, then `docker-compose config`. scripts/test-all.sh installs
 * docker-compose, so this only skips on a machine without it. The image itself is built and run by
 * the container test (test/container), once per test command; these are the fast checks.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
/** What a fresh clone does not have: installed or built things and local state. */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'data', '.env', 'coverage']);
const COMPOSE_TIMEOUT_MS = 30_000;

function hasDockerCompose(): boolean {
  return spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
}

function compose(cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
    cwd,
    encoding: 'utf8',
    timeout: COMPOSE_TIMEOUT_MS,
    // Only what compose needs: no COMPOSE_* or variables of the developer's shell leak in.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const HAS_DOCKER_COMPOSE = hasDockerCompose();

// scripts/test-all.sh installs docker-compose, so in CI its absence is a failure, not a skip.
if (!HAS_DOCKER_COMPOSE && process.env.CI === 'true') {
  it('docker-compose is installed in CI', () => {
    expect.fail(
      'docker-compose is missing: scripts/test-all.sh should have installed it (apt-get install docker-compose)',
    );
  });
}

describe.skipIf(!HAS_DOCKER_COMPOSE)('docker-compose.yml (Debian docker-compose config)', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'relay-compose-'));
    cpSync(REPO, dir, {
      recursive: true,
      filter: (source) => !NOT_IN_A_CLONE.has(path.relative(REPO, source).split(path.sep)[0] ?? ''),
    });
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to run before .env exists (why the README says cp .env.example .env first)', () => {
    expect(existsSync(path.join(dir, '.env'))).toBe(false);
    const result = compose(dir);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('.env');
  });

  it('validates after cp .env.example .env, with the service as issue 2 §7 describes it', () => {
    copyFileSync(path.join(dir, '.env.example'), path.join(dir, '.env'));
    const result = compose(dir);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^services:\n {2}relay:\n/m);
    expect(out.match(/^ {2}\S+:$/gm)).toEqual(['  relay:']); // one service
    expect(out).toMatch(/^ {4}restart: unless-stopped$/m);
    // Issue 10 §1: more than the relay's 10 s shutdown deadline before Docker's SIGKILL.
    expect(out).toMatch(/^ {4}stop_grace_period: 20s$/m);
    expect(out).toMatch(/^ {4}build:\n {6}context: .+$/m);
    expect(out).toContain(`- ${path.join(dir, 'data')}:/app/data:rw`);
    expect(out).toContain(`- ${path.join(dir, 'relay.toml')}:/app/relay.toml:ro`);
    expect(out).toMatch(/^ {6}RELAY_DATA_DIR: \/app\/data$/m);
    // docker-compose 1.x prints env_file merged into environment: .env.example's defaults show it was read.
    expect(out).toMatch(/^ {6}LOG_FORMAT: json$/m);
    expect(out).toMatch(/^ {6}LOG_LEVEL: info$/m);
  });

  it('names env_file .env and keeps RELAY_DATA_DIR when .env sets another one', () => {
    const yml = readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8');
    expect(yml).toMatch(/^ {4}env_file: \.env$/m);
    const example = readFileSync(path.join(dir, '.env.example'), 'utf8');
    writeFileSync(path.join(dir, '.env'), `${example}\nRELAY_DATA_DIR=/elsewhere\n`);
    const result = compose(dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ {6}RELAY_DATA_DIR: \/app\/data$/m);
  });
});

/** The image's contract where it is written (test/container builds and runs it). */
describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+\s/.test(line));
  const runtime = instructions.slice(instructions.map((l) => l.startsWith('FROM ')).lastIndexOf(true));

  it('builds on node:24-bookworm-slim with npm ci only, Debian chromium-headless-shell and tini', () => {
    expect(
      instructions.filter((l) => l.startsWith('FROM ')).every((l) => /^FROM node:24-bookworm-slim\b/.test(l)),
    ).toBe(true);
    expect(instructions.filter((l) => /\bnpm (ci|install)\b/.test(l))).toEqual([
      'RUN npm ci --no-audit --no-fund',
    ]);
    expect(
      runtime.some((l) =>
        /^RUN .*apt-get install -y --no-install-recommends chromium-headless-shell tini\b.*rm -rf \/var\/lib\/apt\/lists/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(
      runtime.some((l) => /^ENV .*CHROMIUM_PATH=\/usr\/lib\/chromium\/chromium-headless-shell\b/.test(l)),
    ).toBe(true);
  });

  it('runs the daemon as node from /app with its data volume, health check and config', () => {
    expect(runtime).toContain('WORKDIR /app');
    expect(runtime.some((l) => /^ENV .*RELAY_DATA_DIR=\/app\/data\b/.test(l))).toBe(true);
    // Small V8 semi-spaces: about 30 MiB less peak RSS (issue 9 §2); bench/scenarios/memory.ts reads it.
    expect(runtime.some((l) => /^ENV .*NODE_OPTIONS="--max-semi-space-size=\d+"/.test(l))).toBe(true);
    expect(runtime).toContain('VOLUME /app/data');
    // Root only for the entrypoint, which hands ./data to node and drops to uid 1000 (setpriv).
    expect(runtime.some((l) => l.startsWith('USER '))).toBe(false);
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]');
    const entrypoint = readFileSync(path.join(REPO, 'scripts/docker-entrypoint.sh'), 'utf8');
    expect(entrypoint).toContain('exec setpriv --reuid=node --regid=node --init-groups -- "$@"');
    expect(runtime.at(-1)).toBe('CMD ["node", "dist/main.js", "--config", "/app/relay.toml"]');
    const health = runtime.find((l) => l.startsWith('HEALTHCHECK '));
    expect(health).toMatch(/CMD \["node", "-e", ".*http:\/\/127\.0\.0\.1:9090\/healthz/);
    // The health check only gets an answer when the example config listens on that port.
    expect(readFileSync(path.join(REPO, 'relay.toml'), 'utf8')).toMatch(/^http_listen = "0\.0\.0\.0:9090"$/m);
  });

  it('puts kosmi-relay on the PATH, pointing at the package bin, which has a shebang', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin['kosmi-relay']).toBe('dist/main.js');
    expect(runtime.some((l) => l.includes('ln -s /app/dist/main.js /usr/local/bin/kosmi-relay'))).toBe(true);
    expect(readFileSync(path.join(REPO, 'src/main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(
      true,
    );
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.env', 'data', 'node_modules', '.git']) expect(ignored).toContain(entry);
  });
});
