import { z } from 'zod';
import type { Gateway } from '../core/gateway.js';
import type { ConfigWarning } from './deprecated.js';
import { parseHostPort } from './host-port.js';
import { ircAccountSchema } from './irc.js';
import { kosmiAccountSchema } from './kosmi.js';
import { matrixAccountSchema } from './matrix.js';

export const DEFAULT_REMOTE_NICK_FORMAT = '[{PROTOCOL}] <{NICK}> ';

const generalSchema = z
  .object({
    remote_nick_format: z.string().default(DEFAULT_REMOTE_NICK_FORMAT),
    /** Default: $RELAY_DATA_DIR, else $MATTERBRIDGE_DATA_DIR, else ./data (resolved in load.ts). */
    data_dir: z.string().min(1).optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** "host:port" for /healthz and /metrics; absent: no HTTP listener. */
    http_listen: z
      .string()
      .refine((value) => parseHostPort(value)?.port !== undefined, 'must be "host:port"')
      .optional(),
    /** Outbound queue bounds per destination channel while it is disconnected. */
    queue_max_messages: z.number().int().positive().default(1000),
    queue_max_age_seconds: z.number().int().positive().default(900),
    /** How long the message map remembers a relayed message (replies, edits, deletions follow it). */
    message_map_days: z.number().positive().default(30),
    /**
     * Where http_listen is reachable from outside (docs/media.md); links to files posted on Matrix
     * are `{public_url}/media/...`. Absent: no links, no /media/ route. Kept without trailing "/".
     */
    public_url: z
      .string()
      .superRefine((value, ctx) => {
        const problem = publicUrlProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      })
      .transform((value) => value.replace(/\/+$/, ''))
      .optional(),
    /** Largest file /media/ serves, in MB (1 MB = 1,048,576 bytes). */
    media_max_mb: z.number().positive().default(100),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.public_url !== undefined && value.http_listen === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['public_url'],
        message: 'needs general.http_listen, the listener that serves /media/',
      });
    }
  });

/** Why text is not an absolute http(s) URL without query and fragment, or undefined when it is one. */
function publicUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL, e.g. "https://relay.example.org"';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (url.search !== '' || value.includes('?')) return 'must not have a query ("?...")';
  if (url.hash !== '' || value.includes('#')) return 'must not have a fragment ("#...")';
  return undefined;
}

const endpointSchema = z.object({ account: z.string().min(1), channel: z.string().min(1) }).strict();

const gatewaySchema = z
  .object({
    name: z.string().min(1),
    enabled: z.boolean().default(true),
    inout: z.array(endpointSchema).default([]),
    in: z.array(endpointSchema).default([]),
    out: z.array(endpointSchema).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    general: generalSchema.default({}),
    irc: z.record(ircAccountSchema).default({}),
    kosmi: z.record(kosmiAccountSchema).default({}),
    matrix: z.record(matrixAccountSchema).default({}),
    gateway: z.array(gatewaySchema).default([]),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
export type GeneralConfig = z.infer<typeof generalSchema>;
export type GatewayConfig = z.infer<typeof gatewaySchema>;

export type AccountConfig =
  | { protocol: 'irc'; name: string; id: string; settings: RawConfig['irc'][string] }
  | { protocol: 'kosmi'; name: string; id: string; settings: RawConfig['kosmi'][string] }
  | { protocol: 'matrix'; name: string; id: string; settings: RawConfig['matrix'][string] };

export type { Direction, Gateway, GatewayEndpoint } from '../core/gateway.js';

/** The validated, resolved config the app runs on. */
export interface RelayConfig {
  readonly configPath: string;
  readonly general: GeneralConfig & { readonly data_dir: string };
  readonly accounts: ReadonlyMap<string, AccountConfig>;
  /** Enabled gateways only. */
  readonly gateways: readonly Gateway[];
  /** Deprecated keys that were used (logged once at startup, printed by check-config). */
  readonly warnings: readonly ConfigWarning[];
}
