import { describe, expect, it } from 'vitest';
import { kosmiRoomId } from '../../src/config/channels.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

/** Issue 2 §2, issue 3 §1, issue 4 §1: account sections and channel forms per protocol. */

const IRC = `[irc.local]\nserver = "127.0.0.1:6667"\nnick = "relay"\n`;
const KOSMI = `[kosmi.main]\n`;
const MATRIX = `[matrix.home]\nhomeserver = "https://matrix.example.org"\nuser_id = "@relay:example.org"\npassword = "pw"\n`;

function parse(text: string, env: Record<string, string> = {}): ReturnType<typeof parseConfig> {
  return parseConfig(text, { env, cwd: '/srv/relay' });
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

/** A two-entry gateway with the IRC account and `account`/`channel` under test. */
function gatewayWith(account: string, channel: string): string {
  return `${IRC}${KOSMI}${MATRIX}
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.local"
  channel = "#chat"
  [[gateway.inout]]
  account = "${account}"
  channel = "${channel}"
`;
}

describe('channel forms per protocol', () => {
  it.each(['#movienight', '#a', '&local', '#with.dots-and_under', '#ünïcode'])(
    'IRC accepts %s',
    (channel) => {
      expect(() => parse(gatewayWith('irc.local', channel).replace('"#chat"', '"#other"'))).not.toThrow();
    },
  );

  it.each(['movienight', '#two words', '#a,#b', '@room', '#'])('IRC rejects "%s"', (channel) => {
    expect(problemsOf(gatewayWith('irc.local', channel))).toEqual([
      `gateway[0].inout[1].channel: "${channel}" is not an IRC channel (expected #name)`,
    ]);
  });

  it.each(['!abcdef:example.org', '#movienight:example.org', '#room:matrix.example.org:8448'])(
    'Matrix accepts %s',
    (channel) => {
      expect(() => parse(gatewayWith('matrix.home', channel))).not.toThrow();
    },
  );

  it.each(['#movienight', '!abcdef', '@user:example.org', 'movienight:example.org'])(
    'Matrix rejects "%s"',
    (channel) => {
      expect(problemsOf(gatewayWith('matrix.home', channel))).toEqual([
        `gateway[0].inout[1].channel: "${channel}" is not a Matrix room (expected !id:server or #alias:server)`,
      ]);
    },
  );

  it.each([
    ['@movienight', '@movienight'],
    ['abc123', 'abc123'],
    ['https://app.kosmi.io/room/@movienight', '@movienight'],
    ['https://app.kosmi.io/room/XYZ12/', 'XYZ12'],
    ['https://app.kosmi.io/room/@movienight?invite=1', '@movienight'],
  ])('Kosmi accepts %s (room id %s)', (channel, roomId) => {
    expect(() => parse(gatewayWith('kosmi.main', channel))).not.toThrow();
    expect(kosmiRoomId(channel)).toBe(roomId);
  });

  it.each(['#movienight', 'https://app.kosmi.io/', 'two words', '@'])('Kosmi rejects "%s"', (channel) => {
    expect(problemsOf(gatewayWith('kosmi.main', channel))).toEqual([
      `gateway[0].inout[1].channel: "${channel}" is not a Kosmi room (expected @room, a room code, or https://app.kosmi.io/room/...)`,
    ]);
  });
});

describe('IRC accounts', () => {
  it('pairs sasl_account and sasl_password', () => {
    expect(problemsOf(`${IRC}sasl_account = "relay"\n`)).toEqual([
      'irc.local.sasl_password: sasl_account and sasl_password go together',
    ]);
    expect(problemsOf(`${IRC}sasl_password = "pw"\n`)).toEqual([
      'irc.local.sasl_account: sasl_account and sasl_password go together',
    ]);
  });

  it('rejects a nick IRC would refuse', () => {
    expect(problemsOf(IRC.replace('"relay"', '"9lives"'))).toEqual(['irc.local.nick: not a valid IRC nick']);
  });
});

describe('Kosmi accounts', () => {
  it('pairs email and password; neither means anonymous', () => {
    expect(problemsOf(`${KOSMI}email = "a@example.org"\n`)).toEqual([
      'kosmi.main.password: set both email and password for an email login, or neither for an anonymous one',
    ]);
    expect(problemsOf(`${KOSMI}password = "pw"\n`)).toEqual([
      'kosmi.main.email: set both email and password for an email login, or neither for an anonymous one',
    ]);
    const anonymous = parse(KOSMI).accounts.get('kosmi.main');
    expect(anonymous?.settings).toMatchObject({
      token_cache: 'kosmi_token_cache.json',
      refresh_before_days: 7,
    });
    expect(anonymous?.settings).not.toHaveProperty('email');
    const withEmail = parse(`${KOSMI}email = "\${KOSMI_EMAIL}"\npassword = "\${KOSMI_PASSWORD}"\n`, {
      KOSMI_EMAIL: 'a@example.org',
      KOSMI_PASSWORD: 'pw',
    });
    expect(withEmail.accounts.get('kosmi.main')?.settings).toMatchObject({
      email: 'a@example.org',
      password: 'pw',
    });
  });

  it('rejects two accounts sharing a token_cache, including the default one', () => {
    expect(
      problemsOf(`[kosmi.a]\ntoken_cache = "shared.json"\n[kosmi.b]\ntoken_cache = "shared.json"\n`),
    ).toEqual(['kosmi.b.token_cache: "shared.json" is also the token_cache of kosmi.a']);
    expect(problemsOf(`[kosmi.a]\n[kosmi.b]\n`)).toEqual([
      'kosmi.b.token_cache: "kosmi_token_cache.json" is also the token_cache of kosmi.a',
    ]);
    expect(() => parse(`[kosmi.a]\n[kosmi.b]\ntoken_cache = "b.json"\n`)).not.toThrow();
  });

  it('rejects a shared token_cache spelled differently', () => {
    const problems = problemsOf(`[kosmi.a]\n[kosmi.b]\ntoken_cache = "./kosmi_token_cache.json"\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^kosmi\.b\.token_cache: .* is also the token_cache of kosmi\.a$/);
    expect(
      problemsOf(`[kosmi.a]\n[kosmi.b]\ntoken_cache = "/srv/relay/data/kosmi_token_cache.json"\n`),
    ).toHaveLength(1);
  });

  it('needs URLs for web_url, api_url and ws_url', () => {
    expect(problemsOf(`${KOSMI}ws_url = "engine.kosmi.io"\n`)[0]).toMatch(/^kosmi\.main\.ws_url: /);
  });
});

describe('Matrix accounts', () => {
  it('needs a password, an access token or both', () => {
    expect(problemsOf(MATRIX.replace('password = "pw"\n', ''))).toEqual([
      'matrix.home.password: set password, access_token, or both',
    ]);
    expect(() => parse(MATRIX.replace('password = "pw"', 'access_token = "tok"'))).not.toThrow();
    expect(() => parse(`${MATRIX}access_token = "tok"\n`)).not.toThrow();
  });

  it('checks user_id and homeserver', () => {
    expect(problemsOf(MATRIX.replace('@relay:example.org', 'relay'))).toEqual([
      'matrix.home.user_id: must look like @user:server',
    ]);
    expect(problemsOf(MATRIX.replace('https://matrix.example.org', 'matrix.example.org'))[0]).toMatch(
      /^matrix\.home\.homeserver: /,
    );
  });
});

describe('per-account overrides', () => {
  it('accepts label, remote_nick_format and queue bounds on every protocol', () => {
    const overrides =
      'label = "L"\nremote_nick_format = "<{NICK}> "\nqueue_max_messages = 10\nqueue_max_age_seconds = 60\n';
    const config = parse(`${IRC}${overrides}${KOSMI}${overrides}${MATRIX}${overrides}`);
    for (const id of ['irc.local', 'kosmi.main', 'matrix.home']) {
      expect(config.accounts.get(id)?.settings).toMatchObject({
        label: 'L',
        remote_nick_format: '<{NICK}> ',
        queue_max_messages: 10,
        queue_max_age_seconds: 60,
      });
    }
  });

  it('rejects non-positive queue bounds with their path', () => {
    expect(problemsOf(`${IRC}queue_max_messages = -1\n`)[0]).toMatch(/^irc\.local\.queue_max_messages: /);
  });
});
