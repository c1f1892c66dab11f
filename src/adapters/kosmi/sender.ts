import type { Logger } from 'pino';
import { DeliveryError } from '../../core/adapter.js';
import { SEND_MESSAGE, SEND_MESSAGE_2 } from './documents.js';
import { ECHO_WAIT_MS, SentEchoes } from './sent-echoes.js';
import {
  AUTH_ERROR,
  SendOperationRejected,
  VALIDATION_ERROR,
  codeOf,
  describe,
  type GqlResult,
  type SessionEnd,
} from './session-end.js';
import { sendMessageData } from './wire.js';

export interface SenderOptions {
  readonly channelId: string;
  /** §4.6: SendMessage2 first ("auto", falling back to v1 for this session), or one of them only. */
  readonly sendOperation: 'auto' | 'v2' | 'v1';
  readonly log: Logger;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  readonly request: (
    document: { operationName: string; query: string },
    variables: Record<string, unknown>,
  ) => Promise<GqlResult>;
  /** Ends the session (no answer at all, or an auth error). */
  readonly end: (end: SessionEnd) => void;
}

/** Messages into one Kosmi session (docs/kosmi-protocol.md §4.6), and the ids of those sent. */
export class KosmiSender {
  /** Sends not finished yet (a retired session lets them finish). */
  inFlight = 0;
  /** §4.6: false once Kosmi refused SendMessage2 on this session ("auto"). */
  private useV2: boolean;
  private readonly echoes = new SentEchoes();

  constructor(private readonly options: SenderOptions) {
    this.useV2 = options.sendOperation !== 'v1';
  }

  /** One of the relay's own messages came back on newMessage (§10): a send may be waiting for it. */
  echoed(roomId: string, body: string, id: string): void {
    this.echoes.match(roomId, body, id);
  }

  /**
   * sendMessage, checked for ok; resolves with the sent message's Kosmi id when its echo arrives
   * (sent-echoes.ts). Throws DeliveryError. §4.6: SendMessage2 with `channelId` and
   * `replyToMessageId` as the browser sends them; with "auto", a validation error turns this
   * session to v1 and sends again. v1 has no reply argument: the reply goes out as text only.
   */
  async send(roomId: string, body: string, replyTo?: string): Promise<string | undefined> {
    const echo = this.echoes.expect(roomId, body);
    this.inFlight += 1;
    try {
      await this.sendEither(roomId, body, replyTo ?? null);
      return await echo.wait(ECHO_WAIT_MS, this.options.signal);
    } finally {
      echo.cancel();
      this.inFlight -= 1;
    }
  }

  private async sendEither(roomId: string, body: string, replyToMessageId: string | null): Promise<void> {
    if (this.useV2) {
      try {
        return await this.sendWith(SEND_MESSAGE_2, {
          body,
          roomId,
          channelId: this.options.channelId,
          replyToMessageId,
        });
      } catch (error) {
        if (!(error instanceof SendOperationRejected) || this.options.sendOperation !== 'auto') throw error;
        this.useV2 = false;
        this.options.log.warn(
          { reason: error.message },
          'Kosmi refused SendMessage2; using SendMessage (v1) for this connection',
        );
      }
    }
    return this.sendWith(SEND_MESSAGE, { body, roomId });
  }

  private async sendWith(
    document: { operationName: string; query: string },
    variables: Record<string, unknown>,
  ): Promise<void> {
    if (this.options.signal.aborted) throw new DeliveryError('Kosmi connection closed', { retryable: true });
    let result: GqlResult;
    try {
      result = await this.options.request(document, variables);
    } catch (error) {
      // No answer means the socket is gone or going: end the session now, so the adapter stops
      // reporting `connected` and callers wait for the reconnect instead of retrying at once.
      this.options.end({ kind: 'transient', detail: `sendMessage got no answer: ${describe(error)}` });
      throw new DeliveryError(`sendMessage did not complete: ${describe(error)}`, {
        retryable: true,
        cause: error,
      });
    }
    if (result.errors !== undefined && result.errors.length > 0) {
      const detail = result.errors.map((e) => `${e.message}${codeOf(e)}`).join('; ');
      if (document === SEND_MESSAGE_2 && VALIDATION_ERROR.test(detail))
        throw new SendOperationRejected(detail);
      if (AUTH_ERROR.test(detail))
        this.options.end({ kind: 'auth-rejected', detail: `sendMessage: ${detail}` });
      throw new DeliveryError(`Kosmi refused the message: ${detail}`, { retryable: AUTH_ERROR.test(detail) });
    }
    const parsed = sendMessageData.safeParse(result.data);
    if (!parsed.success || parsed.data.sendMessage?.ok !== true) {
      throw new DeliveryError('Kosmi answered sendMessage without ok: true', { retryable: false });
    }
  }
}
