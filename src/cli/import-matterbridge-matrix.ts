/** [matrix.NAME] of matterbridge -> [matrix.NAME] here (matterbridge bridge/matrix/matrix.go). */
import type { ImportContext, Section } from './import-matterbridge-context.js';
import { literal } from './import-matterbridge-context.js';
import { convertNickFormat } from './import-matterbridge-format.js';
import type { ConvertedAccount } from './import-matterbridge-irc.js';

const USER_ID = /^@[^:\s]+:\S+$/;

export const MATRIX_REASONS: Readonly<Record<string, string>> = {
  nohomeserversuffix: 'no equivalent: senders are shown by display name',
  useusername: 'no equivalent: senders are shown by display name',
  prefixmessageswithnick: 'no equivalent: relayed messages always start with remote_nick_format',
  ignorenicks: 'no equivalent: ignore_nicks exists for IRC accounts only',
  ignoremessages: 'no equivalent: ignore_messages exists for IRC accounts only',
  replacemessages: 'no equivalent: the relay does not rewrite messages',
  replacenicks: 'no equivalent: the relay does not rewrite nicks',
  extractnicks: 'no equivalent: the relay does not extract nicks from other relay bots',
  showjoinpart: 'no equivalent: joins and parts are never relayed',
  stripnick: 'no equivalent: nicks are relayed as they are',
  showtopicchange: 'no equivalent: topic changes are never relayed',
  keepquotedreply: 'no equivalent: replies are relayed as their text',
  debuglevel: 'no equivalent: use general.log_level or LOG_LEVEL',
  enable: 'no equivalent: an account runs when it is in the config',
};

export function convertMatrixAccount(
  name: string,
  section: Section,
  ctx: ImportContext,
): ConvertedAccount | undefined {
  const out: Record<string, unknown> = {};
  const server = section.string('Server', ctx);
  let host: string | undefined;
  try {
    host = server === undefined ? undefined : new URL(server).hostname;
  } catch {
    host = undefined; // reported below as not a URL
  }
  if (server === undefined || host === undefined) {
    ctx.skip(
      section.pathOf('Server'),
      'account not converted: Server must be the homeserver URL (https://...)',
    );
    return undefined;
  }
  out.homeserver = literal(server.replace(/\/+$/, ''));
  // Newer matterbridge logs in with MxID + Token when both are set, else with Login + Password.
  const mxid = section.string('MxID', ctx);
  const login = section.string('Login', ctx);
  const userId = mxid ?? login;
  if (userId === undefined) {
    ctx.skip(section.path, 'account not converted: Login (or MxID) is required');
    return undefined;
  }
  if (USER_ID.test(userId)) {
    out.user_id = literal(userId);
  } else {
    out.user_id = literal(`@${userId}:${host}`);
    ctx.note(
      section.pathOf(mxid === undefined ? 'Login' : 'MxID'),
      `user_id "@${userId}:${host}" is derived from the homeserver's host; correct it if your server name differs (.well-known delegation)`,
    );
  }
  const password = section.string('Password', ctx);
  if (password !== undefined) out.password = ctx.secret(['matrix', name, 'password'], password);
  const token = section.string('Token', ctx);
  if (token !== undefined) out.access_token = ctx.secret(['matrix', name, 'access', 'token'], token);
  if (password === undefined && token === undefined) {
    ctx.skip(section.path, 'account not converted: Password (or Token) is required');
    return undefined;
  }
  if (section.bool('HTMLDisable', ctx) === true) out.html = false;
  const label = section.string('Label', ctx);
  if (label !== undefined) out.label = literal(label);
  const format = section.raw('RemoteNickFormat');
  if (typeof format === 'string')
    out.remote_nick_format = convertNickFormat(format, section.pathOf('RemoteNickFormat'), ctx);
  section.reportUnused(ctx, MATRIX_REASONS);
  return { name, settings: out };
}
