/**
 * The GraphQL documents the bridge sends, each tied to the section of docs/kosmi-protocol.md it follows.
 * Selections ask only for fields a source confirmed, so a server schema that differs from the
 * emulator's guesses has the least room to refuse them.
 */

/** §4.2: only currentUser's id is needed (to drop echoes, §10); displayName is named by §4.2 too. */
export const CURRENT_USER = {
  operationName: 'ExtendedCurrentUserQuery',
  query: 'query ExtendedCurrentUserQuery { currentUser { id displayName } }',
} as const;

/** §4.3: the early bot's form (no disconnectOtherConnections: two bridges must not kick each other). */
export const JOIN_ROOM = {
  operationName: 'JoinRoom',
  query: 'mutation JoinRoom($id: String!) { joinRoom(id: $id) { ok } }',
} as const;

/** §4.4, shape published in full. */
export const ROOM_DISCONNECT = {
  operationName: 'RoomDisconnect',
  query: 'subscription RoomDisconnect($roomId: String!) { roomDisconnect(id: $roomId) { ok __typename } }',
} as const;

/** §4.5: the message fields the relay reads (confirmed `body`, `time`, `user`; inferred `id`). */
const MESSAGE_FIELDS = 'id body time user { id displayName username }';
/**
 * §4.5 [relay: I]: the message a reply answers. Never published: the relay's guess, asked for by
 * default and dropped for the rest of the session when Kosmi refuses it at validation (session.ts).
 */
const REPLY_FIELDS = 'replyTo { id body user { id displayName username } }';

type Document = { readonly operationName: string; readonly query: string };

/** The subscription and archive documents, with the reply link or without it (after a refusal). */
export interface ReadDocuments {
  /** §4.5, the browser's form, with roomId and channelId and an explicit operationName. */
  readonly newMessage: Document;
  /** §4.7, the browser's variables (`cursor` null for the newest page); selection as §4.5's. */
  readonly chatArchive: Document;
}

function readDocuments(fields: string): ReadDocuments {
  return {
    newMessage: {
      operationName: 'NewMessageSubscription',
      query:
        'subscription NewMessageSubscription($roomId: String!, $channelId: String!) { ' +
        `newMessage(roomId: $roomId, channelId: $channelId) { ${fields} } }`,
    },
    chatArchive: {
      operationName: 'RoomChatQuery',
      query:
        'query RoomChatQuery($roomId: String!, $channelId: String!, $cursor: String) { ' +
        'chatArchive(roomId: $roomId, channelId: $channelId, cursor: $cursor) { forwardCursor backCursor ' +
        `results { ${fields} } } }`,
    },
  };
}

export const WITH_REPLIES = readDocuments(`${MESSAGE_FIELDS} ${REPLY_FIELDS}`);
export const WITHOUT_REPLIES = readDocuments(MESSAGE_FIELDS);

/** §4.6 v1, the form that worked in the old relay ([C]); the fallback when Kosmi refuses v2. */
export const SEND_MESSAGE = {
  operationName: 'SendMessage',
  query:
    'mutation SendMessage($body: String!, $roomId: String!) { sendMessage(body: $body, roomId: $roomId) { ok } }',
} as const;

/**
 * §4.6 v2, what the browser sends: operation SendMessage2 with `channelId` and `replyToMessageId`
 * (the Kosmi id of the message answered, or null).
 * Argument types and the root field (`sendMessage`, as in v1) are guesses [I]: a server that
 * refuses the document at validation makes the relay fall back to v1 (send_operation = "auto").
 */
export const SEND_MESSAGE_2 = {
  operationName: 'SendMessage2',
  query:
    'mutation SendMessage2($body: String!, $roomId: String!, $channelId: String, $replyToMessageId: String) { ' +
    'sendMessage(body: $body, roomId: $roomId, channelId: $channelId, replyToMessageId: $replyToMessageId) { ok } }',
} as const;

/** §2: operation ids are strings the client picks, e.g. "current-user", "join-room". */
export function operationId(operationName: string | null | undefined, counter: number): string {
  const kebab = (operationName ?? 'operation').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return `${kebab}-${counter}`;
}
