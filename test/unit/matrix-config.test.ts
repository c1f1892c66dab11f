import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MATRIX_DEFAULTS, matrixAccountSchema } from '../../src/config/matrix.js';

const base = { homeserver: 'https://matrix.example.org', user_id: '@relay:example.org' };

describe('[matrix.NAME] config', () => {
  it('fills every default', () => {
    expect(matrixAccountSchema.parse({ ...base, password: 'pw' })).toEqual({
      ...base,
      password: 'pw',
      ...MATRIX_DEFAULTS,
      retry_failed_seconds: 300, // common to every account (config/common.ts)
      reply_style: 'mention', // common to every account
    });
    expect(MATRIX_DEFAULTS).toMatchObject({
      html: true,
      encryption: false,
      edits: 'mark',
      edit_window_minutes: 15,
      backlog_max_age_seconds: 900,
    });
  });

  it('accepts the three start modes and refuses none', () => {
    expect(matrixAccountSchema.safeParse({ ...base, password: 'pw' }).success).toBe(true);
    expect(matrixAccountSchema.safeParse({ ...base, access_token: 'syt_x' }).success).toBe(true);
    expect(matrixAccountSchema.safeParse({ ...base, password: 'pw', access_token: 'syt_x' }).success).toBe(
      true,
    );
    expect(matrixAccountSchema.safeParse(base).success).toBe(false);
  });

  it('names the TOML path of a problem', () => {
    const toml = (extra: string): string => `
[matrix.home]
homeserver = "https://matrix.example.org/_matrix/client"
user_id = "@relay:example.org"
password = "pw"
${extra}
[irc.local]
server = "127.0.0.1:6667"
nick = "relay"
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "matrix.home"
  channel = "#room:example.org"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#room"
`;
    expect(() => parseConfig(toml('edits = "drop"'), { env: {} })).toThrow(
      /matrix\.home\.homeserver: give the base URL without \/_matrix/,
    );
    expect(() => parseConfig(toml('edits = "keep"'), { env: {} })).toThrow(/matrix\.home\.edits/);
    expect(() => parseConfig(toml('encrypton = true'), { env: {} })).toThrow(
      /matrix\.home\.encrypton: unknown key/,
    );
  });
});
