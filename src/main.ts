#!/usr/bin/env node
/**
 * CLI only (house style): arguments, config, createApp, signals, exit codes. The one place that
 * exits. Exit codes: 0 clean shutdown, 1 fatal runtime error, 2 config error (issue 2 §1).
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createApp, SHUTDOWN_DEADLINE_MS, StartupError, type App } from './app.js';
import { ConfigError } from './config/errors.js';
import { loadConfig, resolveConfigPath } from './config/load.js';
import type { AccountConfig, RelayConfig } from './config/schema.js';
import { createLogger } from './log/logger.js';

const EXIT_OK = 0;
const EXIT_FATAL = 1;
const EXIT_CONFIG = 2;
/** The graceful part (flush queues, QUIT, close sockets) ends this long before the limit... */
const GRACEFUL_SHUTDOWN_MS = SHUTDOWN_DEADLINE_MS - 1_500;
/** ...and a hard timer ends the process before the limit whatever is still open (thelounge's force-exit timer). */
const FORCE_EXIT_AFTER_MS = SHUTDOWN_DEADLINE_MS - 500;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const USAGE = `usage: kosmi-relay [run] [--config PATH]
       kosmi-relay check-config [--config PATH]
       kosmi-relay kosmi-login [--account NAME] [--config PATH]
       kosmi-relay token-status [--config PATH]
       kosmi-relay import-matterbridge PATH [-o relay.toml] [--env-file PATH] [--force]
The config comes from --config, else $RELAY_CONFIG, else ./relay.toml.`;

interface KosmiCli {
  runKosmiLogin(config: RelayConfig, accountName: string | undefined, logger: Logger): Promise<number>;
  runTokenStatus(config: RelayConfig, out: (line: string) => void): Promise<number>;
}
// Loaded only for these commands, so the daemon never loads the browser-login code it does not need.
const KOSMI_CLI_MODULE = './cli/kosmi-commands.js';

interface ImportCli {
  runImportMatterbridge(
    argv: readonly string[],
    io: { out: (line: string) => void; err: (line: string) => void; cwd: string },
  ): number;
}
// A one-off migration tool with options of its own: it parses its own arguments and reads no relay.toml.
const IMPORT_CLI_MODULE = './cli/import-matterbridge.js';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'import-matterbridge') {
    const cli = (await import(IMPORT_CLI_MODULE)) as ImportCli;
    return cli.runImportMatterbridge(argv.slice(1), { out, err, cwd: process.cwd() });
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        account: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return EXIT_CONFIG;
  }
  if (parsed.values.help === true) {
    out(USAGE);
    return EXIT_OK;
  }
  const command = parsed.positionals[0] ?? 'run';
  if (
    !['run', 'check-config', 'kosmi-login', 'token-status'].includes(command) ||
    parsed.positionals.length > 1
  ) {
    err(`unknown command: ${parsed.positionals.join(' ')}\n${USAGE}`);
    return EXIT_CONFIG;
  }

  const configPath = resolveConfigPath(parsed.values.config, process.env, process.cwd());
  let config: RelayConfig;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`config error in ${configPath}:`);
      for (const line of error.message.split('\n')) err(`  ${line}`);
      return EXIT_CONFIG;
    }
    throw error;
  }
  const level = config.general.log_level ?? process.env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    err(`LOG_LEVEL: "${level}" is not a log level (${LOG_LEVELS.join(', ')})`);
    return EXIT_CONFIG;
  }
  const logger = createLogger({ level, pretty: process.env.LOG_FORMAT === 'pretty' });
  // check-config prints them instead (printConfig).
  if (command !== 'check-config')
    for (const warning of config.warnings)
      logger.warn({ path: warning.path, replacement: warning.replacement }, 'deprecated config key');

  switch (command) {
    case 'check-config':
      printConfig(config, configPath);
      return EXIT_OK;
    case 'kosmi-login':
    case 'token-status': {
      const cli = (await import(KOSMI_CLI_MODULE)) as KosmiCli;
      return command === 'kosmi-login'
        ? cli.runKosmiLogin(config, parsed.values.account, logger)
        : cli.runTokenStatus(config, out);
    }
    default:
      return runDaemon(config, logger, configPath);
  }
}

/** Lists accounts and gateways; never a secret (only names, servers and channels). */
function printConfig(config: RelayConfig, configPath: string): void {
  out(`config OK: ${configPath}`);
  for (const warning of config.warnings) err(`warning: ${warning.message}`);
  out(`data dir: ${config.general.data_dir}`);
  out('accounts:');
  for (const account of config.accounts.values()) out(`  ${account.id}: ${describeAccount(account)}`);
  out('gateways:');
  for (const gateway of config.gateways) {
    out(`  ${gateway.name}:`);
    for (const e of gateway.endpoints) out(`    ${e.direction.padEnd(5)} ${e.account} ${e.channel}`);
  }
}

function describeAccount(account: AccountConfig): string {
  switch (account.protocol) {
    case 'irc':
      return `${account.settings.server} as ${account.settings.nick}${account.settings.tls ? ' (tls)' : ''}`;
    case 'matrix':
      return `${account.settings.homeserver} as ${account.settings.user_id}`;
    case 'kosmi':
      return `${account.settings.ws_url} (${account.settings.email === undefined ? 'anonymous' : 'email login'})`;
  }
}

/**
 * SIGHUP: reads the same file again, as at start (same path, same .env and environment handling).
 * A file that does not validate is refused with each problem at its TOML path; the running config
 * stays.
 */
async function reloadConfig(app: App, configPath: string, logger: Logger): Promise<void> {
  let next: RelayConfig;
  try {
    next = loadConfig(configPath);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems)
      logger.error({ file: configPath, path: problem.path, reason: problem.reason }, 'config error');
    logger.error(
      { file: configPath, errors: error.problems.length },
      'reload refused: the running config stays',
    );
    return;
  }
  for (const warning of next.warnings)
    logger.warn({ path: warning.path, replacement: warning.replacement }, 'deprecated config key');
  try {
    const summary = await app.reload(next);
    if (summary === undefined) logger.info('reload skipped: shutting down');
    else logger.info({ ...summary }, 'config reloaded');
  } catch (error) {
    logger.error({ err: error }, 'reload failed: the running config stays');
  }
}

async function runDaemon(config: RelayConfig, logger: Logger, configPath: string): Promise<number> {
  const app = createApp(config, { logger });
  let resolveExit: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => (resolveExit = resolve));

  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    // A second SIGTERM/SIGINT must not kill the process mid-flush (the default handler would).
    if (shuttingDown) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.fatal({ deadlineMs: GRACEFUL_SHUTDOWN_MS }, 'shutdown took too long, forcing exit');
      resolveExit(EXIT_FATAL);
    }, FORCE_EXIT_AFTER_MS);
    force.unref();
    app
      .stop(GRACEFUL_SHUTDOWN_MS)
      .then(() => resolveExit(EXIT_OK))
      .catch((error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        resolveExit(EXIT_FATAL);
      });
  };
  // Serialized: a SIGHUP during a reload waits for it, then reads the file again.
  let startup: Promise<void> = Promise.resolve();
  let reloads: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    if (shuttingDown) {
      logger.info({ signal: 'SIGHUP' }, 'shutting down: reload ignored');
      return;
    }
    logger.info({ signal: 'SIGHUP' }, 'reloading the config');
    reloads = reloads
      .then(() => startup)
      .then(() => (shuttingDown ? undefined : reloadConfig(app, configPath, logger)))
      .catch((error: unknown) => logger.error({ err: error }, 'reload failed: the running config stays'));
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    resolveExit(EXIT_FATAL);
  });

  try {
    startup = app.start();
    await startup;
  } catch (error) {
    logger.fatal({ err: error }, error instanceof StartupError ? error.message : 'startup failed');
    await app.stop(2_000).catch(() => undefined); // best effort; the start error is what matters
    return EXIT_FATAL;
  }
  return exit;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Give pino a tick to flush, then leave even if a library left a handle open.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (error: unknown) => {
    err(`fatal: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(EXIT_FATAL);
  },
);
