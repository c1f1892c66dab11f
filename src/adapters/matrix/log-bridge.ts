/**
 * matrix-bot-sdk logs through its global LogService (console by default). This routes it into our
 * pino logger (house style: one root logger, no console) and removes every token and password the
 * Matrix accounts know from the text first: the SDK's own redaction misses refresh_token.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';
import { scrubSecrets } from '../../log/logger.js';
import type { MatrixSdkModule } from './sdk-loader.js';

const secrets = new Set<string>();
let bridged = false;

/** Tokens and passwords to scrub from the SDK's log lines (process-wide: LogService is global). */
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= 4) secrets.add(secret);
}

export function scrub(text: string): string {
  return scrubSecrets(text, [...secrets]);
}

/** Installs the bridge once per process; later calls keep the first logger. */
export function bridgeSdkLogs(sdk: MatrixSdkModule, logger: Logger): void {
  if (bridged) return;
  bridged = true;
  const log = logger.child({ library: 'matrix-bot-sdk' });
  const line = (module: string, args: unknown[]): { module: string; text: string } => ({
    module,
    text: scrub(format(...args)).slice(0, 2_000),
  });
  sdk.LogService.setLogger({
    // The adapter reports what matters itself; SDK errors are kept at warn.
    error: (module: string, ...args: unknown[]) => log.warn(line(module, args), 'matrix-bot-sdk error'),
    warn: (module: string, ...args: unknown[]) => log.warn(line(module, args), 'matrix-bot-sdk warning'),
    info: (module: string, ...args: unknown[]) => log.debug(line(module, args), 'matrix-bot-sdk'),
    debug: (module: string, ...args: unknown[]) => log.debug(line(module, args), 'matrix-bot-sdk'),
    trace: (module: string, ...args: unknown[]) => log.trace(line(module, args), 'matrix-bot-sdk'),
  });
  sdk.LogService.setLevel(
    logger.isLevelEnabled('trace')
      ? sdk.LogLevel.TRACE
      : logger.isLevelEnabled('debug')
        ? sdk.LogLevel.DEBUG
        : sdk.LogLevel.WARN,
  );
}
