import { isDeepStrictEqual } from 'node:util';
import type { Gateway } from '../core/gateway.js';
import type { AccountConfig, RelayConfig } from './schema.js';

type Protocol = AccountConfig['protocol'];

// What a SIGHUP reload may change without a new connection (README "Reload without restart").
// Every key not listed below is a connection setting: changing it stops the account's adapter and
// starts a new one. Unknown keys count as connection settings, so a key added to a schema later
// reconnects until someone decides otherwise here.

/** Read by the router for each message; any protocol. */
const ROUTER_KEYS: readonly string[] = [
  'label',
  'remote_nick_format',
  'queue_max_messages',
  'queue_max_age_seconds',
];
/** Applied by the running adapter (ChatAdapter.reconfigure); channel changes are the adapter's too. */
export const LIVE_KEYS: Readonly<Record<Protocol, readonly string[]>> = {
  irc: ['ignore_nicks', 'ignore_messages'],
  kosmi: [],
  matrix: [],
};
/** [general] keys a reload cannot apply: the store, the HTTP listener and the logger are made once. */
const RESTART_ONLY_GENERAL_KEYS = [
  'data_dir',
  'http_listen',
  'log_level',
  'public_url',
  'media_max_mb',
] as const;

/** The keys whose values differ between two settings sections (both sides' keys). */
function changedKeys(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !isDeepStrictEqual(a[k], b[k])).sort();
}

/** The changed keys that need a new connection for this protocol. */
export function connectionKeysChanged(protocol: Protocol, before: object, after: object): string[] {
  const live = LIVE_KEYS[protocol];
  return changedKeys(before, after).filter((k) => !ROUTER_KEYS.includes(k) && !live.includes(k));
}

export function needsNewConnection(protocol: Protocol, before: object, after: object): boolean {
  return connectionKeysChanged(protocol, before, after).length > 0;
}

/** The channels an account serves in the enabled gateways, in first-seen order. */
export function channelsOf(gateways: readonly Gateway[], accountId: string): string[] {
  const channels = new Set<string>();
  for (const gateway of gateways)
    for (const e of gateway.endpoints) if (e.account === accountId) channels.add(e.channel);
  return [...channels];
}

/** An account the app runs: configured and named by at least one enabled gateway. */
function runningAccounts(config: RelayConfig): Map<string, AccountConfig> {
  const running = new Map<string, AccountConfig>();
  for (const [id, account] of config.accounts)
    if (channelsOf(config.gateways, id).length > 0) running.set(id, account);
  return running;
}

export interface ConfigDiff {
  /** Accounts to create and start. */
  readonly added: readonly string[];
  /** Accounts to stop (gone from the file, or in no enabled gateway any more). */
  readonly removed: readonly string[];
  /** Accounts whose connection settings changed: stop, then a new adapter. */
  readonly reconnect: readonly { readonly account: string; readonly keys: readonly string[] }[];
  /** Accounts whose live settings or channels changed: ChatAdapter.reconfigure, or a new adapter. */
  readonly live: readonly string[];
  /** Gateways added, removed, or with other endpoints, by name. */
  readonly gateways: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  /** [general] keys that changed but take effect only at the next start. */
  readonly restartOnly: readonly string[];
}

/** What a reload from `before` to `after` must do. Pure: unit-tested without a daemon. */
export function diffConfig(before: RelayConfig, after: RelayConfig): ConfigDiff {
  const was = runningAccounts(before);
  const will = runningAccounts(after);
  const added = [...will.keys()].filter((id) => !was.has(id));
  const removed = [...was.keys()].filter((id) => !will.has(id));
  const reconnect: { account: string; keys: string[] }[] = [];
  const live: string[] = [];
  for (const [id, next] of will) {
    const previous = was.get(id);
    if (previous === undefined) continue;
    const keys = connectionKeysChanged(next.protocol, previous.settings, next.settings);
    if (keys.length > 0) {
      reconnect.push({ account: id, keys });
      continue;
    }
    const liveChanged = LIVE_KEYS[next.protocol].some(
      (k) =>
        !isDeepStrictEqual(
          (previous.settings as Record<string, unknown>)[k],
          (next.settings as Record<string, unknown>)[k],
        ),
    );
    const channelsChanged = !isDeepStrictEqual(
      channelsOf(before.gateways, id),
      channelsOf(after.gateways, id),
    );
    if (liveChanged || channelsChanged) live.push(id);
  }
  const oldGateways = new Map(before.gateways.map((g) => [g.name, g]));
  const newGateways = new Map(after.gateways.map((g) => [g.name, g]));
  return {
    added,
    removed,
    reconnect,
    live,
    gateways: {
      added: [...newGateways.keys()].filter((name) => !oldGateways.has(name)),
      removed: [...oldGateways.keys()].filter((name) => !newGateways.has(name)),
      changed: [...newGateways]
        .filter(([name, g]) => {
          const old = oldGateways.get(name);
          return old !== undefined && !isDeepStrictEqual(old.endpoints, g.endpoints);
        })
        .map(([name]) => name),
    },
    restartOnly: RESTART_ONLY_GENERAL_KEYS.filter(
      (k) => !isDeepStrictEqual(before.general[k], after.general[k]),
    ),
  };
}
