/**
 * Converts the text of a matterbridge TOML config (42wim/matterbridge's matterbridge.toml.sample
 * layout, and the IRC-kosmi-relay fork's [kosmi.*] accounts) into this relay's config object.
 * Pure: no file access, so tests call it directly.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import type { Protocol } from '../core/message.js';
import {
  accountName,
  ImportContext,
  isTable,
  Section,
  type Finding,
  type Table,
} from './import-matterbridge-context.js';
import { convertNickFormat } from './import-matterbridge-format.js';
import {
  convertGateways,
  convertSameChannelGateways,
  type AccountRef,
  type GatewayOut,
} from './import-matterbridge-gateways.js';
import { convertIrcAccount, type ConvertedAccount } from './import-matterbridge-irc.js';
import { convertKosmiAccount } from './import-matterbridge-kosmi.js';
import { convertMatrixAccount } from './import-matterbridge-matrix.js';

/** The input cannot be converted at all (syntax error, no account). */
export class ImportError extends Error {
  override readonly name = 'ImportError';
}

export interface ConvertResult {
  /** relay.toml as an object: general, irc, kosmi, matrix, gateway. */
  readonly config: Record<string, unknown>;
  readonly skipped: readonly Finding[];
  readonly notes: readonly Finding[];
  /** Env variable -> secret. */
  readonly secrets: ReadonlyMap<string, string>;
}

const PROTOCOLS: readonly Protocol[] = ['irc', 'matrix', 'kosmi'];

const GENERAL_REASONS: Readonly<Record<string, string>> = {
  mediaserverupload: 'not supported: no media server; files from Matrix are relayed as links',
  mediaserverdownload: 'not supported: no media server; files from Matrix are relayed as links',
  mediadownloadpath: 'not supported: no media server; files from Matrix are relayed as links',
  mediadownloadsize: 'not supported: no media server; files from Matrix are relayed as links',
  mediadownloadblacklist: 'not supported: no media server; files from Matrix are relayed as links',
  mediaconverttgs: 'not supported: no media conversion',
  mediaconvertwebptopng: 'not supported: no media conversion',
  ignorefailureonstart:
    'no equivalent needed: a failing account never stops the relay; it retries and shows in /healthz',
  logfile: 'not supported: logs go to stdout as JSON (see README, Logging)',
  stripnick: 'no equivalent: nicks are relayed as they are',
  preservethreading: 'no equivalent: replies are relayed as their text',
  iconurl: 'no equivalent: the relay sends no avatars',
  tengomodifymessage: 'not supported: no tengo scripts',
};

export function convertMatterbridge(text: string): ConvertResult {
  let data: Table;
  try {
    data = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError)
      throw new ImportError(
        `TOML syntax error at line ${error.line}, column ${error.column}: ${error.message.split('\n')[0] ?? ''}`,
        { cause: error },
      );
    throw error;
  }
  const ctx = new ImportContext();
  const top = new Section('', data);
  const accounts = new Map<string, AccountRef>();
  const dropped = new Map<string, string>();
  const out: Record<Protocol, Record<string, Record<string, unknown>>> = { irc: {}, matrix: {}, kosmi: {} };
  const formats: string[] = [];

  for (const key of Object.keys(data)) {
    const lower = key.toLowerCase();
    if (['general', 'gateway', 'samechannelgateway'].includes(lower)) continue;
    const value = data[key];
    if (lower === 'tengo') {
      ctx.skip(key, 'not supported: no tengo scripts');
      continue;
    }
    if (!isTable(value)) {
      ctx.skip(key, 'no equivalent in kosmi-relay');
      continue;
    }
    const protocol = PROTOCOLS.find((p) => p === lower);
    for (const [name, settings] of Object.entries(value)) {
      const path = `${key}.${name}`;
      const id = `${lower}.${name}`.toLowerCase();
      if (protocol === undefined) {
        dropped.set(id, `protocol "${lower}" is not supported`);
        ctx.skip(path, `not supported: kosmi-relay bridges IRC, Matrix and Kosmi only`);
        continue;
      }
      if (!isTable(settings)) {
        ctx.skip(path, `not an account: accounts are [${lower}.NAME] tables`);
        continue;
      }
      const section = new Section(path, settings);
      const format = section.key('RemoteNickFormat');
      if (format !== undefined && typeof settings[format] === 'string') formats.push(settings[format]);
      const converted = convertAccount(protocol, uniqueName(out[protocol], name, path, ctx), section, ctx);
      if (converted === undefined) {
        dropped.set(id, 'the account was not converted');
        continue;
      }
      out[protocol][converted.name] = converted.settings;
      const room = 'room' in converted ? (converted.room as string | undefined) : undefined;
      accounts.set(id, { id: `${protocol}.${converted.name}`, protocol, room });
    }
  }
  if (accounts.size === 0) {
    const found = [...dropped.keys()];
    throw new ImportError(
      `no [irc.*], [matrix.*] or [kosmi.*] account could be converted${found.length > 0 ? ` (found: ${found.join(', ')})` : ''}`,
    );
  }

  const general = convertGeneral(top, out, formats, ctx);
  const input = { accounts, dropped };
  const gateways = [
    ...convertGateways(data[top.key('gateway') ?? 'gateway'], input, ctx),
    ...convertSameChannelGateways(data[top.key('samechannelgateway') ?? 'samechannelgateway'], input, ctx),
  ];
  uniqueGatewayNames(gateways, ctx);
  separateTokenCaches(out.kosmi, ctx);
  noteUnusedAccounts(accounts, gateways, ctx);
  noteEmptyLabels(out, formats, ctx);

  const config: Record<string, unknown> = { general };
  for (const protocol of PROTOCOLS)
    if (Object.keys(out[protocol]).length > 0) config[protocol] = out[protocol];
  if (gateways.length > 0) config.gateway = gateways.map(compactGateway);
  return { config, skipped: ctx.skipped, notes: ctx.notes, secrets: ctx.secrets };
}

function convertAccount(
  protocol: Protocol,
  name: string,
  section: Section,
  ctx: ImportContext,
): ConvertedAccount | undefined {
  switch (protocol) {
    case 'irc':
      return convertIrcAccount(name, section, ctx);
    case 'matrix':
      return convertMatrixAccount(name, section, ctx);
    case 'kosmi':
      return convertKosmiAccount(name, section, ctx);
  }
}

function uniqueName(taken: Record<string, unknown>, name: string, path: string, ctx: ImportContext): string {
  let unique = accountName(name);
  for (let n = 2; unique in taken; n++) unique = `${accountName(name)}_${n}`;
  if (unique !== name)
    ctx.note(path, `renamed to "${unique}": account names here use letters, digits, "_" and "-"`);
  return unique;
}

function convertGeneral(
  top: Section,
  accounts: Record<Protocol, Record<string, Record<string, unknown>>>,
  formats: string[],
  ctx: ImportContext,
): Record<string, unknown> {
  const general: Record<string, unknown> = {};
  const raw = top.raw('general');
  const section = new Section(top.key('general') ?? 'general', isTable(raw) ? raw : {});
  const format = section.string('RemoteNickFormat', ctx);
  if (format !== undefined) {
    formats.push(format);
    general.remote_nick_format = convertNickFormat(format, section.pathOf('RemoteNickFormat'), ctx);
  } else if (
    PROTOCOLS.some((p) => Object.values(accounts[p]).some((a) => a.remote_nick_format === undefined))
  ) {
    // matterbridge's default RemoteNickFormat is empty: messages were relayed without a nick.
    general.remote_nick_format = '';
    ctx.note(
      'general.RemoteNickFormat',
      'not set, so matterbridge relayed messages without the sender\'s nick; written as "" to keep that (the relay\'s default is "[{PROTOCOL}] <{NICK}> ")',
    );
  }
  section.reportUnused(ctx, GENERAL_REASONS);
  return general;
}

function uniqueGatewayNames(gateways: GatewayOut[], ctx: ImportContext): void {
  const seen = new Set<string>();
  gateways.forEach((gateway, index) => {
    let name = gateway.name;
    for (let n = 2; seen.has(name); n++) name = `${gateway.name} ${n}`;
    if (name !== gateway.name)
      ctx.note(`gateway[${index}].name`, `duplicate name "${gateway.name}" renamed to "${name}"`);
    gateway.name = name;
    seen.add(name);
  });
}

/** Two Kosmi accounts may not share a token cache (src/config/load.ts); the first keeps the default. */
function separateTokenCaches(kosmi: Record<string, Record<string, unknown>>, ctx: ImportContext): void {
  Object.entries(kosmi)
    .slice(1)
    .forEach(([name, settings]) => {
      settings.token_cache = `kosmi_${name}_token_cache.json`;
      ctx.note(
        `kosmi.${name}`,
        `token_cache = "kosmi_${name}_token_cache.json": two Kosmi accounts cannot share one cache`,
      );
    });
}

/** matterbridge starts only the accounts an enabled gateway uses; the relay starts every account. */
function noteUnusedAccounts(
  accounts: ReadonlyMap<string, AccountRef>,
  gateways: readonly GatewayOut[],
  ctx: ImportContext,
): void {
  const used = new Set<string>();
  for (const gateway of gateways) {
    if (!gateway.enabled) continue;
    for (const entry of [...gateway.inout, ...gateway.in, ...gateway.out]) used.add(entry.account);
  }
  for (const account of accounts.values()) {
    if (!used.has(account.id))
      ctx.note(
        account.id,
        'no enabled gateway uses it, so matterbridge never connected it; the relay connects every account: delete it if unwanted',
      );
  }
}

/** {LABEL} is "" in matterbridge for an account without Label; here it falls back to the protocol. */
function noteEmptyLabels(
  out: Record<Protocol, Record<string, Record<string, unknown>>>,
  formats: readonly string[],
  ctx: ImportContext,
): void {
  if (!formats.some((f) => f.includes('{LABEL}'))) return;
  for (const protocol of PROTOCOLS) {
    for (const [name, settings] of Object.entries(out[protocol])) {
      if (settings.label === undefined)
        ctx.note(
          `${protocol}.${name}`,
          `no Label: {LABEL} was empty in matterbridge, here it shows "${protocol}"`,
        );
    }
  }
}

function compactGateway(gateway: GatewayOut): Record<string, unknown> {
  const out: Record<string, unknown> = { name: gateway.name, enabled: gateway.enabled };
  for (const direction of ['inout', 'in', 'out'] as const)
    if (gateway[direction].length > 0) out[direction] = gateway[direction];
  return out;
}
