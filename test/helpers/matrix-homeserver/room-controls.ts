/**
 * The emulator's room controls for tests: create rooms, join, invite, kick, and post as any user
 * (text, emotes, edits, replies with fallbacks, media, redactions, encrypted events), then read
 * what was posted. Events are shaped as the Client-Server spec describes them.
 */
import { clientEvent, joinRoom, redactEvent, sendEvent } from './routes-rooms.js';
import { stateKey, type HomeserverState, type Room, type StoredEvent } from './state.js';

export class RoomControls {
  constructor(readonly state: HomeserverState) {}

  get serverName(): string {
    return this.state.serverName;
  }

  createRoom(options: {
    creator: string;
    alias?: string;
    name?: string;
    public?: boolean;
    encrypted?: boolean;
    /** m.room.create's room_version (default "10"); "11" puts a redaction's `redacts` in content. */
    roomVersion?: string;
  }): string {
    const state = this.state;
    const room: Room = {
      roomId: `!${state.id('r')}:${state.serverName}`,
      aliases: new Set(),
      events: [],
      state: new Map(),
    };
    state.rooms.set(room.roomId, room);
    const creator = options.creator;
    const add = (type: string, content: Record<string, unknown>, key = ''): StoredEvent =>
      state.append(room, { type, sender: creator, state_key: key, content });
    add('m.room.create', { creator, room_version: options.roomVersion ?? '10' });
    add(
      'm.room.member',
      {
        membership: 'join',
        ...(state.users.get(creator)?.displayName === undefined
          ? {}
          : { displayname: state.users.get(creator)?.displayName }),
      },
      creator,
    );
    add('m.room.power_levels', {
      users: { [creator]: 100 },
      users_default: 0,
      events_default: 0,
      state_default: 50,
    });
    add('m.room.join_rules', { join_rule: options.public === false ? 'invite' : 'public' });
    add('m.room.history_visibility', { history_visibility: 'shared' });
    if (options.alias !== undefined) {
      state.aliases.set(options.alias, room.roomId);
      room.aliases.add(options.alias);
      add('m.room.canonical_alias', { alias: options.alias });
    }
    if (options.name !== undefined) add('m.room.name', { name: options.name });
    if (options.encrypted === true) add('m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
    return room.roomId;
  }

  protected room(idOrAlias: string): Room {
    const room = this.state.resolveRoom(idOrAlias);
    if (room === undefined) throw new Error(`no room ${idOrAlias}`);
    return room;
  }

  join(userId: string, room: string): void {
    joinRoom(this.state, this.room(room), userId);
  }

  invite(inviter: string, room: string, invitee: string): void {
    this.state.append(this.room(room), {
      type: 'm.room.member',
      sender: inviter,
      state_key: invitee,
      content: { membership: 'invite' },
    });
  }

  kick(by: string, room: string, userId: string, ban = false): void {
    this.state.append(this.room(room), {
      type: 'm.room.member',
      sender: by,
      state_key: userId,
      content: { membership: ban ? 'ban' : 'leave' },
    });
  }

  /** Changes a member's display name in one room (a new m.room.member event). */
  setRoomDisplayName(userId: string, room: string, displayname: string): void {
    this.state.append(this.room(room), {
      type: 'm.room.member',
      sender: userId,
      state_key: userId,
      content: { membership: 'join', displayname },
    });
  }

  markEncrypted(room: string, by?: string): void {
    const target = this.room(room);
    const sender = by ?? target.state.get(stateKey('m.room.create', ''))?.sender ?? '';
    this.state.append(target, {
      type: 'm.room.encryption',
      sender,
      state_key: '',
      content: { algorithm: 'm.megolm.v1.aes-sha2' },
    });
  }

  /** Posts an event as any user (joined to the room); returns its event id. */
  post(sender: string, room: string, content: Record<string, unknown>, type = 'm.room.message'): string {
    return sendEvent(
      this.state,
      this.room(room),
      { userId: sender, deviceId: 'EMULATOR' },
      type,
      content,
      this.state.id('t'),
    );
  }

  text(sender: string, room: string, body: string): string {
    return this.post(sender, room, { msgtype: 'm.text', body });
  }

  emote(sender: string, room: string, body: string): string {
    return this.post(sender, room, { msgtype: 'm.emote', body });
  }

  /** An edit as clients send it (spec §"Event replacements"): fallback body "* new" plus m.new_content. */
  edit(sender: string, room: string, original: string, newBody: string): string {
    return this.post(sender, room, {
      msgtype: 'm.text',
      body: `* ${newBody}`,
      'm.new_content': { msgtype: 'm.text', body: newBody },
      'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
  }

  /** A reply with the classic fallback (spec §"Fallbacks for rich replies"). */
  reply(sender: string, room: string, original: string, body: string): string {
    const target = this.room(room).events.find((e) => e.event_id === original);
    const originalBody = typeof target?.content.body === 'string' ? target.content.body : '';
    const quoted = originalBody
      .split('\n')
      .map((line, i) => (i === 0 ? `> <${target?.sender ?? ''}> ${line}` : `> ${line}`));
    return this.post(sender, room, {
      msgtype: 'm.text',
      body: `${quoted.join('\n')}\n\n${body}`,
      format: 'org.matrix.custom.html',
      formatted_body: `<mx-reply><blockquote>…</blockquote></mx-reply>${body}`,
      'm.relates_to': { 'm.in_reply_to': { event_id: original } },
    });
  }

  /** A rich reply as clients send it since MSC2781 (spec v1.13): m.in_reply_to, no fallback. */
  replyTo(sender: string, room: string, original: string, body: string): string {
    return this.post(sender, room, {
      msgtype: 'm.text',
      body,
      'm.relates_to': { 'm.in_reply_to': { event_id: original } },
    });
  }

  /**
   * A file event (spec §"m.image" etc.): `url` an mxc URI (a random one when not given), `info`
   * as clients fill it; `filename` makes `body` a caption (spec v1.10).
   */
  media(
    sender: string,
    room: string,
    msgtype: 'm.image' | 'm.file' | 'm.audio' | 'm.video',
    fileName: string,
    options: { url?: string; info?: Record<string, unknown>; caption?: string } = {},
  ): string {
    return this.post(sender, room, {
      msgtype,
      body: options.caption ?? fileName,
      ...(options.caption === undefined ? {} : { filename: fileName }),
      url: options.url ?? `mxc://${this.serverName}/${this.state.id('media')}`,
      info: options.info ?? { size: 1234 },
    });
  }

  /** A file in an end-to-end encrypted room: `file` (EncryptedFile, spec §"Sending encrypted attachments"), no `url`. */
  encryptedMedia(sender: string, room: string, msgtype: 'm.image' | 'm.file', fileName: string): string {
    return this.post(sender, room, {
      msgtype,
      body: fileName,
      file: {
        url: `mxc://${this.serverName}/${this.state.id('enc')}`,
        key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: 'AAAA', ext: true },
        iv: 'AAAAAAAAAAAAAAAAAAAAAA',
        hashes: { sha256: 'AAAA' },
        v: 'v2',
      },
      info: { mimetype: 'image/jpeg', size: 4321 },
    });
  }

  /** An m.sticker event (spec §"Stickers"): body, url, info; no msgtype. */
  sticker(sender: string, room: string, body: string, url: string): string {
    return this.post(sender, room, { body, url, info: { mimetype: 'image/png', w: 64, h: 64 } }, 'm.sticker');
  }

  /** A redaction as `sender` (403 M_FORBIDDEN, thrown, when it may not redact that event). */
  redact(sender: string, room: string, eventId: string): string {
    return redactEvent(
      this.state,
      this.room(room),
      { userId: sender, deviceId: 'EMULATOR' },
      eventId,
      this.state.id('t'),
    );
  }

  /** An m.room.encrypted event, as a client in an encrypted room sends it. */
  encrypted(sender: string, room: string): string {
    return this.post(
      sender,
      room,
      {
        algorithm: 'm.megolm.v1.aes-sha2',
        ciphertext: 'AwgAEn...',
        device_id: 'OTHER',
        sender_key: 'x',
        session_id: 'y',
      },
      'm.room.encrypted',
    );
  }

  /** Makes an event look older (its origin_server_ts and so unsigned.age), e.g. backlog past the max age. */
  backdate(room: string, eventId: string, byMs: number): void {
    const event = this.room(room).events.find((e) => e.event_id === eventId);
    if (event !== undefined) event.origin_server_ts -= byMs;
  }

  /** Timeline events of a room (full client format), optionally only one sender's or one type's. */
  events(room: string, filter: { sender?: string; type?: string } = {}): Record<string, unknown>[] {
    return this.room(room)
      .events.filter(
        (e) =>
          (filter.sender === undefined || e.sender === filter.sender) &&
          (filter.type === undefined || e.type === filter.type),
      )
      .map((e) => clientEvent(e));
  }

  /** Contents of the m.room.message events a user posted in a room, in order. */
  messagesFrom(sender: string, room: string): Record<string, unknown>[] {
    return this.room(room)
      .events.filter((e) => e.sender === sender && e.type === 'm.room.message')
      .map((e) => e.content);
  }

  roomId(room: string): string {
    return this.room(room).roomId;
  }

  isJoined(userId: string, room: string): boolean {
    return this.state.membership(this.room(room), userId)?.membership === 'join';
  }
}
