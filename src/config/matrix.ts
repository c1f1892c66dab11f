import { z } from 'zod';
import { commonAccountShape } from './common.js';

/** Defaults, named so docs/matrix.md and the adapter quote the same numbers. */
export const MATRIX_DEFAULTS = {
  device_name: 'kosmi-relay',
  html: true,
  encryption: false,
  edits: 'mark',
  edit_marker: '(edited) ',
  edit_window_minutes: 15,
  backlog_max_age_seconds: 900,
  sync_timeout_seconds: 30,
} as const;

/**
 * [matrix.NAME] (issue 4 §1). The first five keys are the issue's user-facing contract; the rest
 * are documented in docs/matrix.md.
 */
export const matrixAccountSchema = z
  .object({
    ...commonAccountShape,
    /** Client-Server API base URL, e.g. https://matrix.example.org (no /_matrix suffix). */
    homeserver: z.string().url(),
    user_id: z.string().regex(/^@[^:\s]+:\S+$/, 'must look like @user:server'),
    password: z.string().min(1).optional(),
    access_token: z.string().min(1).optional(),
    /** Shown in the account's device list; set only when a login creates the device. */
    device_name: z.string().min(1).default(MATRIX_DEFAULTS.device_name),
    /** Send a formatted_body (org.matrix.custom.html) with the nick in bold next to the plain body. */
    html: z.boolean().default(MATRIX_DEFAULTS.html),
    /**
     * End-to-end encryption. Needs the native @matrix-org/matrix-sdk-crypto-nodejs binary; off, that
     * module is never loaded and encrypted rooms get one warning.
     */
    encryption: z.boolean().default(MATRIX_DEFAULTS.encryption),
    /** Edits (m.replace) from Matrix: 'mark' relays the new text with edit_marker, 'drop' ignores them. */
    edits: z.enum(['mark', 'drop']).default(MATRIX_DEFAULTS.edits),
    /** Put in front of the text of a relayed edit. */
    edit_marker: z.string().default(MATRIX_DEFAULTS.edit_marker),
    /**
     * An edit of a message older than this is not relayed to networks that cannot edit in place
     * (IRC, Kosmi), where it would arrive as a new line long after the conversation moved on.
     */
    edit_window_minutes: z.number().min(0).default(MATRIX_DEFAULTS.edit_window_minutes),
    /**
     * After a restart, messages that arrived while the relay was down are relayed when younger than
     * this; 0 relays none. Never anything from before the very first start.
     */
    backlog_max_age_seconds: z.number().int().min(0).default(MATRIX_DEFAULTS.backlog_max_age_seconds),
    /** Long-poll timeout of /sync. */
    sync_timeout_seconds: z.number().int().min(1).max(300).default(MATRIX_DEFAULTS.sync_timeout_seconds),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.password === undefined && value.access_token === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['password'],
        message: 'set password, access_token, or both',
      });
    }
    if (/\/_matrix\/?/.test(value.homeserver)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['homeserver'],
        message: 'give the base URL without /_matrix (e.g. https://matrix.example.org)',
      });
    }
  });

export type MatrixAccountConfig = z.infer<typeof matrixAccountSchema>;
