import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Field names whose values are secrets, at any depth we log. pino's redact works on paths, so the
 * list names them at the top level and one and two levels down (house style: "Secrets ... are
 * redacted, and a test proves it").
 */
const SECRET_KEYS = [
  'password',
  'sasl_password',
  'nickserv_password',
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'authorization',
  'Authorization',
  'cookie',
  'payload',
  'connectionParams',
];
export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  readonly level?: string;
  /** LOG_FORMAT=pretty gives readable lines; default JSON. */
  readonly pretty?: boolean;
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { app: 'kosmi-relay' },
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (options.pretty === true) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: false, destination: 1 } },
    });
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/**
 * Removes known secret values from a text before it is logged or thrown (an error message from a
 * library may quote a URL or body that holds a token).
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
