/**
 * Timeline events of the gateway rooms -> neutral messages and deletions (issue 4 §3, issue 8 §1):
 * which events are relayed at all (not our own, not history, not backlog past the max age), then
 * inbound.ts's mapping, the sender's display name, and for a reply whose original the message map
 * does not know, the original itself (GET /rooms/{roomId}/event/{eventId}, spec §"Getting events
 * for a room") so the reply still says whom it answers.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MatrixAccountConfig } from '../../config/matrix.js';
import { errorMessage } from '../../core/errors.js';
import type { ChatDeletion, ChatMessage } from '../../core/message.js';
import type { MessageLookup } from '../types.js';
import type { MediaLinks } from '../../media/types.js';
import type { MatrixApi } from './client.js';
import { mapRoomMessage } from './inbound.js';
import { isObject, type Json } from './json.js';
import type { Rooms } from './rooms.js';
import type { BatchMode } from './sync-loop.js';
import { MatrixAuthFailure } from './session-manager.js';

export interface ReceiveOptions {
  readonly account: string;
  readonly settings: MatrixAccountConfig;
  readonly api: MatrixApi;
  readonly rooms: Rooms;
  readonly log: Logger;
  readonly messages: MessageLookup;
  readonly media: MediaLinks | undefined;
  /** The relay's own user id (its events are never relayed back). */
  readonly ownUserId: () => string | undefined;
  /** When this account first ever started (ms); the first sync's events before it are history. */
  readonly firstStartedAt: () => number;
  readonly emitMessage: (message: ChatMessage) => void;
  readonly emitDeletion: (deletion: ChatDeletion) => void;
}

type ReplyTo = NonNullable<ChatMessage['replyTo']>;

export class ReceiveEvents {
  constructor(private readonly options: ReceiveOptions) {}

  /** One timeline event: m.room.message, m.sticker or m.room.redaction. */
  async onEvent(roomId: string, event: Json, mode: BatchMode): Promise<void> {
    if (typeof event.sender !== 'string' || typeof event.event_id !== 'string') return;
    if (event.sender === this.options.ownUserId()) return; // our own message or redaction
    const channels = this.options.rooms.channelsOf(roomId);
    if (channels.length === 0) return; // not a gateway room
    if (!this.isNew(roomId, event, mode)) return;
    if (event.type === 'm.room.redaction') this.onRedaction(event, channels);
    else await this.onMessage(roomId, event, event.sender, channels);
  }

  /**
   * A redaction removes a message (spec §"Redactions"): the redacted event's id is `content.redacts`
   * from room version 11 on and the top-level `redacts` before; both are read.
   */
  private onRedaction(event: Json, channels: readonly string[]): void {
    const content = isObject(event.content) ? event.content : {};
    const redacts = typeof content.redacts === 'string' ? content.redacts : event.redacts;
    if (typeof redacts !== 'string') return;
    for (const channel of channels) {
      this.options.log.debug({ eventId: event.event_id, redacts, channel }, 'received a redaction');
      this.options.emitDeletion({ source: { account: this.options.account, channel }, networkId: redacts });
    }
  }

  private async onMessage(
    roomId: string,
    event: Json,
    sender: string,
    channels: readonly string[],
  ): Promise<void> {
    const eventId = String(event.event_id);
    const mapped = mapRoomMessage(String(event.type), event.content, {
      edits: this.options.settings.edits,
      media: this.options.media,
    });
    if (!mapped.relay) {
      this.options.log.debug({ eventId, why: mapped.why }, 'not relaying Matrix event');
      return;
    }
    const nick = await this.options.rooms.displayName(roomId, sender);
    const replyTo = mapped.replyTo === undefined ? undefined : await this.original(roomId, mapped.replyTo);
    const ts = typeof event.origin_server_ts === 'number' ? event.origin_server_ts : Date.now();
    for (const channel of channels) {
      this.options.log.debug({ eventId, channel }, 'received');
      this.options.emitMessage({
        id: randomUUID(),
        // The event id lets the core tell an event read again after a restart. A room listed
        // under two channel names is relayed for each, so only the first carries it.
        ...(channel === channels[0] ? { networkId: eventId } : {}),
        kind: mapped.kind,
        text: mapped.text,
        sender: { nick, userId: sender },
        source: { account: this.options.account, channel },
        timestamp: new Date(ts),
        ...(replyTo === undefined ? {} : { replyTo }),
        ...(mapped.editOf === undefined ? {} : { editOf: mapped.editOf }),
        ...(mapped.attachment === undefined ? {} : { attachment: mapped.attachment }),
      });
    }
  }

  /**
   * What a reply answers. The core finds an original it relayed in its map; for another one (said
   * before the relay joined, or not relayed) the event is fetched for its author and text. A
   * failed fetch (not visible, gone, network) leaves just the id.
   */
  private async original(roomId: string, eventId: string): Promise<ReplyTo> {
    if (this.options.messages.knows(eventId)) return { networkId: eventId };
    try {
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`;
      const original = await this.options.api.request({ method: 'GET', path });
      if (!isObject(original) || typeof original.sender !== 'string') return { networkId: eventId };
      const nick = await this.options.rooms.displayName(roomId, original.sender);
      // The event's own text; when the original is itself an edit, its m.new_content.
      const mapped = mapRoomMessage(String(original.type), original.content, {
        edits: 'mark',
        media: undefined,
      });
      return { networkId: eventId, nick, ...(mapped.relay ? { text: mapped.text } : {}) };
    } catch (error) {
      if (error instanceof MatrixAuthFailure) throw error;
      this.options.log.debug(
        { eventId, reason: errorMessage(error) },
        'could not fetch the original of a reply',
      );
      return { networkId: eventId };
    }
  }

  /** False for history and stale backlog (issue 4 §3), logged at debug. */
  private isNew(roomId: string, event: Json, mode: BatchMode): boolean {
    const ts = typeof event.origin_server_ts === 'number' ? event.origin_server_ts : Date.now();
    // unsigned.age is the server's own "how long ago", so these checks do not depend on clock skew.
    const unsigned = isObject(event.unsigned) ? event.unsigned : {};
    const ageMs = typeof unsigned.age === 'number' ? unsigned.age : Date.now() - ts;
    // The account's first sync is history, except what was said since the account first started:
    // a first sync that failed half-way is repeated as 'initial', and a message said meanwhile
    // must still be relayed (it is not history).
    if (mode === 'initial' && Date.now() - ageMs < this.options.firstStartedAt()) return false;
    const joinedAt = this.options.rooms.joinStartedAt(roomId);
    if (joinedAt !== undefined && Date.now() - ageMs < joinedAt) {
      this.options.log.debug(
        { eventId: event.event_id },
        'not relaying history from before the relay joined the room',
      );
      return false;
    }
    const maxAgeMs = this.options.settings.backlog_max_age_seconds * 1000;
    if (mode === 'catchup' && ageMs > maxAgeMs) {
      this.options.log.debug(
        { eventId: event.event_id, ageMs },
        'not relaying backlog older than backlog_max_age_seconds',
      );
      return false;
    }
    return true;
  }
}
