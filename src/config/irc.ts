import { z } from 'zod';
import { commonAccountShape, regexString } from './common.js';

/** [irc.NAME] (issue 2 §2, §4). Defaults live here so the schema is the one source. */
export const ircAccountSchema = z
  .object({
    ...commonAccountShape,
    server: z.string().min(1),
    tls: z.boolean().default(false),
    tls_verify: z.boolean().default(true),
    nick: z.string().regex(/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/, 'not a valid IRC nick'),
    realname: z.string().default('kosmi-relay'),
    password: z.string().optional(),
    sasl_account: z.string().optional(),
    sasl_password: z.string().optional(),
    nickserv_password: z.string().optional(),
    ignore_nicks: z.array(regexString).default([]),
    ignore_messages: z.array(regexString).default([]),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.sasl_account === undefined) !== (value.sasl_password === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [value.sasl_account === undefined ? 'sasl_account' : 'sasl_password'],
        message: 'sasl_account and sasl_password go together',
      });
    }
  });

export type IrcAccountConfig = z.infer<typeof ircAccountSchema>;
