/**
 * [irc.NAME] of matterbridge -> [irc.NAME] here. matterbridge's behaviour is quoted from its
 * bridge/irc/irc.go (Connect, getClient) and bridge/irc/handlers.go (handleNickServ).
 */
import type { ImportContext, Section } from './import-matterbridge-context.js';
import { literal } from './import-matterbridge-context.js';
import { convertIgnoreList, convertNickFormat, parseGoDurationMs } from './import-matterbridge-format.js';

/** The nick pattern of src/config/irc.ts. */
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;
const LINE_SAFE = /^[^\0\r\n]*$/;
const MAX_CUT_MARKER_CHARS = 40;
/** Our default ping_timeout_seconds, and how much longer than the interval it must be. */
const DEFAULT_PING_TIMEOUT_S = 150;
const PING_TIMEOUT_FACTOR = 2.5;

export const IRC_REASONS: Readonly<Record<string, string>> = {
  charset: 'not supported: the relay speaks UTF-8 only',
  colornicks: 'no equivalent: nicks are not coloured',
  userelaymsg: 'not supported: the relay has no RELAYMSG (draft/relaymsg) support',
  runcommands: 'not supported: the relay sends no raw commands after connecting',
  stripmarkdown: 'no equivalent: text is relayed as it is',
  replacemessages: 'no equivalent: the relay does not rewrite messages',
  replacenicks: 'no equivalent: the relay does not rewrite nicks',
  extractnicks: 'no equivalent: the relay does not extract nicks from other relay bots',
  showjoinpart: 'no equivalent: joins and parts are never relayed',
  verbosejoinpart: 'no equivalent: joins and parts are never relayed',
  nosendjoinpart: 'no equivalent: joins and parts are never relayed',
  showtopicchange: 'no equivalent: topic changes are never relayed',
  stripnick: 'no equivalent: nicks are relayed as they are',
  joindelay: 'no equivalent: channels are joined right after login',
  messagequeue:
    'behaves differently: the relay keeps a queue per destination channel (queue_max_messages) that also holds messages while disconnected',
  messagelength:
    'behaves differently: the relay fits each line into max_line_bytes (512, the whole IRC line) and computes the room for text itself',
  nickservusername: 'not supported: QuakeNet Q AUTH is not implemented; use SASL',
  username: 'no equivalent: the ident (USER) is the nick',
  bind: 'not supported: the relay does not bind to a local address',
  tlsclientcertificate: 'not supported: no TLS client certificates (CertFP, SASL EXTERNAL)',
  debuglevel: 'no equivalent: use general.log_level or LOG_LEVEL',
  enable: 'no equivalent: an account runs when it is in the config',
  verbosejoinpartmessages: 'no equivalent: joins and parts are never relayed',
};

export interface ConvertedAccount {
  readonly name: string;
  readonly settings: Record<string, unknown>;
}

export function convertIrcAccount(
  name: string,
  section: Section,
  ctx: ImportContext,
): ConvertedAccount | undefined {
  const out: Record<string, unknown> = {};
  const server = section.string('Server', ctx);
  const nick = section.string('Nick', ctx);
  if (server === undefined || nick === undefined) {
    ctx.skip(section.path, `account not converted: ${server === undefined ? 'Server' : 'Nick'} is required`);
    return undefined;
  }
  if (!NICK.test(nick)) {
    ctx.skip(
      section.pathOf('Nick'),
      `account not converted: ${JSON.stringify(nick)} is not a valid IRC nick`,
    );
    return undefined;
  }
  out.server = literal(server);
  const tls = section.bool('UseTLS', ctx);
  if (tls === true) out.tls = true;
  if (section.bool('SkipTLSVerify', ctx) === true) out.tls_verify = false;
  out.nick = nick;
  // getClient: RealName defaults to the nick there, to "kosmi-relay" here.
  const realname = section.string('RealName', ctx) ?? nick;
  if (LINE_SAFE.test(realname)) out.realname = literal(realname);
  const password = section.string('Password', ctx);
  if (password !== undefined) out.password = ctx.secret(['irc', name, 'password'], password);
  convertAuth(name, section, out, ctx);

  const label = section.string('Label', ctx);
  if (label !== undefined) out.label = literal(label);
  const format = section.raw('RemoteNickFormat');
  if (typeof format === 'string')
    out.remote_nick_format = convertNickFormat(format, section.pathOf('RemoteNickFormat'), ctx);
  const ignoreNicks = section.raw('IgnoreNicks');
  if (ignoreNicks !== undefined && ignoreNicks !== '') {
    const at = section.pathOf('IgnoreNicks');
    out.ignore_nicks = convertIgnoreList(ignoreNicks, at, ctx);
    ctx.note(
      at,
      'each word is an unanchored regex in both; here nicks match case-insensitively (IRC nicks are), in matterbridge case-sensitively',
    );
    for (const word of out.ignore_nicks as string[]) {
      if (/[[\]().*+?^$|{}\\]/.test(word))
        ctx.note(
          at,
          `${JSON.stringify(word)} is a regex, so it matches more than that nick; for exactly that nick write ${JSON.stringify(exactNick(word))}`,
        );
    }
  }
  const ignoreMessages = section.raw('IgnoreMessages');
  if (ignoreMessages !== undefined && ignoreMessages !== '')
    out.ignore_messages = convertIgnoreList(ignoreMessages, section.pathOf('IgnoreMessages'), ctx);

  convertTiming(section, out, ctx);
  convertSplit(section, ctx);
  section.reportUnused(ctx, IRC_REASONS);
  return { name, settings: out };
}

/**
 * matterbridge: with UseSASL, NickServNick and NickServPassword are the SASL PLAIN login
 * (irc.go Connect). Without it, both set send "PRIVMSG <NickServNick> :IDENTIFY <password>"
 * (handlers.go handleNickServ). The relay identifies to NickServ only, as "IDENTIFY nick password".
 */
function convertAuth(name: string, section: Section, out: Record<string, unknown>, ctx: ImportContext): void {
  const useSasl = section.bool('UseSASL', ctx) === true;
  const servNick = section.string('NickServNick', ctx);
  const servPassword = section.string('NickServPassword', ctx);
  if (useSasl) {
    if (servNick === undefined || servPassword === undefined) {
      ctx.skip(
        section.pathOf('UseSASL'),
        'SASL needs NickServNick (the login) and NickServPassword; one is empty',
      );
      return;
    }
    out.sasl_account = literal(servNick);
    out.sasl_password = ctx.secret(['irc', name, 'sasl', 'password'], servPassword);
    if (/^nickserv$/i.test(servNick))
      ctx.note(
        section.pathOf('NickServNick'),
        `sasl_account is "${servNick}" because matterbridge uses NickServNick as the SASL login; it is usually your account name`,
      );
    return;
  }
  if (servNick === undefined || servPassword === undefined) {
    if (servPassword !== undefined)
      ctx.skip(
        section.pathOf('NickServPassword'),
        'matterbridge only identifies when NickServNick is set too',
      );
    return;
  }
  if (!/^nickserv$/i.test(servNick)) {
    ctx.skip(
      section.pathOf('NickServNick'),
      `not supported: the relay identifies to NickServ only, not to ${JSON.stringify(servNick)}`,
    );
    return;
  }
  out.nickserv_password = ctx.secret(['irc', name, 'nickserv', 'password'], servPassword);
}

/** ^nick$ with every regex metacharacter escaped. */
function exactNick(nick: string): string {
  return `^${nick.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}$`;
}

/**
 * MessageSplit (irc.go Send): true splits at MessageLength, false sends one line that the server
 * cuts at 512 bytes. The relay always splits, fitting each line into max_line_bytes.
 */
function convertSplit(section: Section, ctx: ImportContext): void {
  const split = section.bool('MessageSplit', ctx);
  if (split === undefined) return;
  ctx.note(
    section.pathOf('MessageSplit'),
    split
      ? 'the relay always splits long messages at word boundaries, at most max_lines_per_message (8) lines'
      : 'behaves differently: matterbridge sent a long message as one line that the server cut; the relay splits it into up to max_lines_per_message (8) lines',
  );
}

function convertTiming(section: Section, out: Record<string, unknown>, ctx: ImportContext): void {
  const delayMs = section.int('MessageDelay', ctx);
  if (delayMs !== undefined && delayMs > 0) {
    out.flood_rate = Math.round((1000 / delayMs) * 1000) / 1000;
    ctx.note(
      section.pathOf('MessageDelay'),
      `carried as flood_rate = ${String(out.flood_rate)} lines/s; unlike matterbridge's fixed delay, flood_burst (4) lines may go out at once after a pause`,
    );
  }
  const rejoin = section.int('RejoinDelay', ctx);
  if (rejoin !== undefined && rejoin > 0) out.rejoin_delay_seconds = rejoin;
  const clipped = section.string('MessageClipped', ctx);
  if (clipped !== undefined) {
    if (clipped.length <= MAX_CUT_MARKER_CHARS && LINE_SAFE.test(clipped)) out.cut_marker = literal(clipped);
    else
      ctx.skip(
        section.pathOf('MessageClipped'),
        `cut_marker takes at most ${MAX_CUT_MARKER_CHARS} characters on one line`,
      );
  }
  const ping = section.string('PingDelay', ctx);
  if (ping !== undefined) {
    const ms = parseGoDurationMs(ping);
    if (ms === undefined || ms < 1000) {
      ctx.skip(section.pathOf('PingDelay'), `${JSON.stringify(ping)} is not a Go duration of at least 1s`);
    } else {
      const seconds = Math.round(ms / 1000);
      out.ping_interval_seconds = seconds;
      if (seconds >= DEFAULT_PING_TIMEOUT_S)
        out.ping_timeout_seconds = Math.ceil(seconds * PING_TIMEOUT_FACTOR);
    }
  }
}
