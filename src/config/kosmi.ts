import { z } from 'zod';
import { commonAccountShape } from './common.js';

/** [kosmi.NAME] (issue 3 §1). */
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
  });

export type KosmiAccountConfig = z.infer<typeof kosmiAccountSchema>;
