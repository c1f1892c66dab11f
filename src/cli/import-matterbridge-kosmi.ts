/**
 * [kosmi.NAME] of the IRC-kosmi-relay fork of matterbridge -> [kosmi.NAME] here. The fork's keys,
 * from its README: RoomURL (the room; the gateway's channel is only a placeholder such as
 * "main"), and Email + Password for a login (else anonymous). docs/kosmi.md: the token cache
 * keeps the fork's file format, so an existing cache keeps working.
 */
import type { ImportContext, Section } from './import-matterbridge-context.js';
import { literal } from './import-matterbridge-context.js';
import { kosmiRoomId } from '../config/channels.js';
import { convertNickFormat } from './import-matterbridge-format.js';
import type { ConvertedAccount } from './import-matterbridge-irc.js';

export const KOSMI_REASONS: Readonly<Record<string, string>> = {
  ignorenicks: 'no equivalent: ignore_nicks exists for IRC accounts only',
  ignoremessages: 'no equivalent: ignore_messages exists for IRC accounts only',
  debug: 'no equivalent: use general.log_level or LOG_LEVEL',
  debuglevel: 'no equivalent: use general.log_level or LOG_LEVEL',
  enable: 'no equivalent: an account runs when it is in the config',
};

export interface ConvertedKosmiAccount extends ConvertedAccount {
  /** The room of RoomURL, used as the channel of this account's gateway entries. */
  readonly room: string | undefined;
}

export function convertKosmiAccount(
  name: string,
  section: Section,
  ctx: ImportContext,
): ConvertedKosmiAccount {
  const out: Record<string, unknown> = {};
  const email = section.string('Email', ctx);
  const password = section.string('Password', ctx);
  if (email !== undefined && password !== undefined) {
    out.email = ctx.secret(['kosmi', name, 'email'], email);
    out.password = ctx.secret(['kosmi', name, 'password'], password);
  } else if (email !== undefined || password !== undefined) {
    ctx.skip(
      section.pathOf(email === undefined ? 'Password' : 'Email'),
      'Email and Password go together; without both the account logs in anonymously',
    );
  }
  let room: string | undefined;
  const roomUrl = section.string('RoomURL', ctx);
  if (roomUrl !== undefined) {
    if (kosmiRoomId(roomUrl) === undefined)
      ctx.skip(section.pathOf('RoomURL'), `${JSON.stringify(roomUrl)} is not a Kosmi room URL`);
    else room = roomUrl.trim();
  }
  const label = section.string('Label', ctx);
  if (label !== undefined) out.label = literal(label);
  const format = section.raw('RemoteNickFormat');
  if (typeof format === 'string')
    out.remote_nick_format = convertNickFormat(format, section.pathOf('RemoteNickFormat'), ctx);
  section.reportUnused(ctx, KOSMI_REASONS);
  return { name, settings: out, room };
}
