import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { runImportMatterbridge } from '../../src/cli/import-matterbridge.js';
import { loadConfig } from '../../src/config/load.js';

/** Issue 10 §3: `kosmi-relay import-matterbridge` on real-world-shaped files. */

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/matterbridge');
const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-import-'));
  tempDirs.push(dir);
  return dir;
}

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly dir: string;
}

function run(args: string[], dir = tempDir()): Run {
  const out: string[] = [];
  const err: string[] = [];
  const code = runImportMatterbridge(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: dir });
  return { code, out, err, dir };
}

/** The real loader, with only the generated env file as environment (no .env in the folder). */
function loadGenerated(dir: string): ReturnType<typeof loadConfig> {
  const env = dotenv.parse(readFileSync(path.join(dir, '.env.imported')));
  return loadConfig(path.join(dir, 'relay.toml'), { env, cwd: dir });
}

type Settings = Record<string, Record<string, unknown>>;
interface Generated {
  readonly irc: Settings;
  readonly matrix: Settings;
  readonly kosmi: Settings;
  readonly gateway: Record<string, unknown>[];
}

/** The generated relay.toml as plain TOML (what a reader of the file sees). */
function generated(dir: string): Generated {
  return parseToml(readFileSync(path.join(dir, 'relay.toml'), 'utf8')) as unknown as Generated;
}

describe('import-matterbridge: matterbridge.toml.sample layout (IRC, Matrix, gateways)', () => {
  const fixture = path.join(FIXTURES, 'matterbridge.toml');

  it('writes a relay.toml that the real loader accepts with the generated env', () => {
    const { code, out, dir } = run([fixture]);
    expect(code).toBe(0);
    expect(out).toContain('the generated config passes check-config');
    const config = loadGenerated(dir);
    expect([...config.accounts.keys()]).toEqual(['irc.libera', 'irc.oftc', 'matrix.neo']);
    expect(config.gateways.map((g) => g.name)).toEqual(['movienight']);
  });

  it('carries IRC settings: server, TLS, SASL from NickServNick/NickServPassword, NickServ, timing', () => {
    const { dir } = run([fixture]);
    const irc = generated(dir).irc;
    expect(irc.libera).toEqual({
      server: 'irc.libera.chat:6697',
      tls: true,
      nick: 'movierelay',
      realname: 'movierelay',
      sasl_account: 'movierelay',
      sasl_password: '${IRC_LIBERA_SASL_PASSWORD}',
      label: 'libera',
      remote_nick_format: '[{PROTOCOL}/{ACCOUNT}] <{NOPINGNICK}> ',
      ignore_nicks: ['ircspammer1', '[bot]'],
      ignore_messages: ['^~~', 'badword'],
      flood_rate: 0.769,
      rejoin_delay_seconds: 10,
      ping_interval_seconds: 60,
    });
    // Without UseSASL, NickServNick = "NickServ" is an IDENTIFY; Password is the server password.
    expect(irc.oftc).toEqual({
      server: 'irc.oftc.net:6667',
      nick: 'movierelay',
      realname: 'movierelay',
      password: '${IRC_OFTC_PASSWORD}',
      nickserv_password: '${IRC_OFTC_NICKSERV_PASSWORD}',
    });
  });

  it('carries Matrix settings and derives user_id from Login and the homeserver', () => {
    const { dir } = run([fixture]);
    expect(generated(dir).matrix.neo).toEqual({
      homeserver: 'https://matrix.org',
      user_id: '@movierelay:matrix.org',
      password: '${MATRIX_NEO_PASSWORD}',
      html: false,
      remote_nick_format: '[{PROTOCOL}] <{NICK}> ',
    });
  });

  it('converts gateways: in + out of one channel is inout, IRC channels lower-cased, enable missing is disabled', () => {
    const { dir } = run([fixture]);
    const gateways = generated(dir).gateway;
    expect(gateways[0]).toEqual({
      name: 'movienight',
      enabled: true,
      inout: [
        { account: 'irc.libera', channel: '#movienight' },
        { account: 'matrix.neo', channel: '#movienight:matrix.org' },
      ],
      out: [{ account: 'irc.oftc', channel: '#movienight-log' }],
    });
    expect(gateways[1]).toMatchObject({ name: 'old', enabled: false });
    expect(gateways.slice(2).map((g) => [g.name, g.enabled])).toEqual([
      ['samechannel1 #testing', false],
      ['samechannel1 #testing2', false],
    ]);
  });

  it('lists what it did not carry, with TOML paths and reasons, on stderr and at the top of the file', () => {
    const { err, dir } = run([fixture]);
    const text = readFileSync(path.join(dir, 'relay.toml'), 'utf8');
    const expected = [
      'irc.libera.ColorNicks: no equivalent: nicks are not coloured',
      'irc.libera.RunCommands: not supported: the relay sends no raw commands after connecting',
      'irc.libera.NickServUsername: not supported: QuakeNet Q AUTH is not implemented; use SASL',
      'irc.libera.MessageLength: behaves differently:',
      'matrix.neo.IgnoreNicks: no equivalent: ignore_nicks exists for IRC accounts only',
      'discord.game: not supported: kosmi-relay bridges IRC, Matrix and Kosmi only',
      'tengo: not supported: no tengo scripts',
      'general.MediaServerUpload: not supported: no media server',
      'general.LogFile: not supported:',
      'gateway[0].in[0].options.key: not supported: the relay cannot join channels with a key (+k)',
      'gateway[0].inout[1]: entry dropped (discord.game): protocol "discord" is not supported',
    ];
    for (const line of expected) {
      expect(err.some((l) => l.startsWith(`not carried over: ${line}`))).toBe(true);
      expect(text).toContain(`#   ${line}`);
    }
    // Settings at an "off" value change nothing and are not listed.
    expect(text).not.toContain('irc.libera.ShowJoinPart');
    const checks = [
      'irc.libera.RemoteNickFormat: {BRIDGE} (the account name, "libera") became {ACCOUNT}',
      'irc.libera.IgnoreNicks: "[bot]" is a regex, so it matches more than that nick',
      'matrix.neo.RemoteNickFormat: {USERID} has no equivalent and was removed',
      'matrix.neo.Login: user_id "@movierelay:matrix.org" is derived',
    ];
    for (const line of checks) expect(err.some((l) => l.startsWith(`check: ${line}`))).toBe(true);
  });

  it('writes the secrets to a 0600 env file and never into relay.toml', () => {
    const { out, dir } = run([fixture]);
    const envFile = path.join(dir, '.env.imported');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(out).toContain(`wrote 4 secrets to ${envFile} (mode 0600): move them into .env`);
    expect(dotenv.parse(readFileSync(envFile))).toEqual({
      IRC_LIBERA_SASL_PASSWORD: 's3cret sasl#pass',
      IRC_OFTC_PASSWORD: 'serverpass',
      IRC_OFTC_NICKSERV_PASSWORD: "ns'pass",
      MATRIX_NEO_PASSWORD: 'matrix pass $1',
    });
    const text = readFileSync(path.join(dir, 'relay.toml'), 'utf8');
    for (const secret of ['s3cret', 'serverpass', "ns'pass", 'matrix pass', 'Yourtokenhere', 'user:pass'])
      expect(text).not.toContain(secret);
  });
});

describe('import-matterbridge: IRC-kosmi-relay config ([kosmi.*] accounts)', () => {
  it('maps RoomURL to the gateway channel and Email/Password to ${VARS}', () => {
    const { code, err, dir } = run(
      [path.join(FIXTURES, 'irc-kosmi-relay.toml'), '-o', 'out/relay.toml'],
      tempDir(),
    );
    expect(code).toBe(0);
    const outDir = path.join(dir, 'out');
    const config = generated(outDir);
    expect(config.kosmi.hyperspaceout).toEqual({
      email: '${KOSMI_HYPERSPACEOUT_EMAIL}',
      password: '${KOSMI_HYPERSPACEOUT_PASSWORD}',
      remote_nick_format: '<{NICK}> ',
    });
    expect(config.irc.zeronode).toMatchObject({ tls: true, tls_verify: false, nick: 'kosmi-relay' });
    expect((config.gateway[0]?.inout as unknown[])[0]).toEqual({
      account: 'kosmi.hyperspaceout',
      channel: 'https://app.kosmi.io/room/@hyperspaceout',
    });
    expect(err).toContain(
      'check: gateway[0].inout[0]: channel "main" replaced by the account\'s RoomURL, the room the fork joined',
    );
    const loaded = loadGenerated(outDir);
    const kosmi = loaded.accounts.get('kosmi.hyperspaceout');
    expect(kosmi?.protocol === 'kosmi' ? kosmi.settings.email : undefined).toBe('relay@example.org');
  });
});
