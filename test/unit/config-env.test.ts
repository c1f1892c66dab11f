import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, parseConfig, resolveConfigPath } from '../../src/config/load.js';

/** Issue 2 §1-2: ${VAR} from the environment and .env files; data_dir and config path precedence. */

type Env = Record<string, string | undefined>;

const SASL_ACCOUNT = `
[irc.libera]
server = "irc.libera.chat:6697"
tls = true
nick = "kosmirelay"
sasl_account = "kosmirelay"
sasl_password = "\${IRC_SASL_PASSWORD}"
`;

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-config-'));
  tempDirs.push(dir);
  return dir;
}

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function saslPassword(config: ReturnType<typeof parseConfig>): unknown {
  const account = config.accounts.get('irc.libera');
  return account?.protocol === 'irc' ? account.settings.sasl_password : undefined;
}

describe('${VAR} substitution', () => {
  it('replaces variables in any string, also inside longer strings and in gateways', () => {
    const config = parseConfig(
      `${SASL_ACCOUNT}
realname = "relay for \${ROOM}"

[irc.local]
server = "127.0.0.1:\${PORT}"
nick = "relay"

[[gateway]]
name = "\${ROOM}"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#\${ROOM}"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#\${ROOM}"
`,
      { env: { IRC_SASL_PASSWORD: 's3cret', ROOM: 'movienight', PORT: '6667' } },
    );
    expect(saslPassword(config)).toBe('s3cret');
    expect(config.accounts.get('irc.libera')?.settings).toMatchObject({ realname: 'relay for movienight' });
    expect(config.accounts.get('irc.local')?.settings).toMatchObject({ server: '127.0.0.1:6667' });
    expect(config.gateways[0]?.name).toBe('movienight');
    expect(config.gateways[0]?.endpoints.map((e) => e.channel)).toEqual(['#movienight', '#movienight']);
  });

  it('names the key and the variable when a variable is missing', () => {
    const error = errorOf(() => parseConfig(SASL_ACCOUNT, { env: {} }));
    expect(error.message).toBe(
      'irc.libera.sasl_password: environment variable IRC_SASL_PASSWORD is not set (add it to .env or the environment)',
    );
  });

  it('names array paths of missing variables and reports all of them', () => {
    const error = errorOf(() =>
      parseConfig(
        `[irc.a]\nserver = "\${A_SERVER}"\nnick = "a"\nignore_nicks = ["ok", "\${IGNORED}"]\n[[gateway]]\nname = "g"\n  [[gateway.inout]]\n  account = "irc.a"\n  channel = "\${CHAN}"\n`,
        { env: {} },
      ),
    );
    expect(error.problems.map((p) => p.path)).toEqual([
      'irc.a.server',
      'irc.a.ignore_nicks[1]',
      'gateway[0].inout[0].channel',
    ]);
    expect(error.message).toContain('gateway[0].inout[0].channel: environment variable CHAN is not set');
  });

  it('keeps $${VAR} as a literal ${VAR} and leaves other dollars alone', () => {
    const config = parseConfig(`[general]\nremote_nick_format = "$\${NICK} $5 {NICK}: "\n`, { env: {} });
    expect(config.general.remote_nick_format).toBe('${NICK} $5 {NICK}: ');
  });

  it('never substitutes inside keys or non-string values', () => {
    const config = parseConfig(`[general]\nqueue_max_messages = 5\n`, { env: {} });
    expect(config.general.queue_max_messages).toBe(5);
  });
});

describe('.env files', () => {
  it('loads .env from the working directory and from the config file folder; the real environment wins', () => {
    const cwd = tempDir();
    const configDir = tempDir();
    writeFileSync(path.join(cwd, '.env'), 'IRC_SASL_PASSWORD=from-cwd\nEXTRA_NICK=fromcwd\n');
    writeFileSync(
      path.join(configDir, '.env'),
      'IRC_SASL_PASSWORD=from-config-dir\nLOCAL_NICK=fromconfigdir\nEXTRA_NICK=fromconfig\n',
    );
    const configPath = path.join(configDir, 'relay.toml');
    writeFileSync(
      configPath,
      `${SASL_ACCOUNT}\n[irc.local]\nserver = "127.0.0.1:6667"\nnick = "\${LOCAL_NICK}"\nrealname = "\${EXTRA_NICK}"\n`,
    );

    // .env in the working directory is read first, and dotenv never overrides a value already set.
    const fromFiles = loadConfig(configPath, { env: {}, cwd });
    expect(saslPassword(fromFiles)).toBe('from-cwd');
    expect(fromFiles.accounts.get('irc.local')?.settings).toMatchObject({
      nick: 'fromconfigdir',
      realname: 'fromcwd',
    });

    const env: Env = { IRC_SASL_PASSWORD: 'from-env' };
    const real = loadConfig(configPath, { env, cwd });
    expect(saslPassword(real)).toBe('from-env');
    // The .env values are loaded into the environment given (LOG_LEVEL, CHROMIUM_PATH, ... too).
    expect(env.LOCAL_NICK).toBe('fromconfigdir');
  });

  it('works with only a .env next to the config file', () => {
    const cwd = tempDir();
    const configDir = tempDir();
    writeFileSync(path.join(configDir, '.env'), 'IRC_SASL_PASSWORD=beside-config\n');
    writeFileSync(path.join(configDir, 'relay.toml'), SASL_ACCOUNT);
    expect(saslPassword(loadConfig(path.join(configDir, 'relay.toml'), { env: {}, cwd }))).toBe(
      'beside-config',
    );
  });

  it('still names the key and variable when no .env provides it', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'relay.toml'), SASL_ACCOUNT);
    const error = errorOf(() => loadConfig(path.join(dir, 'relay.toml'), { env: {}, cwd: dir }));
    expect(error.message).toMatch(
      /^irc\.libera\.sasl_password: environment variable IRC_SASL_PASSWORD is not set/,
    );
  });

  it('gives a config error for a config file that cannot be read', () => {
    const dir = tempDir();
    const error = errorOf(() => loadConfig(path.join(dir, 'missing.toml'), { env: {}, cwd: dir }));
    expect(error.message).toContain('cannot read config file');
    expect(error.message).toContain('ENOENT');
  });
});

describe('data_dir precedence', () => {
  const cwd = '/srv/relay';
  const dataDir = (general: string, env: Env): string =>
    parseConfig(`[general]\n${general}\n`, { env, cwd }).general.data_dir;
  const allVars: Env = { RELAY_DATA_DIR: '/env/relay', MATTERBRIDGE_DATA_DIR: '/env/matterbridge' };

  it('general.data_dir > $RELAY_DATA_DIR > $MATTERBRIDGE_DATA_DIR > ./data', () => {
    expect(dataDir('data_dir = "/etc/relay-data"', allVars)).toBe('/etc/relay-data');
    expect(dataDir('', allVars)).toBe('/env/relay');
    expect(dataDir('', { MATTERBRIDGE_DATA_DIR: '/env/matterbridge' })).toBe('/env/matterbridge');
    expect(dataDir('', {})).toBe('/srv/relay/data');
  });

  it('resolves a relative data_dir against the working directory', () => {
    expect(dataDir('data_dir = "state"', {})).toBe('/srv/relay/state');
    expect(dataDir('', { RELAY_DATA_DIR: 'rel' })).toBe('/srv/relay/rel');
  });

  it('treats an empty variable as unset (a copied .env.example with blank values)', () => {
    expect(dataDir('', { RELAY_DATA_DIR: '', MATTERBRIDGE_DATA_DIR: '/env/matterbridge' })).toBe(
      '/env/matterbridge',
    );
    expect(dataDir('', { RELAY_DATA_DIR: '', MATTERBRIDGE_DATA_DIR: '' })).toBe('/srv/relay/data');
  });

  it('may itself come from a variable', () => {
    expect(dataDir('data_dir = "${STATE}/relay"', { STATE: '/var/lib', RELAY_DATA_DIR: '/ignored' })).toBe(
      '/var/lib/relay',
    );
  });

  it('rejects an empty general.data_dir', () => {
    expect(errorOf(() => dataDir('data_dir = ""', {})).message).toMatch(/^general\.data_dir: /);
  });
});

describe('config file path', () => {
  it('--config > $RELAY_CONFIG > ./relay.toml, relative to the working directory', () => {
    expect(resolveConfigPath('conf/a.toml', { RELAY_CONFIG: '/etc/b.toml' }, '/w')).toBe('/w/conf/a.toml');
    expect(resolveConfigPath(undefined, { RELAY_CONFIG: '/etc/b.toml' }, '/w')).toBe('/etc/b.toml');
    expect(resolveConfigPath(undefined, {}, '/w')).toBe('/w/relay.toml');
    expect(resolveConfigPath(undefined, { RELAY_CONFIG: '' }, '/w')).toBe('/w/relay.toml');
  });

  it('loads a config given by a relative path from another folder', () => {
    const cwd = tempDir();
    mkdirSync(path.join(cwd, 'conf'));
    writeFileSync(path.join(cwd, 'conf', 'relay.toml'), '[general]\nlog_level = "debug"\n');
    const config = loadConfig(resolveConfigPath('conf/relay.toml', {}, cwd), { env: {}, cwd });
    expect(config.general.log_level).toBe('debug');
    expect(config.configPath).toBe(path.join(cwd, 'conf', 'relay.toml'));
    expect(config.general.data_dir).toBe(path.join(cwd, 'data'));
  });
});
