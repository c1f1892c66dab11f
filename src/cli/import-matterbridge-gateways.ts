/**
 * [[gateway]] and [[samechannelgateway]] of matterbridge -> [[gateway]] here. matterbridge's
 * rules, from its gateway/gateway.go (mapChannelConfig): IRC channels are lower-cased; the same
 * channel listed as `in` and `out` is one `inout` channel; a gateway runs only with enable = true.
 */
import type { Protocol } from '../core/message.js';
import { checkChannel } from '../config/channels.js';
import { isTable, literal, Section, type ImportContext } from './import-matterbridge-context.js';

/** A converted account, by its matterbridge id lower-cased ("irc.libera"). */
export interface AccountRef {
  readonly id: string;
  readonly protocol: Protocol;
  /** Kosmi: the room of RoomURL, which replaces the fork's placeholder channel. */
  readonly room?: string | undefined;
}

export interface GatewayOut {
  name: string;
  enabled: boolean;
  inout: { account: string; channel: string }[];
  in: { account: string; channel: string }[];
  out: { account: string; channel: string }[];
}

type Direction = 'in' | 'out' | 'inout';
const DIRECTIONS: readonly Direction[] = ['in', 'out', 'inout'];

export interface GatewayInput {
  readonly accounts: ReadonlyMap<string, AccountRef>;
  /** Accounts that exist in the file but were not converted, with the reason. */
  readonly dropped: ReadonlyMap<string, string>;
}

export function convertGateways(list: unknown, input: GatewayInput, ctx: ImportContext): GatewayOut[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    ctx.skip('gateway', 'expected [[gateway]] tables');
    return [];
  }
  const gateways: GatewayOut[] = [];
  list.forEach((item, index) => {
    const at = `gateway[${index}]`;
    if (!isTable(item)) return ctx.skip(at, 'expected a table');
    const section = new Section(at, item);
    const name = section.string('name', ctx) ?? `gateway${index + 1}`;
    // matterbridge: "Enable enables this gateway, OPTIONAL (default false)".
    const enabled = section.bool('enable', ctx) === true;
    const entries: [string, string, Direction][] = [];
    for (const direction of DIRECTIONS) {
      const raw = section.raw(direction);
      if (raw === undefined) continue;
      const list = Array.isArray(raw) ? raw : [raw];
      list.forEach((entry, n) => {
        const entryAt = `${section.pathOf(direction)}[${n}]`;
        const converted = convertEntry(entry, entryAt, input, ctx);
        if (converted !== undefined) entries.push([converted[0], converted[1], direction]);
      });
    }
    section.reportUnused(ctx, {});
    gateways.push(build(name, enabled, entries, at, ctx));
  });
  return gateways;
}

/** [[samechannelgateway]]: every account joins every channel; one gateway per channel here. */
export function convertSameChannelGateways(
  list: unknown,
  input: GatewayInput,
  ctx: ImportContext,
): GatewayOut[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    ctx.skip('samechannelgateway', 'expected [[samechannelgateway]] tables');
    return [];
  }
  const gateways: GatewayOut[] = [];
  list.forEach((item, index) => {
    const at = `samechannelgateway[${index}]`;
    if (!isTable(item)) return ctx.skip(at, 'expected a table');
    const section = new Section(at, item);
    const name = section.string('name', ctx) ?? `samechannel${index + 1}`;
    const enabled = section.bool('enable', ctx) === true;
    const accounts = stringList(section.raw('accounts'));
    const channels = stringList(section.raw('channels'));
    section.reportUnused(ctx, {});
    for (const channel of channels) {
      const entries: [string, string, Direction][] = [];
      for (const account of accounts) {
        const entry = convertEntry({ account, channel }, `${at}.accounts[${account}]`, input, ctx);
        if (entry !== undefined) entries.push([entry[0], entry[1], 'inout']);
      }
      gateways.push(build(`${name} ${channel}`, enabled, entries, at, ctx));
    }
  });
  return gateways;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function convertEntry(
  entry: unknown,
  at: string,
  input: GatewayInput,
  ctx: ImportContext,
): [string, string] | undefined {
  if (!isTable(entry)) {
    ctx.skip(at, 'expected a table with account and channel');
    return undefined;
  }
  const section = new Section(at, entry);
  const accountName = section.string('account', ctx);
  const channel = section.string('channel', ctx);
  const options = section.raw('options');
  if (isTable(options)) {
    for (const key of Object.keys(options)) {
      ctx.skip(
        `${section.pathOf('options')}.${key}`,
        key.toLowerCase() === 'key'
          ? 'not supported: the relay cannot join channels with a key (+k)'
          : 'no equivalent in kosmi-relay',
      );
    }
  }
  section.reportUnused(ctx, {});
  if (accountName === undefined) {
    ctx.skip(at, 'entry dropped: no account');
    return undefined;
  }
  const account = input.accounts.get(accountName.toLowerCase());
  if (account === undefined) {
    const why = input.dropped.get(accountName.toLowerCase()) ?? `no account [${accountName}] in the file`;
    ctx.skip(at, `entry dropped (${accountName}): ${why}`);
    return undefined;
  }
  let target = channel;
  if (account.protocol === 'kosmi' && account.room !== undefined) {
    // The fork joins the room of RoomURL; its gateway channel is a placeholder ("main").
    if (channel !== undefined && channel !== account.room)
      ctx.note(
        at,
        `channel ${JSON.stringify(channel)} replaced by the account's RoomURL, the room the fork joined`,
      );
    target = account.room;
  } else if (account.protocol === 'irc' && target !== undefined) target = target.toLowerCase();
  if (target === undefined) {
    ctx.skip(at, 'entry dropped: no channel');
    return undefined;
  }
  const problem = checkChannel(account.protocol, target);
  if (problem !== undefined) {
    ctx.skip(at, `entry dropped: ${problem}`);
    return undefined;
  }
  return [account.id, literal(target)];
}

/** Merges duplicates (in + out of one channel is inout) and disables a gateway that relays nothing. */
function build(
  name: string,
  enabled: boolean,
  entries: readonly [string, string, Direction][],
  at: string,
  ctx: ImportContext,
): GatewayOut {
  const merged = new Map<string, { account: string; channel: string; direction: Direction }>();
  for (const [account, channel, direction] of entries) {
    const key = `${account}\n${channel}`;
    const seen = merged.get(key);
    if (seen === undefined) merged.set(key, { account, channel, direction });
    else if (seen.direction !== direction) seen.direction = 'inout';
  }
  const gateway: GatewayOut = { name: literal(name), enabled, inout: [], in: [], out: [] };
  for (const { account, channel, direction } of merged.values())
    gateway[direction].push({ account, channel });
  if (enabled && merged.size < 2) {
    gateway.enabled = false;
    ctx.note(
      at,
      `gateway "${name}" has fewer than two channels that could be converted, so it relays nothing: written with enabled = false`,
    );
  }
  return gateway;
}
