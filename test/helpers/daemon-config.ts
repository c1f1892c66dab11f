import { stringify } from 'smol-toml';

/**
 * One builder for the daemon's relay.toml in e2e tests and bench scenarios, so a config key is
 * spelled in one place and the text is always valid TOML (smol-toml's stringify, the library the
 * daemon parses it with). Values are written as given: `"${NAME}"` stays a string for the
 * daemon's own env substitution.
 */
export type Protocol = 'irc' | 'kosmi' | 'matrix';
export type Direction = 'inout' | 'in' | 'out';

export type TomlValue = string | number | boolean | readonly string[];
export type Settings = Readonly<Record<string, TomlValue | undefined>>;

export interface Endpoint {
  /** "protocol.name", e.g. "irc.a". */
  readonly account: string;
  readonly channel: string;
  /** Default inout. */
  readonly direction?: Direction;
}

export interface GatewaySpec {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly enabled?: boolean;
}

export interface DaemonConfigSpec {
  /** [general]; data_dir defaults to "./data" (beside relay.toml) and the nick format to "[{PROTOCOL}] <{NICK}> ". */
  readonly general?: Settings;
  /** Keyed by "protocol.name": { "irc.a": { server: "127.0.0.1:6667", nick: "relay" } }. */
  readonly accounts: Readonly<Record<string, Settings>>;
  readonly gateways: readonly GatewaySpec[];
}

const DEFAULT_GENERAL: Settings = {
  data_dir: './data',
  remote_nick_format: '[{PROTOCOL}] <{NICK}> ',
};

/** Undefined values are left out, so `{ http_listen: maybePort && ... }` reads naturally. */
function defined(settings: Settings): Record<string, TomlValue> {
  const out: Record<string, TomlValue> = {};
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) out[key] = value;
  return out;
}

/** The relay.toml text for `spec`. */
export function daemonConfig(spec: DaemonConfigSpec): string {
  const protocols: Record<Protocol, Record<string, Record<string, TomlValue>>> = {
    irc: {},
    kosmi: {},
    matrix: {},
  };
  for (const [id, settings] of Object.entries(spec.accounts)) {
    const [protocol, name, ...rest] = id.split('.');
    if ((protocol !== 'irc' && protocol !== 'kosmi' && protocol !== 'matrix') || !name || rest.length > 0)
      throw new Error(`account id "${id}" must be "irc|kosmi|matrix.<name>"`);
    protocols[protocol][name] = defined(settings);
  }
  const gateway = spec.gateways.map((g) => {
    const table: Record<string, unknown> = { name: g.name };
    if (g.enabled !== undefined) table.enabled = g.enabled;
    for (const direction of ['inout', 'in', 'out'] as const) {
      const list = g.endpoints
        .filter((e) => (e.direction ?? 'inout') === direction)
        .map((e) => ({ account: e.account, channel: e.channel }));
      if (list.length > 0) table[direction] = list;
    }
    return table;
  });
  const document: Record<string, unknown> = {
    general: defined({ ...DEFAULT_GENERAL, ...spec.general }),
    gateway,
  };
  for (const protocol of ['irc', 'kosmi', 'matrix'] as const)
    if (Object.keys(protocols[protocol]).length > 0) document[protocol] = protocols[protocol];
  return `${stringify(document)}\n`;
}

/** The usual gateway: every endpoint inout. */
export function inoutGateway(name: string, endpoints: readonly (readonly [string, string])[]): GatewaySpec {
  return { name, endpoints: endpoints.map(([account, channel]) => ({ account, channel })) };
}

/** An IRC account on a loopback port. */
export function ircAccount(port: number, nick: string, extra: Settings = {}): Settings {
  return { server: `127.0.0.1:${port}`, nick, ...extra };
}

/** An anonymous Kosmi account on an emulator (its three URLs). */
export function kosmiAccount(
  emulator: { webUrl: string; apiUrl: string; wsUrl: string },
  extra: Settings = {},
): Settings {
  return { web_url: emulator.webUrl, api_url: emulator.apiUrl, ws_url: emulator.wsUrl, ...extra };
}

/** A Matrix password account; the password comes from the daemon's env as `${envName}`. */
export function matrixAccount(
  homeserver: string,
  userId: string,
  envName: string,
  extra: Settings = {},
): Settings {
  return { homeserver, user_id: userId, password: `\${${envName}}`, ...extra };
}
