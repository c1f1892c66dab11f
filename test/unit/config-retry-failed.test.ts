import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { AccountConfig } from '../../src/config/schema.js';

/** Issue 7 §3: one key, one unit, one behaviour for a failed account; the old keys for one release. */

const IRC = `[irc.libera]\nserver = "127.0.0.1:6667"\nnick = "relay"\n`;
const KOSMI = `[kosmi.main]\n`;
const MATRIX = `[matrix.home]\nhomeserver = "https://matrix.example.org"\nuser_id = "@relay:example.org"\npassword = "pw"\n`;

const parse = (text: string): ReturnType<typeof parseConfig> =>
  parseConfig(text, { env: {}, cwd: '/srv/relay' });

function retryOf(text: string, id: string): number {
  const account = parse(text).accounts.get(id) as AccountConfig;
  return account.settings.retry_failed_seconds;
}

function problemsOf(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('retry_failed_seconds', () => {
  it('defaults to 300 s in every protocol and is accepted in every account section', () => {
    const config = parse(`${IRC}${KOSMI}${MATRIX}`);
    for (const id of ['irc.libera', 'kosmi.main', 'matrix.home'])
      expect(config.accounts.get(id)?.settings.retry_failed_seconds).toBe(300);
    expect(config.warnings).toEqual([]);
    expect(retryOf(`${IRC}retry_failed_seconds = 30\n`, 'irc.libera')).toBe(30);
    expect(retryOf(`${KOSMI}retry_failed_seconds = 45\n`, 'kosmi.main')).toBe(45);
    expect(retryOf(`${MATRIX}retry_failed_seconds = 0.5\n`, 'matrix.home')).toBe(0.5);
  });

  it('must be positive', () => {
    expect(problemsOf(`${IRC}retry_failed_seconds = 0\n`)).toEqual([
      'irc.libera.retry_failed_seconds: Number must be greater than 0',
    ]);
  });

  it.each([
    ['irc.libera', IRC, 'fatal_retry_seconds = 600', 600, 'retry_failed_seconds (seconds)'],
    [
      'kosmi.main',
      KOSMI,
      'auth_retry_minutes = 15',
      900,
      'retry_failed_seconds (seconds: auth_retry_minutes = 15 is 900)',
    ],
    ['matrix.home', MATRIX, 'failed_retry_seconds = 120', 120, 'retry_failed_seconds (seconds)'],
  ])(
    '%s: the old key (%s) maps onto it, in seconds, with one warning',
    (id, section, line, seconds, replacement) => {
      const config = parse(`${section}${line}\n`);
      expect(config.accounts.get(id)?.settings.retry_failed_seconds).toBe(seconds);
      const oldKey = line.split(' ')[0] ?? '';
      expect(config.warnings).toEqual([
        {
          path: `${id}.${oldKey}`,
          replacement,
          message: `${id}.${oldKey} is deprecated: use ${replacement}`,
        },
      ]);
      // The old key does not survive into the settings the adapters read.
      expect(Object.keys(config.accounts.get(id)?.settings ?? {})).not.toContain(oldKey);
    },
  );

  it('converts Kosmi minutes, fractions included', () => {
    expect(retryOf(`${KOSMI}auth_retry_minutes = 0.5\n`, 'kosmi.main')).toBe(30);
  });

  it('warns once per key, naming each account', () => {
    const config = parse(
      `${IRC}fatal_retry_seconds = 60\n[irc.other]\nserver = "h"\nnick = "x"\nfatal_retry_seconds = 90\n${MATRIX}failed_retry_seconds = 10\n`,
    );
    expect(config.warnings.map((w) => w.path)).toEqual([
      'irc.libera.fatal_retry_seconds',
      'irc.other.fatal_retry_seconds',
      'matrix.home.failed_retry_seconds',
    ]);
  });

  it.each([
    [IRC, 'fatal_retry_seconds = 60', 'irc.libera'],
    [KOSMI, 'auth_retry_minutes = 1', 'kosmi.main'],
    [MATRIX, 'failed_retry_seconds = 60', 'matrix.home'],
  ])('setting the old and the new key is an error naming both paths (%#)', (section, line, id) => {
    const oldKey = line.split(' ')[0] ?? '';
    const problems = problemsOf(`${section}${line}\nretry_failed_seconds = 60\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${id}.${oldKey}:`);
    expect(problems[0]).toContain(`${id}.retry_failed_seconds`);
  });

  it('an old key with a bad value is an error at the old path', () => {
    expect(problemsOf(`${KOSMI}auth_retry_minutes = "soon"\n`)).toEqual([
      'kosmi.main.auth_retry_minutes: expected a positive number of minutes',
    ]);
  });

  it('an old key in the wrong protocol stays an unknown key', () => {
    expect(problemsOf(`${IRC}auth_retry_minutes = 5\n`)).toEqual([
      'irc.libera.auth_retry_minutes: unknown key',
    ]);
  });
});
