import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

/** Issue 2 §2: every validation error names its TOML path; unknown keys are errors. */

const ACCOUNTS = `
[irc.libera]
server = "irc.libera.chat:6697"
tls = true
nick = "kosmirelay"

[irc.local]
server = "127.0.0.1:6667"
nick = "relay"
`;

function problemsOf(text: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseConfig(text, { env, cwd: '/tmp' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('config errors name their TOML path', () => {
  it('names the gateway entry and the known accounts when an account does not exist', () => {
    const problems = problemsOf(`${ACCOUNTS}
[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#movienight"
  [[gateway.inout]]
  account = "irc.libra"
  channel = "#movienight"
`);
    expect(problems).toEqual([
      'gateway[0].inout[1].account: no account "irc.libra" (accounts: irc.libera, irc.local)',
    ]);
  });

  it('says "none" when no account is configured', () => {
    const problems = problemsOf(`
[[gateway]]
name = "g"
  [[gateway.in]]
  account = "irc.x"
  channel = "#a"
`);
    expect(problems[0]).toBe('gateway[0].in[0].account: no account "irc.x" (accounts: none)');
  });

  it('rejects unknown keys in every section, with their path', () => {
    const problems = problemsOf(`
[general]
remote_nick_fromat = "x"

[irc.libera]
server = "irc.libera.chat:6697"
nick = "kosmirelay"
sasl_acount = "kosmirelay"

[[gateway]]
name = "g"
enable = false
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#a"
  chanel = "#b"
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'general.remote_nick_fromat: unknown key',
        'irc.libera.sasl_acount: unknown key',
        'gateway[0].enable: unknown key',
        'gateway[0].inout[0].chanel: unknown key',
      ]),
    );
  });

  it('rejects an unknown top-level section and an unknown protocol', () => {
    const problems = problemsOf(`
[generl]
log_level = "info"

[slack.work]
token = "x"
`);
    expect(problems).toEqual(expect.arrayContaining(['generl: unknown key', 'slack: unknown key']));
  });

  it('names a missing required key and a wrong type', () => {
    const problems = problemsOf(`
[irc.libera]
nick = "kosmirelay"
tls = "yes"
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'irc.libera.server: is required',
        'irc.libera.tls: expected boolean, got string',
      ]),
    );
  });

  it('names a bad value inside [general]', () => {
    expect(problemsOf(`[general]\nhttp_listen = "9090"\n`)).toEqual([
      'general.http_listen: must be "host:port"',
    ]);
    expect(problemsOf(`[general]\nlog_level = "loud"\n`)[0]).toMatch(/^general\.log_level: /);
    expect(problemsOf(`[general]\nqueue_max_messages = 0\n`)[0]).toMatch(/^general\.queue_max_messages: /);
    expect(problemsOf(`[general]\nqueue_max_age_seconds = 1.5\n`)[0]).toMatch(
      /^general\.queue_max_age_seconds: /,
    );
  });

  it('names a bad regex in an ignore list by its index', () => {
    const problems = problemsOf(`
[irc.libera]
server = "irc.libera.chat:6697"
nick = "kosmirelay"
ignore_nicks = ["^ok$", "(unclosed"]
`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^irc\.libera\.ignore_nicks\[1\]: not a valid regular expression/);
  });

  it('reports every problem at once, one per line', () => {
    const problems = problemsOf(`${ACCOUNTS}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.nope"
  channel = "#a"
  [[gateway.out]]
  account = "irc.local"
  channel = "no-hash"
`);
    expect(problems).toEqual([
      'gateway[0].inout[0].account: no account "irc.nope" (accounts: irc.libera, irc.local)',
      'gateway[0].out[0].channel: "no-hash" is not an IRC channel (expected #name)',
    ]);
  });

  it('refuses control characters in a channel name, which would reach JOIN and PRIVMSG lines', () => {
    const problems = problemsOf(`${ACCOUNTS}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#a\\u0000b"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#c\\r\\nQUIT"
`);
    expect(problems).toEqual([
      'gateway[0].inout[0].channel: "#a\\u0000b" is not an IRC channel (expected #name)',
      'gateway[0].inout[1].channel: "#c\\r\\nQUIT" is not an IRC channel (expected #name)',
    ]);
  });

  it('refuses NUL, CR and LF in IRC values that go onto the wire as they are', () => {
    const problems =
      problemsOf(`${ACCOUNTS.replace('nick = "relay"', 'nick = "relay"\nrealname = "x\\r\\nQUIT :bye"\nnickserv_password = "a\\u0000b"')}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#a"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#a"
`);
    expect(problems).toEqual([
      'irc.local.realname: must not contain NUL, CR or LF (they would end the IRC line)',
      'irc.local.nickserv_password: must not contain NUL, CR or LF (they would end the IRC line)',
    ]);
  });

  it('exposes the problems as data too', () => {
    try {
      parseConfig(`[general]\nbogus = 1\n`, { env: {} });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([{ path: 'general.bogus', reason: 'unknown key' }]);
    }
  });

  it('gives the line of a TOML syntax error', () => {
    const problems = problemsOf(`[general]\nremote_nick_format = "unterminated\n`);
    expect(problems[0]).toMatch(/^TOML syntax error at line 2, column \d+/);
  });

  it('rejects account names that cannot be referenced from a gateway', () => {
    const problems = problemsOf(`
[irc."two words"]
server = "127.0.0.1:6667"
nick = "relay"
`);
    expect(problems).toEqual(['irc.two words: account names use letters, digits, "_" and "-"']);
  });
});

describe('gateways', () => {
  it('rejects two gateways with the same name', () => {
    const problems = problemsOf(`${ACCOUNTS}
[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#a"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#a"

[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#b"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#b"
`);
    expect(problems).toEqual(['gateway[1].name: duplicate gateway name "movienight"']);
  });

  it('rejects the same channel listed twice in one gateway, whatever the direction', () => {
    const problems = problemsOf(`${ACCOUNTS}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#a"
  [[gateway.out]]
  account = "irc.libera"
  channel = "#a"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#a"
`);
    expect(problems).toEqual(['gateway[0].out[0]: irc.libera #a is listed twice in this gateway']);
  });

  it('needs a name and at least two entries in an enabled gateway', () => {
    expect(
      problemsOf(
        `${ACCOUNTS}\n[[gateway]]\n  [[gateway.inout]]\n  account = "irc.local"\n  channel = "#a"\n`,
      ),
    ).toEqual(['gateway[0].name: is required']);
    expect(
      problemsOf(
        `${ACCOUNTS}\n[[gateway]]\nname = "g"\n  [[gateway.inout]]\n  account = "irc.local"\n  channel = "#a"\n`,
      ),
    ).toEqual(['gateway[0]: a gateway needs at least two entries to relay anything']);
  });

  it('keeps in, out and inout entries with their direction', () => {
    const config = parseConfig(
      `${ACCOUNTS}
[[gateway]]
name = "announce"
  [[gateway.in]]
  account = "irc.libera"
  channel = "#news"
  [[gateway.out]]
  account = "irc.local"
  channel = "#news-mirror"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#chat"
`,
      { env: {} },
    );
    expect(config.gateways).toEqual([
      {
        name: 'announce',
        endpoints: expect.arrayContaining([
          { account: 'irc.libera', channel: '#news', direction: 'in' },
          { account: 'irc.local', channel: '#news-mirror', direction: 'out' },
          { account: 'irc.local', channel: '#chat', direction: 'inout' },
        ]) as unknown,
      },
    ]);
    expect(config.gateways[0]?.endpoints).toHaveLength(3);
  });

  it('validates a disabled gateway but does not run it', () => {
    const text = `${ACCOUNTS}
[[gateway]]
name = "off"
enabled = false
  [[gateway.inout]]
  account = "irc.local"
  channel = "#a"
`;
    expect(parseConfig(text, { env: {} }).gateways).toEqual([]);
    expect(problemsOf(text.replace('"irc.local"', '"irc.gone"'))).toEqual([
      'gateway[0].inout[0].account: no account "irc.gone" (accounts: irc.libera, irc.local)',
    ]);
  });

  it('accepts the example of issue 2 §2 with its defaults filled in', () => {
    const config = parseConfig(
      `
[general]
remote_nick_format = "[{PROTOCOL}] <{NICK}> "

[irc.libera]
server = "irc.libera.chat:6697"
tls = true
nick = "kosmirelay"
sasl_account = "kosmirelay"
sasl_password = "\${IRC_SASL_PASSWORD}"

[irc.local]
server = "127.0.0.1:6667"
nick = "relay"

[[gateway]]
name = "movienight"
  [[gateway.inout]]
  account = "irc.libera"
  channel = "#movienight"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#movienight"
`,
      { env: { IRC_SASL_PASSWORD: 'hunter2' }, cwd: '/srv/relay' },
    );
    expect(config.general).toMatchObject({
      remote_nick_format: '[{PROTOCOL}] <{NICK}> ',
      queue_max_messages: 1000,
      queue_max_age_seconds: 900,
      data_dir: '/srv/relay/data',
    });
    expect([...config.accounts.keys()]).toEqual(['irc.libera', 'irc.local']);
    const libera = config.accounts.get('irc.libera');
    expect(libera?.protocol).toBe('irc');
    expect(libera?.settings).toMatchObject({
      tls: true,
      tls_verify: true,
      sasl_password: 'hunter2',
      ignore_nicks: [],
    });
    expect(config.accounts.get('irc.local')?.settings).toMatchObject({ tls: false, realname: 'kosmi-relay' });
    expect(config.gateways).toHaveLength(1);
  });
});
