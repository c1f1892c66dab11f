import { z } from 'zod';
import { commonAccountShape } from './common.js';

/** [matrix.NAME] (issue 4 §1). */
export const matrixAccountSchema = z
  .object({
    ...commonAccountShape,
    homeserver: z.string().url(),
    user_id: z.string().regex(/^@[^:\s]+:\S+$/, 'must look like @user:server'),
    password: z.string().min(1).optional(),
    access_token: z.string().min(1).optional(),
    device_name: z.string().default('kosmi-relay'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.password === undefined && value.access_token === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['password'], message: 'set password, access_token, or both' });
    }
  });

export type MatrixAccountConfig = z.infer<typeof matrixAccountSchema>;
