import { readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { ZodIssue } from 'zod';
import { checkChannel } from './channels.js';
import { migrateDeprecatedKeys, type ConfigWarning } from './deprecated.js';
import { ConfigError, formatPath } from './errors.js';
import {
  configSchema,
  type AccountConfig,
  type Direction,
  type Gateway,
  type GatewayEndpoint,
  type RawConfig,
  type RelayConfig,
} from './schema.js';

type Env = Record<string, string | undefined>;
type Problem = { path: string; reason: string };

export interface LoadOptions {
  /** Environment to read ${VAR} from; .env files are loaded into it. Default: process.env. */
  readonly env?: Env;
  /** Where ./.env and a relative data_dir are resolved from. Default: process.cwd(). */
  readonly cwd?: string;
}

/** Which file to read: --config, else $RELAY_CONFIG, else ./relay.toml (issue 2 §1). */
export function resolveConfigPath(cliPath: string | undefined, env: Env, cwd: string): string {
  // An empty variable counts as unset (a .env copied from .env.example with blank values).
  return path.resolve(cwd, cliPath ?? (env.RELAY_CONFIG || undefined) ?? 'relay.toml');
}

/** Reads, substitutes, validates and resolves a relay.toml. Throws ConfigError. */
export function loadConfig(configPath: string, options: LoadOptions = {}): RelayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  // dotenv never overrides what is already set, so the real environment wins over .env files.
  for (const file of new Set([path.join(cwd, '.env'), path.join(path.dirname(configPath), '.env')])) {
    dotenv.config({ path: file, processEnv: env as dotenv.DotenvPopulateInput, quiet: true });
  }
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw ConfigError.at(
      '',
      `cannot read config file ${configPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return parseConfig(text, { ...options, env, cwd, configPath });
}

export function parseConfig(text: string, options: LoadOptions & { configPath?: string } = {}): RelayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError)
      throw ConfigError.at(
        '',
        `TOML syntax error at line ${error.line}, column ${error.column}: ${firstLine(error.message)}`,
      );
    throw error;
  }
  const problems: Problem[] = [];
  const substituted = substitute(data, [], env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings: ConfigWarning[] = [];
  const migrated = migrateDeprecatedKeys(substituted, problems, warnings);

  const parsed = configSchema.safeParse(migrated);
  if (!parsed.success) throw new ConfigError([...problems, ...parsed.error.issues.flatMap(describeIssue)]);
  if (problems.length > 0) throw new ConfigError(problems);
  const raw = parsed.data;

  const accounts = collectAccounts(raw, problems);
  const gateways = collectGateways(raw, accounts, problems);
  // Empty variables count as unset, like RELAY_CONFIG above.
  const dataDir = path.resolve(
    cwd,
    raw.general.data_dir ?? (env.RELAY_DATA_DIR || env.MATTERBRIDGE_DATA_DIR || './data'),
  );
  checkTokenCaches(raw, dataDir, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    configPath: options.configPath ?? '<string>',
    general: { ...raw.general, data_dir: dataDir },
    accounts,
    gateways,
    warnings,
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Replaces ${VAR} in every string; $${ is a literal "${". A missing variable names key and variable. */
function substitute(value: unknown, at: (string | number)[], env: Env, problems: Problem[]): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
      (match, escaped: string | undefined, name: string) => {
        if (escaped !== undefined) return match.slice(1);
        const found = env[name];
        if (found === undefined) {
          problems.push({
            path: formatPath(at),
            reason: `environment variable ${name} is not set (add it to .env or the environment)`,
          });
          return '';
        }
        return found;
      },
    );
  }
  if (Array.isArray(value))
    return value.map((item, index) => substitute(item, [...at, index], env, problems));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, [...at, key], env, problems)]),
    );
  }
  return value;
}

function describeIssue(issue: ZodIssue): Problem[] {
  const at = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: at === '' ? key : `${at}.${key}`, reason: 'unknown key' }));
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined')
    return [{ path: at, reason: 'is required' }];
  if (issue.code === 'invalid_type')
    return [{ path: at, reason: `expected ${issue.expected}, got ${issue.received}` }];
  return [{ path: at, reason: issue.message }];
}

function collectAccounts(raw: RawConfig, problems: Problem[]): Map<string, AccountConfig> {
  const all: AccountConfig[] = [
    ...Object.entries(raw.irc).map(([name, settings]): AccountConfig => ({
      protocol: 'irc',
      name,
      id: `irc.${name}`,
      settings,
    })),
    ...Object.entries(raw.kosmi).map(([name, settings]): AccountConfig => ({
      protocol: 'kosmi',
      name,
      id: `kosmi.${name}`,
      settings,
    })),
    ...Object.entries(raw.matrix).map(([name, settings]): AccountConfig => ({
      protocol: 'matrix',
      name,
      id: `matrix.${name}`,
      settings,
    })),
  ];
  const accounts = new Map<string, AccountConfig>();
  for (const account of all) {
    if (!/^[A-Za-z0-9_-]+$/.test(account.name))
      problems.push({ path: account.id, reason: 'account names use letters, digits, "_" and "-"' });
    accounts.set(account.id, account);
  }
  return accounts;
}

function collectGateways(
  raw: RawConfig,
  accounts: Map<string, AccountConfig>,
  problems: Problem[],
): Gateway[] {
  const names = new Set<string>();
  const gateways: Gateway[] = [];
  raw.gateway.forEach((gateway, index) => {
    const at = `gateway[${index}]`;
    if (names.has(gateway.name))
      problems.push({ path: `${at}.name`, reason: `duplicate gateway name "${gateway.name}"` });
    names.add(gateway.name);
    const endpoints: GatewayEndpoint[] = [];
    for (const direction of ['inout', 'in', 'out'] as const satisfies readonly Direction[]) {
      gateway[direction].forEach((entry, entryIndex) => {
        const entryAt = `${at}.${direction}[${entryIndex}]`;
        const account = accounts.get(entry.account);
        if (account === undefined) {
          const known = [...accounts.keys()].join(', ') || 'none';
          problems.push({
            path: `${entryAt}.account`,
            reason: `no account "${entry.account}" (accounts: ${known})`,
          });
          return;
        }
        const channelProblem = checkChannel(account.protocol, entry.channel);
        if (channelProblem !== undefined)
          problems.push({ path: `${entryAt}.channel`, reason: channelProblem });
        if (endpoints.some((e) => e.account === entry.account && e.channel === entry.channel)) {
          problems.push({
            path: entryAt,
            reason: `${entry.account} ${entry.channel} is listed twice in this gateway`,
          });
        }
        endpoints.push({ account: entry.account, channel: entry.channel, direction });
      });
    }
    if (!gateway.enabled) return;
    // Count entries, not valid endpoints: an entry already reported (unknown account) must not
    // add a second, misleading problem.
    if (gateway.inout.length + gateway.in.length + gateway.out.length < 2)
      problems.push({ path: at, reason: 'a gateway needs at least two entries to relay anything' });
    gateways.push({ name: gateway.name, endpoints });
  });
  return gateways;
}

/** token_cache is relative to data_dir; compare resolved paths so "./x.json" and "x.json" collide. */
function checkTokenCaches(raw: RawConfig, dataDir: string, problems: Problem[]): void {
  const seen = new Map<string, string>();
  for (const [name, settings] of Object.entries(raw.kosmi)) {
    const file = path.resolve(dataDir, settings.token_cache);
    const other = seen.get(file);
    if (other !== undefined) {
      problems.push({
        path: `kosmi.${name}.token_cache`,
        reason: `"${settings.token_cache}" is also the token_cache of kosmi.${other}`,
      });
    }
    seen.set(file, name);
  }
}
