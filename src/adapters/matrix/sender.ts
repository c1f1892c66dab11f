/**
 * Outbound delivery into Matrix rooms, in order, none lost (issue 4 §2):
 *
 * - Sends run one at a time, in call order.
 * - Each event has a transaction id derived from the message id, so a repeated PUT (after a
 *   re-login, a timeout, a router retry) is deduplicated by the homeserver (spec §"Transaction
 *   identifiers") instead of posting twice.
 * - A rejected token is renewed by MatrixApi and the same PUT repeated; a 429 waits retry_after_ms;
 *   network errors and 5xx are retried a few times, then reported as a retryable DeliveryError
 *   so the router keeps the message at the head of its queue. M_FORBIDDEN is logged as an error for
 *   that room and the message is dropped (not retryable); it never leads to a login.
 */
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../core/message.js';
import { sleep } from '../../core/backoff.js';
import { DeliveryError } from '../types.js';
import type { MatrixApi, RelayClient } from './client.js';
import { classifyMatrixError } from './errors.js';
import { renderForMatrix, type MatrixTextContent } from './outbound.js';
import type { Rooms } from './rooms.js';
import { MatrixAuthFailure } from './session-manager.js';

/** Network/5xx attempts per send() before handing the message back to the router's queue. */
const TRANSIENT_ATTEMPTS = 3;
const TRANSIENT_DELAY_MS = 300;
/** 429 answers obeyed per send() before handing back (each waits retry_after_ms). */
const RATE_LIMIT_WAITS = 30;
/** Message ids whose bodies were already reported to rememberSent (router retries resend them). */
const REMEMBERED_IDS = 2_000;

export interface SenderOptions {
  readonly api: MatrixApi;
  readonly rooms: Rooms;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly html: boolean;
  readonly rememberSent: (text: string) => void;
  /** The SDK client when encryption is on (it encrypts for encrypted rooms). */
  readonly client: () => RelayClient | undefined;
}

export class MatrixSender {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly remembered = new Set<string>();

  constructor(private readonly options: SenderOptions) {}

  send(message: OutboundMessage): Promise<void> {
    const run = this.chain.then(() => this.deliver(message));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async deliver(message: OutboundMessage): Promise<void> {
    if (this.options.signal.aborted) throw new DeliveryError('Matrix adapter stopped', { retryable: true });
    const roomId = this.options.rooms.roomFor(message.channel);
    if (roomId === undefined)
      throw new DeliveryError(`not in Matrix room ${message.channel} (yet)`, { retryable: true });
    const parts = renderForMatrix(message, { html: this.options.html });
    const firstTime = !this.remembered.has(message.id);
    this.rememberId(message.id);
    for (const [index, content] of parts.entries()) {
      if (firstTime) this.options.rememberSent(content.body);
      await this.put(roomId, message.channel, content, `kr.${message.id}.${index}`);
    }
  }

  private async put(roomId: string, channel: string, plain: MatrixTextContent, txnId: string): Promise<void> {
    let type = 'm.room.message';
    let content: unknown = plain;
    const crypto = this.options.client()?.crypto;
    if (crypto !== undefined && (await crypto.isRoomEncrypted(roomId))) {
      content = await crypto.encryptRoomEvent(roomId, type, plain);
      type = 'm.room.encrypted';
    }
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;
    let transient = 0;
    let waits = 0;
    for (;;) {
      try {
        await this.options.api.request({ method: 'PUT', path, body: content });
        return;
      } catch (error) {
        if (error instanceof MatrixAuthFailure)
          throw new DeliveryError(error.message, { retryable: true, cause: error });
        const verdict = classifyMatrixError(error);
        const reason = error instanceof Error ? error.message : String(error);
        switch (verdict.kind) {
          case 'aborted':
            throw new DeliveryError('Matrix adapter stopped', { retryable: true, cause: error });
          case 'token':
            throw new DeliveryError(`Matrix access token still rejected after renewal: ${reason}`, {
              retryable: true,
              cause: error,
            });
          case 'rate-limited':
            if (++waits > RATE_LIMIT_WAITS)
              throw new DeliveryError(`rate-limited: ${reason}`, { retryable: true, cause: error });
            this.options.log.warn(
              { channel, retryAfterMs: verdict.retryAfterMs },
              'rate-limited by the homeserver, waiting',
            );
            await this.pause(verdict.retryAfterMs, error);
            break;
          case 'transient':
            if (++transient >= TRANSIENT_ATTEMPTS)
              throw new DeliveryError(`Matrix send failed: ${reason}`, { retryable: true, cause: error });
            await this.pause(TRANSIENT_DELAY_MS * 2 ** (transient - 1), error);
            break;
          case 'forbidden':
            this.options.log.error(
              { channel, roomId, reason },
              'the homeserver refused our message in this room (M_FORBIDDEN): check that the relay may post there',
            );
            throw new DeliveryError(`forbidden in ${channel}: ${reason}`, { retryable: false, cause: error });
          case 'fatal':
            throw new DeliveryError(`Matrix refused the message: ${reason}`, {
              retryable: false,
              cause: error,
            });
        }
      }
    }
  }

  private async pause(ms: number, cause: unknown): Promise<void> {
    try {
      await sleep(ms, this.options.signal);
    } catch {
      throw new DeliveryError('Matrix adapter stopped', { retryable: true, cause });
    }
  }

  private rememberId(id: string): void {
    this.remembered.add(id);
    if (this.remembered.size > REMEMBERED_IDS) {
      const oldest = this.remembered.values().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }
}
