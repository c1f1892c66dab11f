/**
 * Outbound delivery into Matrix rooms: one piece, one PUT, one answer (issue 7 §3). The core owns
 * order and retries; this only maps the answer:
 *
 * - The transaction id is derived from the piece id, which the core keeps in its store, so a piece
 *   sent again (after a timeout, a re-login, a restart) is deduplicated by the homeserver (spec
 *   §"Transaction identifiers") instead of posting twice.
 * - A rejected token is renewed by MatrixApi, which repeats the same PUT; a 429 becomes a retryable
 *   DeliveryError carrying retry_after_ms, which the core waits; network errors and 5xx are
 *   retryable. M_FORBIDDEN is logged as an error for that room and the piece is dropped (not
 *   retryable); it never leads to a login.
 * - A deletion (piece.redacts) is a redaction (spec §"Redactions", PUT .../redact/{eventId}/{txnId},
 *   never encrypted); M_FORBIDDEN there (the relay may not redact that event) is a non-retryable
 *   DeliveryError that the core logs, so it is not logged here.
 */
import type { Logger } from 'pino';
import { DeliveryError, type SendResult, type WireListener } from '../../core/adapter.js';
import { errorMessage } from '../../core/errors.js';
import type { OutboundPiece } from '../../core/message.js';
import type { MatrixApi, RelayClient } from './client.js';
import { classifyMatrixError } from './errors.js';
import { contentForPiece } from './outbound.js';
import type { Rooms } from './rooms.js';
import { MatrixAuthFailure } from './session-manager.js';

export interface SenderOptions {
  readonly api: MatrixApi;
  readonly rooms: Rooms;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly html: boolean;
  /** The SDK client when encryption is on (it encrypts for encrypted rooms). */
  readonly client: () => RelayClient | undefined;
}

export class MatrixSender {
  constructor(private readonly options: SenderOptions) {}

  async send(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    if (this.options.signal.aborted) throw new DeliveryError('Matrix adapter stopped', { retryable: true });
    const roomId = this.options.rooms.roomFor(piece.channel);
    if (roomId === undefined)
      throw new DeliveryError(`not in Matrix room ${piece.channel} (yet)`, { retryable: true });
    if (piece.redacts !== undefined) {
      const eventId = await this.redact(roomId, piece.channel, piece.redacts, `kr.${piece.id}`);
      return { wire: [], ...(eventId === undefined ? {} : { networkId: eventId }) };
    }
    const content = contentForPiece(piece, { html: this.options.html });
    const body = typeof content.body === 'string' ? content.body : '';
    onWire(body);
    const eventId = await this.put(roomId, piece.channel, content, `kr.${piece.id}`);
    return { wire: [body], ...(eventId === undefined ? {} : { networkId: eventId }) };
  }

  private async redact(
    roomId: string,
    channel: string,
    target: string,
    txnId: string,
  ): Promise<string | undefined> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(target)}/${encodeURIComponent(txnId)}`;
    try {
      return eventIdOf(await this.options.api.request({ method: 'PUT', path, body: {} }));
    } catch (error) {
      if (classifyMatrixError(error).kind === 'forbidden')
        throw new DeliveryError(`may not redact ${target} in ${channel}: ${errorMessage(error)}`, {
          retryable: false,
          cause: error,
        });
      throw this.deliveryError(error, channel, roomId);
    }
  }

  private async put(
    roomId: string,
    channel: string,
    plain: Record<string, unknown>,
    txnId: string,
  ): Promise<string | undefined> {
    let type = 'm.room.message';
    let content: unknown = plain;
    const crypto = this.options.client()?.crypto;
    if (crypto !== undefined && (await crypto.isRoomEncrypted(roomId))) {
      content = await crypto.encryptRoomEvent(roomId, type, plain);
      type = 'm.room.encrypted';
    }
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;
    try {
      return eventIdOf(await this.options.api.request({ method: 'PUT', path, body: content }));
    } catch (error) {
      throw this.deliveryError(error, channel, roomId);
    }
  }

  private deliveryError(error: unknown, channel: string, roomId: string): DeliveryError {
    if (error instanceof MatrixAuthFailure)
      return new DeliveryError(error.message, { retryable: true, cause: error });
    const verdict = classifyMatrixError(error);
    const reason = errorMessage(error);
    switch (verdict.kind) {
      case 'aborted':
        return new DeliveryError('Matrix adapter stopped', { retryable: true, cause: error });
      case 'token':
        return new DeliveryError(`Matrix access token still rejected after renewal: ${reason}`, {
          retryable: true,
          cause: error,
        });
      case 'rate-limited':
        return new DeliveryError(`rate-limited by the homeserver: ${reason}`, {
          retryable: true,
          cause: error,
          retryAfterMs: verdict.retryAfterMs,
        });
      case 'transient':
        return new DeliveryError(`Matrix send failed: ${reason}`, { retryable: true, cause: error });
      case 'forbidden':
        this.options.log.error(
          { channel, roomId, reason },
          'the homeserver refused our message in this room (M_FORBIDDEN): check that the relay may post there',
        );
        return new DeliveryError(`forbidden in ${channel}: ${reason}`, { retryable: false, cause: error });
      case 'fatal':
        return new DeliveryError(`Matrix refused the message: ${reason}`, { retryable: false, cause: error });
    }
  }
}

function eventIdOf(answer: unknown): string | undefined {
  const eventId = (answer as { event_id?: unknown } | null)?.event_id;
  return typeof eventId === 'string' ? eventId : undefined;
}
