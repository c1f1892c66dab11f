import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 2 §7: no Docker engine runs here, but Debian's docker-compose validates the compose file.
 * Run it as a user would on a fresh clone: `cp .env.example .env`, then `docker-compose config`.
 * scripts/test-all.sh installs docker-compose, so this only skips on a machine without it.
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
    expect.fail('docker-compose is missing: scripts/test-all.sh should have installed it (apt-get install docker-compose)');
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
