import type { z } from 'zod';
import { DeliveryError } from '../../core/adapter.js';
import { describeIssues, joinRoomData } from './wire.js';

/**
 * How a Kosmi session ends, and how GraphQL errors and close codes are read (docs/kosmi-protocol.md
 * §9). session.ts reports these; adapter.ts decides retry, renew or failed.
 */
/** Why a session could not open, or why it ended. One place maps these to retry or `failed`. */
export type SessionEnd =
  /** The server refused the token: close 4401/4403 at any time, or an auth error (§9). */
  | { readonly kind: 'auth-rejected'; readonly detail: string }
  /** The socket opened and closed again before connection_ack (§9 [I]: perhaps the token). */
  | { readonly kind: 'init-closed'; readonly detail: string }
  /** A room that does not exist, or another error a reconnect cannot fix. */
  | { readonly kind: 'fatal'; readonly detail: string }
  | { readonly kind: 'room-disconnect'; readonly detail: string }
  /** A frame that broke the protocol (graphql-ws closed with 4004) or was too big (1009). */
  | { readonly kind: 'protocol-error'; readonly detail: string }
  | { readonly kind: 'transient'; readonly detail: string }
  | { readonly kind: 'closed-by-us'; readonly detail: string };

/** A GraphQL result as it arrives on the wire (a `next` or `error` frame). */
export interface GqlResult {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string; readonly extensions?: Record<string, unknown> }[];
}

export class SessionError extends Error {
  constructor(readonly end: SessionEnd) {
    super(end.detail);
    this.name = 'SessionError';
  }
}

export const AUTH_ERROR = /unauth|forbidden|not authenticated|invalid token|expired|jwt|token/i;
/** A GraphQL validation error: the server does not know a field, argument, type or operation. */
export const VALIDATION_ERROR =
  /GRAPHQL_VALIDATION_FAILED|unknown (argument|field|type|operation)|cannot query field|is not defined/i;
/** graphql-ws closes with this when a server frame breaks the protocol (null, [], unknown type). */
export const CLOSE_BAD_RESPONSE = 4004;
/** ws closes with this when a frame is bigger than maxPayload (RFC 6455 §7.4.1). */
export const CLOSE_TOO_BIG = 1009;

/** Kosmi refused SendMessage2 at validation: the adapter's cue to use v1 (§4.6). */
export class SendOperationRejected extends DeliveryError {
  constructor(detail: string) {
    super(`Kosmi refused SendMessage2: ${detail}`, { retryable: false });
    this.name = 'SendOperationRejected';
  }
}

export function codeOf(error: { extensions?: Record<string, unknown> }): string {
  const code = error.extensions?.code;
  return typeof code === 'string' ? ` (${code})` : '';
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'code' in error)
    return `socket closed (${String(error.code)})`;
  return String(error);
}

/** A query's `data`, parsed; its errors end the session (auth or transient). Throws SessionError. */
export function parseResult<T extends z.ZodTypeAny>(schema: T, result: GqlResult, what: string): z.infer<T> {
  const errors = (result.errors ?? []).map((e) => e.message).join('; ');
  if (errors !== '') {
    throw new SessionError({
      kind: AUTH_ERROR.test(errors) ? 'auth-rejected' : 'transient',
      detail: `${what}: ${errors}`,
    });
  }
  const parsed = schema.safeParse(result.data);
  if (!parsed.success) {
    // A null currentUser is how a GraphQL server usually says "not logged in".
    const kind = result.data?.[what] === null ? 'auth-rejected' : 'transient';
    throw new SessionError({
      kind,
      detail: `${what} answered an unexpected shape: ${describeIssues(parsed.error)}`,
    });
  }
  return parsed.data as z.infer<T>;
}

export function checkJoin(result: GqlResult, roomId: string): void {
  const errors = (result.errors ?? []).map((e) => `${e.message}${codeOf(e)}`).join('; ');
  if (/ROOM_NOT_FOUND/.test(errors)) {
    throw new SessionError({
      kind: 'fatal',
      detail: `Kosmi room ${roomId} not found (ROOM_NOT_FOUND): check the channel; named rooms keep their "@"`,
    });
  }
  if (errors !== '')
    throw new SessionError({
      kind: AUTH_ERROR.test(errors) ? 'auth-rejected' : 'transient',
      detail: `joinRoom ${roomId}: ${errors}`,
    });
  const parsed = joinRoomData.safeParse(result.data);
  if (!parsed.success || parsed.data.joinRoom?.ok === false) {
    throw new SessionError({ kind: 'transient', detail: `joinRoom ${roomId} did not answer ok` });
  }
}
