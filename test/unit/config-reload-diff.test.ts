import { describe, expect, it } from 'vitest';
import { diffConfig, needsNewConnection } from '../../src/config/diff.js';
import { parseConfig } from '../../src/config/load.js';
import { daemonConfig, inoutGateway, type DaemonConfigSpec } from '../helpers/daemon-config.js';

const parse = (spec: DaemonConfigSpec) => parseConfig(daemonConfig(spec), { env: {}, cwd: '/tmp' });

const base: DaemonConfigSpec = {
  accounts: {
    'irc.a': { server: '127.0.0.1:6667', nick: 'ra' },
    'irc.b': { server: '127.0.0.1:6668', nick: 'rb' },
  },
  gateways: [
    inoutGateway('g1', [
      ['irc.a', '#one'],
      ['irc.b', '#one'],
    ]),
  ],
};

describe('diffConfig (SIGHUP reload)', () => {
  it('finds nothing to do in the same file', () => {
    const diff = diffConfig(parse(base), parse(base));
    expect(diff).toEqual({
      added: [],
      removed: [],
      reconnect: [],
      live: [],
      gateways: { added: [], removed: [], changed: [] },
      restartOnly: [],
    });
  });

  it('a new gateway with a new channel is a live change of the accounts in it, not a reconnect', () => {
    const next = parse({
      ...base,
      gateways: [
        ...base.gateways,
        inoutGateway('g2', [
          ['irc.a', '#two'],
          ['irc.b', '#two'],
        ]),
      ],
    });
    const diff = diffConfig(parse(base), next);
    expect(diff.gateways.added).toEqual(['g2']);
    expect(diff.live).toEqual(['irc.a', 'irc.b']);
    expect(diff.reconnect).toEqual([]);
  });

  it('nick formats, labels and queue bounds change nothing on the connection', () => {
    const next = parse({
      ...base,
      general: { remote_nick_format: '<{NICK}@{LABEL}> ', queue_max_messages: 5 },
      accounts: {
        ...base.accounts,
        'irc.b': { ...base.accounts['irc.b'], label: 'B', queue_max_age_seconds: 9 },
      },
    });
    const diff = diffConfig(parse(base), next);
    expect(diff.live).toEqual([]);
    expect(diff.reconnect).toEqual([]);
    expect(diff.added).toEqual([]);
  });

  it('ignore lists are live for IRC; server, nick and flood settings reconnect', () => {
    const next = parse({
      ...base,
      accounts: {
        'irc.a': { ...base.accounts['irc.a'], ignore_nicks: ['^bot'], ignore_messages: ['^!'] },
        'irc.b': { ...base.accounts['irc.b'], nick: 'rb2', flood_rate: 3 },
      },
    });
    const diff = diffConfig(parse(base), next);
    expect(diff.live).toEqual(['irc.a']);
    expect(diff.reconnect).toEqual([{ account: 'irc.b', keys: ['flood_rate', 'nick'] }]);
  });

  it('adds and removes accounts, counting one that leaves every gateway as removed', () => {
    const next = parse({
      accounts: { ...base.accounts, 'irc.c': { server: '127.0.0.1:6669', nick: 'rc' } },
      gateways: [
        inoutGateway('g1', [
          ['irc.a', '#one'],
          ['irc.c', '#one'],
        ]),
      ],
    });
    const diff = diffConfig(parse(base), next);
    expect(diff.added).toEqual(['irc.c']);
    expect(diff.removed).toEqual(['irc.b']);
    expect(diff.gateways.changed).toEqual(['g1']);
  });

  it('says which [general] keys only a restart applies', () => {
    const next = parse({ ...base, general: { data_dir: './elsewhere', log_level: 'warn' } });
    expect(diffConfig(parse(base), next).restartOnly).toEqual(['data_dir', 'log_level']);
  });

  it('needsNewConnection: Matrix and Kosmi take no setting live', () => {
    expect(
      needsNewConnection('matrix', { a: 1, remote_nick_format: 'x' }, { a: 1, remote_nick_format: 'y' }),
    ).toBe(false);
    expect(needsNewConnection('kosmi', { ignore_nicks: [] }, { ignore_nicks: ['x'] })).toBe(true);
    expect(needsNewConnection('irc', { ignore_nicks: [] }, { ignore_nicks: ['x'] })).toBe(false);
  });
});
