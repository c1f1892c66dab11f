/**
 * `kosmi-relay kosmi-login [--account NAME]` and `kosmi-relay token-status` (issue 3 §3). main.ts
 * loads this module only for these commands.
 */
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { decodeJwt } from '../auth/jwt.js';
import { readTokenCache, rfc3339 } from '../auth/token-cache.js';
import { formatTimeLeft, KosmiTokenManager, renewalTime } from '../auth/token-manager.js';
import type { KosmiAccountConfig } from '../config/kosmi.js';
import type { RelayConfig } from '../config/schema.js';
import { DAY_MS } from '../core/time.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface KosmiAccount {
  readonly id: string;
  readonly settings: KosmiAccountConfig;
}

function kosmiAccounts(config: RelayConfig): KosmiAccount[] {
  const accounts: KosmiAccount[] = [];
  for (const account of config.accounts.values()) {
    if (account.protocol === 'kosmi') accounts.push({ id: account.id, settings: account.settings });
  }
  return accounts;
}

/**
 * Logs in now and writes the token cache, whatever it held: first-time setup (`docker compose run
 * --rm relay kosmi-relay kosmi-login`) or a forced renewal. Without --account, every Kosmi account.
 * Exit code 0 when every login worked, 1 when one failed, 2 for an unknown account.
 */
export async function runKosmiLogin(
  config: RelayConfig,
  accountName: string | undefined,
  logger: Logger,
): Promise<number> {
  const all = kosmiAccounts(config);
  if (all.length === 0) {
    logger.error({ config: config.configPath }, 'no [kosmi.NAME] account in the config');
    return EXIT_USAGE;
  }
  let chosen = all;
  if (accountName !== undefined) {
    const wanted = accountName.startsWith('kosmi.') ? accountName : `kosmi.${accountName}`;
    chosen = all.filter((account) => account.id === wanted);
    if (chosen.length === 0) {
      logger.error(
        { account: accountName, accounts: all.map((a) => a.id).join(', ') },
        'no such Kosmi account',
      );
      return EXIT_USAGE;
    }
  }
  let code = EXIT_OK;
  for (const account of chosen) {
    const log = logger.child({ account: account.id });
    const manager = new KosmiTokenManager({
      account: account.id,
      settings: account.settings,
      dataDir: config.general.data_dir,
      logger: log,
    });
    try {
      const info = await manager.renew();
      log.info(
        { cacheFile: manager.cacheFile, expiresAt: rfc3339(info.expiresAt) },
        'Kosmi login done, token cached',
      );
    } catch (error) {
      log.error({ err: error }, 'Kosmi login failed');
      code = EXIT_FAILED;
    }
  }
  return code;
}

/**
 * Prints per Kosmi account the cache file's email, saved_at, expires_at and time left; never the
 * token. Exit code 0 when every account holds a token outside its renewal window, else 1.
 */
export async function runTokenStatus(config: RelayConfig, out: (line: string) => void): Promise<number> {
  const accounts = kosmiAccounts(config);
  if (accounts.length === 0) {
    out('no Kosmi accounts in the config');
    return EXIT_OK;
  }
  const silent = pino({ level: 'silent' });
  let code = EXIT_OK;
  const now = Date.now();
  for (const { id, settings } of accounts) {
    const file = path.resolve(config.general.data_dir, settings.token_cache);
    const read = await readTokenCache(file, silent);
    if (read.kind === 'missing') {
      out(`${id}: no cached token (${file}); the next start logs in`);
      code = EXIT_FAILED;
      continue;
    }
    if (read.kind === 'corrupt') {
      out(`${id}: token cache ${file} is unreadable (${read.reason}); the next start logs in again`);
      code = EXIT_FAILED;
      continue;
    }
    const { entry } = read;
    const claims = decodeJwt(entry.token);
    const renewAt =
      claims === undefined
        ? 0
        : renewalTime(claims, settings.refresh_before_days * DAY_MS, entry.savedAt.getTime()).getTime();
    const leftMs = entry.expiresAt.getTime() - now;
    const configured = settings.email ?? '';
    let state: string;
    if (entry.email.toLowerCase() !== configured.toLowerCase())
      state = 'belongs to other credentials; the next start logs in again';
    else if (leftMs <= 0) state = 'expired; the next start logs in again';
    else if (now >= renewAt) state = 'inside the refresh window; the next start logs in again';
    else state = 'valid';
    if (state !== 'valid') code = EXIT_FAILED;
    out(
      `${id}: email=${entry.email === '' ? '(anonymous)' : entry.email} saved_at=${rfc3339(entry.savedAt)} ` +
        `expires_at=${rfc3339(entry.expiresAt)} left=${leftMs > 0 ? formatTimeLeft(leftMs) : '0s'} (${state})`,
    );
  }
  return code;
}
