import { z } from 'zod';

/**
 * Frames from Kosmi are untrusted input (house style): every payload the bridge reads is parsed
 * here, and one of unexpected shape is reported to the caller, which logs it at warn and drops it.
 */

const userSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  username: z.string().nullish(),
});

/** §4.5: body, time (UNIX) and user are confirmed; id is inferred. */
export const newMessageData = z.object({
  newMessage: z.object({
    id: z.union([z.string(), z.number()]).nullish(),
    body: z.string(),
    time: z.union([z.number(), z.string()]).nullish(),
    user: userSchema,
  }),
});
export type WireMessage = z.infer<typeof newMessageData>['newMessage'];

/**
 * §4.7: `chatArchive { forwardCursor backCursor results }`. The results' fields beyond `id` and
 * `user { id isAnonymous }` were never published; the relay asks for the newMessage selection
 * (§4.5). Results are read oldest first [relay: I]. `id` and `time` may be missing here: the
 * backfill then skips the room (inbound.ts).
 */
export const chatArchiveData = z.object({
  chatArchive: z.object({
    forwardCursor: z.string().nullish(),
    backCursor: z.string().nullish(),
    results: z.array(newMessageData.shape.newMessage),
  }),
});
export type ArchivePage = z.infer<typeof chatArchiveData>['chatArchive'];

export const currentUserData = z.object({ currentUser: userSchema });
export const joinRoomData = z.object({
  joinRoom: z.object({ ok: z.boolean().nullish() }).passthrough().nullish(),
});
export const sendMessageData = z.object({
  sendMessage: z.object({ ok: z.boolean().nullish() }).passthrough().nullish(),
});

/** The display name, falling back to the username, then the id (§4.5, §10). */
export function senderName(user: WireMessage['user']): string {
  const name = user.displayName?.trim() || user.username?.trim();
  return name === undefined || name === '' ? user.id : name;
}

/**
 * `time` is a UNIX timestamp (§4.5). Seconds are expected; a value that can only be milliseconds
 * is taken as such, and a missing or unreadable one is "now".
 */
export function messageTime(time: number | string | null | undefined, now: Date = new Date()): Date {
  const value = typeof time === 'string' ? Number(time) : time;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0)
    return new Date(value > 1e11 ? value : value * 1000);
  if (typeof time === 'string') {
    const parsed = new Date(time);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  return now;
}

/** A short description of a zod failure for the warn line (never the message body). */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
