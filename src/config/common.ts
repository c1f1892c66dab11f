import { z } from 'zod';

/** Keys every account section may carry, whatever its protocol. */
export const commonAccountShape = {
  /** Shown as {LABEL} in remote_nick_format; defaults to the protocol name. */
  label: z.string().min(1).optional(),
  /** Overrides general.remote_nick_format for messages sent to this account. */
  remote_nick_format: z.string().optional(),
  /** Outbound queue bounds for this account's channels; default from [general]. */
  queue_max_messages: z.number().int().positive().optional(),
  queue_max_age_seconds: z.number().int().positive().optional(),
  /**
   * While the account is `failed` (credentials rejected, banned: a human must act), the next try
   * comes after this, doubling on each failure in a row up to an hour, reset once it connects.
   * Replaces irc fatal_retry_seconds, kosmi auth_retry_minutes and matrix failed_retry_seconds
   * (deprecated.ts maps them for one release).
   */
  retry_failed_seconds: z.number().positive().default(300),
  /**
   * How a reply relayed to this account reads when the network cannot show the original:
   * "mention" ("alice: yes, at nine") or "quote" (a line quoting up to 80 characters of the
   * original, then the reply).
   */
  reply_style: z.enum(['mention', 'quote']).default('mention'),
};

/** A regex given as a string in TOML; compiled here so a bad pattern is a config error with its path. */
export const regexString = z.string().superRefine((value, ctx) => {
  try {
    new RegExp(value);
  } catch (error) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `not a valid regular expression: ${(error as Error).message}`,
    });
  }
});
