import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { afterEach, describe, expect, it } from 'vitest';
import { runImportMatterbridge } from '../../src/cli/import-matterbridge.js';
import { ImportContext } from '../../src/cli/import-matterbridge-context.js';
import { convertMatterbridge, ImportError } from '../../src/cli/import-matterbridge-convert.js';
import {
  convertGoRegex,
  convertIgnoreList,
  parseGoDurationMs,
} from '../../src/cli/import-matterbridge-format.js';
import { renderEnv } from '../../src/cli/import-matterbridge-output.js';

/** Issue 10 §3: error cases of import-matterbridge, and its value conversions. */

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-import-'));
  tempDirs.push(dir);
  return dir;
}

function run(dir: string, args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runImportMatterbridge(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: dir });
  return { code, out, err };
}

const MINIMAL = `[irc.local]\nServer="127.0.0.1:6667"\nNick="relay"\nPassword="pw"\n`;

describe('import-matterbridge errors', () => {
  it('names a missing input file, exit code 2, nothing written', () => {
    const dir = tempDir();
    const { code, err } = run(dir, ['nope.toml']);
    expect(code).toBe(2);
    expect(err).toEqual([`cannot read ${path.join(dir, 'nope.toml')}: ENOENT`]);
    expect(existsSync(path.join(dir, 'relay.toml'))).toBe(false);
  });

  it('reports a TOML syntax error with its line', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'mb.toml'), '[irc.libera]\nServer="irc.libera.chat:6697"\nNick=\n');
    const { code, err } = run(dir, ['mb.toml']);
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^cannot import .*mb\.toml: TOML syntax error at line 3, column \d+: /);
  });

  it('refuses a file without IRC, Matrix or Kosmi accounts, naming what it found', () => {
    expect(() => convertMatterbridge('[slack.hobby]\nToken="x"\n[general]\n')).toThrow(
      new ImportError('no [irc.*], [matrix.*] or [kosmi.*] account could be converted (found: slack.hobby)'),
    );
    expect(() => convertMatterbridge('')).toThrow(ImportError);
  });

  it('never overwrites relay.toml or the env file without --force; --force rewrites the env file 0600', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'mb.toml'), MINIMAL);
    writeFileSync(path.join(dir, '.env.imported'), 'OLD=1\n', { mode: 0o644 });
    const refused = run(dir, ['mb.toml']);
    expect(refused.code).toBe(2);
    expect(refused.err).toEqual([`not overwriting ${path.join(dir, '.env.imported')} (use --force)`]);
    expect(existsSync(path.join(dir, 'relay.toml'))).toBe(false);

    expect(run(dir, ['mb.toml', '--force']).code).toBe(0);
    expect(statSync(path.join(dir, '.env.imported')).mode & 0o777).toBe(0o600);
    expect(dotenv.parse(readFileSync(path.join(dir, '.env.imported')))).toEqual({ IRC_LOCAL_PASSWORD: 'pw' });
  });

  it('writes the files but exits 1 and names the problem when the result does not validate', () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'mb.toml'),
      `${MINIMAL}[matrix.home]\nServer="https://matrix.example.org/_matrix"\nLogin="@relay:example.org"\nPassword="x"\n`,
    );
    const { code, err } = run(dir, ['mb.toml', '-o', 'relay.toml']);
    expect(code).toBe(1);
    expect(err).toContain(
      '  matrix.home.homeserver: give the base URL without /_matrix (e.g. https://matrix.example.org)',
    );
    expect(existsSync(path.join(dir, 'relay.toml'))).toBe(true);
  });
});

describe('import-matterbridge conversions', () => {
  it('keeps the general default of matterbridge: no RemoteNickFormat anywhere relays no nick', () => {
    const result = convertMatterbridge(MINIMAL);
    expect(result.config.general).toEqual({ remote_nick_format: '' });
    expect(result.notes.map((n) => n.path)).toContain('general.RemoteNickFormat');
  });

  it('reads keys case-insensitively like viper, and reports a NickServ target other than NickServ', () => {
    const result = convertMatterbridge(
      '[IRC.quakenet]\nserver="irc.quakenet.org:6667"\nNICK="relay"\nNickServNick="Q@CServe.quakenet.org"\nNickServPassword="pw"\n',
    );
    expect(result.config.irc).toEqual({
      quakenet: { server: 'irc.quakenet.org:6667', nick: 'relay', realname: 'relay' },
    });
    expect(result.skipped).toContainEqual({
      path: 'IRC.quakenet.NickServNick',
      reason: 'not supported: the relay identifies to NickServ only, not to "Q@CServe.quakenet.org"',
    });
    expect(result.secrets.size).toBe(0);
  });

  it('escapes "${" in carried strings so the loader does not read it as a variable', () => {
    const result = convertMatterbridge(`${MINIMAL}RemoteNickFormat="\${NICK} {NICK}: "\n`);
    expect((result.config.irc as Record<string, Record<string, unknown>>).local?.remote_nick_format).toBe(
      '$${NICK} {NICK}: ',
    );
  });

  it('converts Go regexes where JavaScript has an equivalent and refuses the rest', () => {
    const ctx = new ImportContext();
    expect(convertGoRegex('(?P<w>\\w+)\\z', 'p', ctx)).toBe('(?<w>\\w+)$');
    expect(convertGoRegex('(?i)spam', 'p', ctx)).toBeUndefined();
    expect(convertGoRegex('[[:alpha:]]', 'p', ctx)).toBeUndefined();
    expect(ctx.skipped.map((s) => s.reason)).toEqual([
      '"(?i)spam" uses Go regexp syntax with no JavaScript equivalent: inline flags like (?i)',
      '"[[:alpha:]]" uses Go regexp syntax with no JavaScript equivalent: POSIX classes like [[:alpha:]]',
    ]);
    expect(convertIgnoreList('  a  b\tc ', 'p', ctx)).toEqual(['a', 'b', 'c']);
  });

  it('parses Go durations', () => {
    expect(parseGoDurationMs('1m')).toBe(60_000);
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('500ms')).toBe(500);
    expect(parseGoDurationMs('60')).toBeUndefined();
  });

  it('writes env values that dotenv reads back unchanged, and refuses those it cannot', () => {
    const secrets = new Map([
      ['A', 'plain'],
      ['B', 'has "double" #hash \\n and $x'],
      ['C', "it's"],
      ['D', "both ' and `"],
      ['E', 'two\nlines'],
    ]);
    const { text, unwritable } = renderEnv(secrets);
    expect(dotenv.parse(text)).toEqual({ A: 'plain', B: 'has "double" #hash \\n and $x', C: "it's" });
    expect(unwritable).toEqual(['D', 'E']);
  });
});
