import type { GraphQLSchema } from 'graphql';
import { graphql } from './graphql.js';

/**
 * The part of Kosmi's schema that docs/kosmi-protocol.md names (§4, §11). Type names are ours: the spec
 * never published them. Field names and arguments are the spec's; documents that ask for anything
 * else fail validation here as they would against the real server.
 */
export function kosmiSdl(options: { replies: boolean }): string {
  // §4.5 [relay: I]: how a message names the message it answers was never published; this is the
  // relay's guess (docs/kosmi-protocol.md §4.5). replies: false is a server without it, where a
  // document asking for replyTo fails validation.
  const replyTo = options.replies ? 'replyTo: RepliedMessage' : '';
  return /* GraphQL */ `
  type User {
    id: String!
    displayName: String
    username: String
    isAnonymous: Boolean
  }

  type AnonLoginResult {
    token: String!
    user: User!
  }

  "joinRoom, sendMessage and roomDisconnect all answer { ok } (§4.3, §4.4, §4.6)."
  type Ok {
    ok: Boolean!
  }

  type Member {
    id: String!
    role: String
  }

  type Reaction {
    emoji: String!
    count: Int!
  }

  "The message a reply answers, as SendMessage2's replyToMessageId named it (§4.6); body and user null for an id the emulator never stored."
  type RepliedMessage {
    id: String!
    body: String
    user: User
  }

  type Message {
    id: String!
    body: String!
    "UNIX timestamp in seconds (§4.5)."
    time: Int!
    user: User!
    member: Member
    reactions: [Reaction!]!
    ${replyTo}
  }

  "A chatArchive item: id and time nullable so that a test can take them away (§4.7 lists only id)."
  type ArchivedMessage {
    id: String
    body: String!
    time: Int
    user: User!
    member: Member
    reactions: [Reaction!]!
    ${replyTo}
  }

  type ChatArchive {
    forwardCursor: String
    backCursor: String
    results: [ArchivedMessage!]!
  }

  type Query {
    currentUser: User!
    chatArchive(roomId: String!, channelId: String!, cursor: String): ChatArchive!
  }

  type Mutation {
    anonLogin: AnonLoginResult!
    joinRoom(id: String!, disconnectOtherConnections: Boolean): Ok!
    sendMessage(body: String!, roomId: String!, channelId: String, replyToMessageId: String): Ok!
  }

  type Subscription {
    roomDisconnect(id: String!): Ok!
    newMessage(roomId: String!, channelId: String!): Message!
  }
`;
}

export function kosmiSchema(options: { replies: boolean } = { replies: true }): GraphQLSchema {
  return graphql.buildSchema(kosmiSdl(options));
}
