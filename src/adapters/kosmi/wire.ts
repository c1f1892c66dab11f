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
    /**
     * §4.5 [relay: I]: the message this one answers. Never published; read by `replyOf`, so a
     * reply link of any other shape is ignored and the message itself still relayed.
     */
    replyTo: z.unknown().optional(),
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

const messageId = z.union([z.string().min(1), z.number()]).transform(String);

/**
 * §4.5 [relay: I]: `replyTo { id body user { id displayName username } }`, the relay's guess at how
 * a message names the one it answers (the only published trace is SendMessage2's
 * `replyToMessageId`, §4.6). A bare id is taken too. `body` and `user` are optional.
 */
const replyToSchema = z.union([
  messageId.transform((id) => ({ id, body: undefined, user: undefined })),
  z.object({ id: messageId, body: z.string().nullish(), user: userSchema.nullish() }),
]);

export interface ReplyLink {
  /** The Kosmi id of the message answered. */
  readonly networkId: string;
  readonly nick?: string;
  readonly text?: string;
}

/**
 * The message a newMessage answers, or undefined: none (`null`, absent), or `malformed` when the
 * field is there in a shape the relay does not read (the caller logs that and relays the message
 * without its reply link).
 */
export function replyOf(raw: unknown): ReplyLink | 'malformed' | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parsed = replyToSchema.safeParse(raw);
  if (!parsed.success) return 'malformed';
  const { id, body, user } = parsed.data;
  return {
    networkId: id,
    ...(user === undefined || user === null ? {} : { nick: senderName(user) }),
    ...(body === undefined || body === null ? {} : { text: body }),
  };
}

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
