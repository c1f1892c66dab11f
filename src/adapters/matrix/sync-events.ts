/**
 * Hands the timeline events of one /sync answer (spec §"Syncing", `rooms.join.<id>.timeline`) to
 * the adapter, in order, decrypting first when the account has end-to-end encryption.
 *
 * This replaces matrix-bot-sdk's protected MatrixClient.processSync, which the adapter used to call
 * through a subclass. It does what processSync (lib/MatrixClient.js, 0.8.0) does for joined rooms,
 * with only the SDK's public API and only when encryption is on:
 *
 * - the to-device events, one-time-key counts, unused fallback key types and device list changes
 *   of the answer go to CryptoClient.updateSyncData (public, lib/e2ee/CryptoClient.d.ts);
 * - an `m.room.encrypted` event in a room the CryptoClient knows to be encrypted is decrypted with
 *   CryptoClient.decryptRoomEvent, or reported as a failed decryption;
 * - every timeline event is emitted as `room.event`, and our own join as `room.join`, on the SDK
 *   client (an EventEmitter): the client's constructor subscribes its CryptoClient to exactly these
 *   two (lib/MatrixClient.js lines 99-107) to track room encryption and the users whose devices
 *   it must encrypt for. (The adapter's earlier emit callback kept them from the client.)
 *
 * Invites, leaves and room state are read by the adapter from the raw answer itself.
 */
import type { CryptoClient, MatrixClient } from 'matrix-bot-sdk';
import type { MatrixSdkModule } from './sdk-loader.js';
import { isObject, type Json } from './json.js';

/** The timeline events the adapter relays (issue 8: stickers and redactions too). */
const RELAYED_TYPES = new Set(['m.room.message', 'm.sticker', 'm.room.redaction']);

const arrayAt = (value: unknown, key: string): unknown[] => {
  const found = isObject(value) ? value[key] : undefined;
  return Array.isArray(found) ? found : [];
};

/** The SDK parts needed to decrypt, present only with `encryption = true`. */
export interface SyncCrypto {
  readonly client: MatrixClient;
  readonly crypto: CryptoClient;
  readonly EncryptedRoomEvent: MatrixSdkModule['EncryptedRoomEvent'];
  readonly ownUserId: string;
  /** Rooms whose join was announced to the client already (processSync's lastJoinedRoomIds). */
  readonly announcedJoins: Set<string>;
}

export interface SyncEventHandlers {
  /** Every timeline event of a joined room, after decryption (state and membership changes). */
  readonly onEvent: (roomId: string, event: unknown) => void;
  /** `m.room.message`, `m.sticker` and `m.room.redaction` events (after decryption); awaited in order. */
  readonly onMessage: (roomId: string, event: Json) => Promise<void>;
  readonly onUndecryptable: (roomId: string, event: Json, error: unknown) => void;
}

export async function dispatchSyncEvents(
  response: Json,
  handlers: SyncEventHandlers,
  e2ee?: SyncCrypto,
): Promise<void> {
  if (e2ee !== undefined) await feedCrypto(response, e2ee);
  const rooms = isObject(response.rooms) ? response.rooms : {};
  const joined = isObject(rooms.join) ? rooms.join : {};
  for (const [roomId, room] of Object.entries(joined)) {
    const timeline = isObject(room) ? room.timeline : undefined;
    for (const raw of arrayAt(timeline, 'events')) {
      if (!isObject(raw)) continue;
      let event = raw;
      if (e2ee !== undefined) {
        announceJoin(roomId, event, e2ee);
        if (event.type === 'm.room.encrypted' && (await e2ee.crypto.isRoomEncrypted(roomId))) {
          try {
            const decrypted = await e2ee.crypto.decryptRoomEvent(new e2ee.EncryptedRoomEvent(event), roomId);
            event = isObject(decrypted.raw) ? withClearRelation(decrypted.raw, raw) : event;
          } catch (error) {
            handlers.onUndecryptable(roomId, event, error);
          }
        }
      }
      if (RELAYED_TYPES.has(String(event.type))) await handlers.onMessage(roomId, event);
      handlers.onEvent(roomId, event);
      e2ee?.client.emit('room.event', roomId, event);
    }
  }
}

async function feedCrypto(response: Json, e2ee: SyncCrypto): Promise<void> {
  const counts = isObject(response.device_one_time_keys_count) ? response.device_one_time_keys_count : {};
  const fallbacks = Array.isArray(response.device_unused_fallback_key_types)
    ? response.device_unused_fallback_key_types
    : arrayAt(response, 'org.matrix.msc2732.device_unused_fallback_key_types');
  type Args = Parameters<CryptoClient['updateSyncData']>;
  await e2ee.crypto.updateSyncData(
    arrayAt(response.to_device, 'events') as Args[0],
    counts,
    fallbacks as Args[2],
    arrayAt(response.device_lists, 'changed') as Args[3],
    arrayAt(response.device_lists, 'left') as Args[4],
  );
}

function announceJoin(roomId: string, event: Json, e2ee: SyncCrypto): void {
  if (event.type !== 'm.room.member' || event.state_key !== e2ee.ownUserId) return;
  if (!isObject(event.content) || event.content.membership !== 'join') return;
  if (e2ee.announcedJoins.has(roomId)) return;
  e2ee.announcedJoins.add(roomId);
  e2ee.client.emit('room.join', roomId, event);
}

/**
 * An encrypted event's relation (reply, edit) is in the clear part of its content (spec
 * §"m.room.encrypted": `m.relates_to` next to the ciphertext), so the server can aggregate it; a
 * decrypted payload without one gets it from there.
 */
function withClearRelation(decrypted: Json, encrypted: Json): Json {
  const clear = isObject(encrypted.content) ? encrypted.content['m.relates_to'] : undefined;
  if (!isObject(clear) || !isObject(decrypted.content) || decrypted.content['m.relates_to'] !== undefined)
    return decrypted;
  return { ...decrypted, content: { ...decrypted.content, 'm.relates_to': clear } };
}
