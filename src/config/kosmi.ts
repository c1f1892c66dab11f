import { z } from 'zod';
import { commonAccountShape } from './common.js';

/** A desktop Chrome User-Agent, as the old relay sent (docs/kosmi-protocol.md §1, §2). */
export const DEFAULT_KOSMI_USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/**
 * Playwright selectors for the browser login (docs/kosmi-protocol.md §7: no source published stable
 * selectors, so the defaults find controls by visible text and input type). Each one may be
 * overridden when Kosmi changes its markup.
 */
const loginSelectorsSchema = z
  .object({
    login_button: z
      .string()
      .min(1)
      .default(
        'button:text-matches("^\\\\s*log\\\\s?in\\\\s*$", "i"), a:text-matches("^\\\\s*log\\\\s?in\\\\s*$", "i"), [role=button]:text-matches("^\\\\s*log\\\\s?in\\\\s*$", "i")',
      ),
    email_option: z
      .string()
      .min(1)
      .default(':is(button, a, [role=button], div, span):text-matches("log\\\\s?in with e-?mail", "i")'),
    email_input: z
      .string()
      .min(1)
      .default(
        'input[type=email], input[name*=email i], input[autocomplete=email], input[autocomplete=username]',
      ),
    password_input: z.string().min(1).default('input[type=password]'),
    submit_button: z.string().min(1).default('form button[type=submit], form input[type=submit]'),
    error_text: z.string().min(1).default('[role=alert], [class*=error i], [class*=Error]'),
  })
  .strict();

export type KosmiLoginSelectors = z.infer<typeof loginSelectorsSchema>;

/** [kosmi.NAME] (issue 3 §1). Every key and default is documented in docs/kosmi.md. */
export const kosmiAccountSchema = z
  .object({
    ...commonAccountShape,
    email: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    web_url: z.string().url().default('https://app.kosmi.io'),
    api_url: z.string().url().default('https://engine.kosmi.io/'),
    ws_url: z.string().url().default('wss://engine.kosmi.io/gql-ws'),
    token_cache: z.string().min(1).default('kosmi_token_cache.json'),
    refresh_before_days: z.number().positive().default(7),
    /** Browser login: overall limit, from opening the page to holding the user's token. */
    login_timeout_seconds: z.number().positive().default(90),
    login_selectors: loginSelectorsSchema.default({}),
    /** Sent as the User-Agent header and, base64-encoded, as connection_init `ua` (§2). */
    user_agent: z.string().min(1).default(DEFAULT_KOSMI_USER_AGENT),
    /** connection_init `v`: the web app's version (§2; "4364" in Oct 2025). */
    app_version: z.string().default('4364'),
    /** The chat channel of a room; "general" is the only one anyone has seen (§5). */
    channel_id: z.string().min(1).default('general'),
    /** Client-side throttle (§9: no rate limit is documented): a token bucket. */
    send_rate_per_second: z.number().positive().default(1),
    send_burst: z.number().int().positive().default(3),
    /** Longer messages are split at whitespace into several (§12.4: the real limit is unknown). */
    max_message_bytes: z.number().int().min(64).default(1000),
    /** WebSocket ping frames, and how long a socket may stay silent before it counts as dead (§2). */
    ping_interval_seconds: z.number().positive().default(30),
    read_timeout_seconds: z.number().positive().default(90),
    /** Longest wait between reconnect attempts. */
    reconnect_max_seconds: z.number().positive().default(60),
    /** After a (re)connect, messages missed while away are relayed when no older than this (§4.7). */
    backlog_max_age_seconds: z.number().int().min(0).default(900),
    /** §4.6: "auto" sends SendMessage2 and falls back to v1 when Kosmi refuses it at validation. */
    send_operation: z.enum(['auto', 'v2', 'v1']).default('auto'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.email === undefined) !== (value.password === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [value.email === undefined ? 'email' : 'password'],
        message: 'set both email and password for an email login, or neither for an anonymous one',
      });
    }
    if (value.read_timeout_seconds <= value.ping_interval_seconds) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['read_timeout_seconds'],
        message: 'must be longer than ping_interval_seconds',
      });
    }
  });

export type KosmiAccountConfig = z.infer<typeof kosmiAccountSchema>;
