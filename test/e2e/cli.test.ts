import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/daemon.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VALID = `[general]
data_dir = "./data"
[irc.libera]
server = "irc.libera.chat:6697"
tls = true
nick = "kosmirelay"
sasl_account = "kosmirelay"
sasl_password = "\${IRC_SASL_PASSWORD}"
[irc.local]
server = "127.0.0.1:6667"
nick = "relay"
password = "server-pass-5150"
[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#movienight"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#movienight"
`;

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('kosmi-relay CLI', () => {
  it('check-config lists accounts and gateways, never a secret, and exits 0', async () => {
    const file = write('valid.toml', VALID);
    const result = await runCli(['check-config', '--config', file], {
      cwd: dir,
      env: { IRC_SASL_PASSWORD: 'sasl-secret-8086' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('irc.libera: irc.libera.chat:6697 as kosmirelay (tls)');
    expect(result.stdout).toContain('inout irc.local #movienight');
    expect(result.stdout + result.stderr).not.toContain('sasl-secret-8086');
    expect(result.stdout + result.stderr).not.toContain('server-pass-5150');
  });

  it('reads the config from $RELAY_CONFIG when --config is absent', async () => {
    const file = write('from-env.toml', VALID);
    const result = await runCli(['check-config'], {
      cwd: dir,
      env: { RELAY_CONFIG: file, IRC_SASL_PASSWORD: 'x1234' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`config OK: ${file}`);
  });

  it('reads ./relay.toml by default, with ${VAR} from a .env file next to it', async () => {
    const sub = mkdtempSync(path.join(dir, 'cwd-'));
    writeFileSync(path.join(sub, 'relay.toml'), VALID);
    writeFileSync(path.join(sub, '.env'), 'IRC_SASL_PASSWORD=from-dotenv-42\n');
    const result = await runCli(['check-config'], { cwd: sub });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(path.join(sub, 'relay.toml'));
  });

  it('exits 2 with the TOML path of the problem', async () => {
    const env = { IRC_SASL_PASSWORD: 'x1234' };
    const badAccount = write(
      'bad-account.toml',
      VALID.replace('account = "irc.local"', 'account = "irc.libra"'),
    );
    const first = await runCli(['check-config', '--config', badAccount], { cwd: dir, env });
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(
      'gateway[0].inout[1].account: no account "irc.libra" (accounts: irc.libera, irc.local)',
    );
    const typo = write('typo.toml', VALID.replace('nick = "relay"', 'nick = "relay"\nnik = "typo"'));
    const second = await runCli(['check-config', '--config', typo], { cwd: dir, env });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('irc.local.nik: unknown key');
  });

  it('exits 2 naming the key and the variable when an environment variable is missing', async () => {
    const file = write('noenv.toml', VALID);
    const result = await runCli(['check-config', '--config', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'irc.libera.sasl_password: environment variable IRC_SASL_PASSWORD is not set',
    );
  });

  it('exits 2 on an unknown command or a missing config file', async () => {
    expect((await runCli(['frobnicate'], { cwd: dir })).code).toBe(2);
    const missing = await runCli(['check-config', '--config', path.join(dir, 'nope.toml')], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read config file');
  });

  it('exits 2 on a LOG_LEVEL that is not a level', async () => {
    const file = write('level.toml', VALID);
    const result = await runCli(['--config', file], {
      cwd: dir,
      env: { IRC_SASL_PASSWORD: 'x1234', LOG_LEVEL: 'verbose' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('LOG_LEVEL: "verbose" is not a log level');
  });

  it('exits 1 with a clear error when the data dir cannot be used', async () => {
    write('a-file', 'not a directory');
    const file = write(
      'baddata.toml',
      VALID.replace('data_dir = "./data"', `data_dir = "${path.join(dir, 'a-file')}"`),
    );
    const result = await runCli(['--config', file], { cwd: dir, env: { IRC_SASL_PASSWORD: 'x1234' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('is not usable');
  });
});
