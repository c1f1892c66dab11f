import type { Logger } from 'pino';
import {
  classifyNickServReply,
  classifyNumeric,
  classifySaslFailure,
  classifyServerError,
  type CloseOutcome,
} from './errors.js';
import { alternativeNick, ircLower } from './nick.js';
import { byteLength } from './split.js';
import { createIrcFrameworkClient, type IrcFrameworkClient, type IrcLine } from './wire.js';

/** Until the server shows us our own user@host (in our JOIN echo), assume the longest usual one. */
const CONSERVATIVE_USER_BYTES = 10; // USERLEN 9 plus the "~" of an unverified ident
const CONSERVATIVE_HOST_BYTES = 63; // HOSTLEN in ircd-ratbox/Solanum, InspIRCd, ngircd
/** The channels are tried this long before the connection counts as ready without the slow ones. */
const JOIN_READY_TIMEOUT_MS = 10_000;
/** A channel that refused us (banned, invite-only, full) is tried again after this. */
const JOIN_RETRY_MS = 60_000;
/** NickServ that does not answer IDENTIFY within this time is not waited for any longer. */
const NICKSERV_TIMEOUT_MS = 15_000;
/** Registration gives up on nicks after this many alternatives. */
const MAX_NICK_ATTEMPTS = 8;
/** NICKLEN when the server has not said (RFC 2812 §1.2.1). */
const DEFAULT_NICKLEN = 9;

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly tlsVerify: boolean;
  readonly nick: string;
  readonly realname: string;
  readonly password?: string;
  readonly sasl?: { readonly account: string; readonly password: string };
  readonly nickservPassword?: string;
  readonly channels: readonly string[];
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly rejoinDelayMs: number;
  readonly nickRegainMs: number;
}

export interface InboundLine {
  readonly kind: 'text' | 'action' | 'notice';
  /** The channel as configured. */
  readonly channel: string;
  readonly nick: string;
  /** The text with its mIRC formatting. */
  readonly body: string;
  readonly time: Date;
}

export interface ConnectionHandlers {
  onReady(): void;
  onJoined(channel: string): void;
  /** Kicked, or a JOIN was refused: lines for the channel wait (or fail) until it is joined again. */
  onChannelLost(channel: string, reason: string): void;
  onMessage(line: InboundLine): void;
  /** Exactly once per connection. */
  onClosed(outcome: CloseOutcome): void;
  /** Every line we write counts against the flood budget, even those that cannot wait. */
  onControlLine(): void;
}

/**
 * One connection attempt, from TCP connect to close: registration, SASL or NickServ, joins,
 * nick fallback and regain, the ping watchdog. irc-framework does the protocol plumbing; its own
 * reconnect and ping logic are off, because the adapter's supervisor owns retries (house style,
 * after matrix-appservice-irc's ConnectionInstance).
 */
export class IrcConnection {
  private client: IrcFrameworkClient | undefined;
  private closed = false;
  private registered = false;
  private ready = false;
  private waitingForNickServ = false;
  private nick: string;
  private nickAttempts = 0;
  private readonly ownNicks = new Set<string>();
  private user: string | undefined;
  private host: string | undefined;
  private readonly channelByKey = new Map<string, string>();
  private readonly joined = new Set<string>();
  private readonly pendingJoins = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private lastReceivedAt = Date.now();
  private pingSentAt = 0;
  private resolveClosed: (() => void) | undefined;
  readonly closedPromise: Promise<void>;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly handlers: ConnectionHandlers,
    private readonly log: Logger,
  ) {
    this.nick = settings.nick;
    this.ownNicks.add(ircLower(settings.nick));
    for (const channel of settings.channels) this.channelByKey.set(ircLower(channel), channel);
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  open(): void {
    const client = createIrcFrameworkClient();
    this.client = client;
    // Chat lines are small and latency matters more than packet count: no Nagle delay.
    client.on('raw socket connected', (socket) => socket.setNoDelay(true));
    client.on('registered', (event) => this.onRegistered(event.nick));
    client.on('socket close', (error) =>
      this.finish({
        reason: error ? `connection lost: ${error.message}` : 'connection closed by the server',
        fatal: false,
      }),
    );
    client.on('sasl failed', (event) =>
      this.finish(classifySaslFailure(this.settings.sasl?.account ?? '', event.reason, event.message)),
    );
    client.connection.on('raw', (event) => {
      if (event.from_server) this.lastReceivedAt = Date.now();
    });
    client.connection.on('message', (line) => this.onLine(line));
    const { settings } = this;
    client.connect({
      host: settings.host,
      port: settings.port,
      tls: settings.tls,
      rejectUnauthorized: settings.tlsVerify,
      nick: settings.nick,
      username:
        settings.nick
          .replace(/[^A-Za-z0-9]/g, '')
          .slice(0, 9)
          .toLowerCase() || 'relay',
      gecos: settings.realname,
      password: settings.password,
      // An empty account object stops irc-framework from trying the server password as SASL.
      account:
        settings.sasl === undefined
          ? {}
          : { account: settings.sasl.account, password: settings.sasl.password },
      sasl_disconnect_on_fail: false,
      auto_reconnect: false,
      ping_interval: 0,
      ping_timeout: 0,
      enable_chghost: true,
      enable_echomessage: false,
      version: 'kosmi-relay',
      encoding: 'utf8',
    });
    this.after(settings.connectTimeoutMs, () => {
      if (!this.ready)
        this.finish({ reason: `not ready after ${settings.connectTimeoutMs / 1000} s`, fatal: false });
    });
    this.startWatchdog();
  }

  get currentNick(): string {
    return this.nick;
  }

  /** Bytes of ":nick!user@host " the server adds when it relays one of our lines. */
  get sourceBytes(): number {
    const nickBytes = Math.max(byteLength(this.nick), byteLength(this.settings.nick));
    const userBytes = this.user === undefined ? CONSERVATIVE_USER_BYTES : byteLength(this.user);
    const hostBytes = this.host === undefined ? CONSERVATIVE_HOST_BYTES : byteLength(this.host);
    return 1 + nickBytes + 1 + userBytes + 1 + hostBytes + 1;
  }

  isJoined(channel: string): boolean {
    return this.joined.has(ircLower(channel));
  }

  /** Writes one line; resolves when the socket took it. */
  writeLine(wire: string): Promise<void> {
    const connection = this.client?.connection;
    if (this.closed || connection === undefined || !connection.connected) {
      return Promise.reject(new Error('not connected'));
    }
    return new Promise((resolve, reject) => {
      connection.write(wire, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** QUIT, then wait for the server to close, at most until the deadline. */
  async quit(message: string, deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.writeControl(`QUIT :${message}`);
    const timer = setTimeout(() => this.finish({ reason: 'stopped', fatal: false }), Math.max(0, deadlineMs));
    await this.closedPromise;
    clearTimeout(timer);
  }

  /** Ends the connection (idempotent) and reports why, once. */
  finish(outcome: CloseOutcome): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.client?.connection.end(null, true);
    this.handlers.onClosed(outcome);
    this.resolveClosed?.();
  }

  private onRegistered(nick: string): void {
    if (this.closed) return;
    this.registered = true;
    this.setNick(nick);
    this.log.info({ nick }, 'registered');
    if (this.settings.nickservPassword !== undefined && this.settings.sasl === undefined) {
      this.waitingForNickServ = true;
      this.writeControl(`PRIVMSG NickServ :IDENTIFY ${this.settings.nick} ${this.settings.nickservPassword}`);
      this.after(NICKSERV_TIMEOUT_MS, () => {
        if (!this.waitingForNickServ) return;
        this.log.warn(
          { timeoutMs: NICKSERV_TIMEOUT_MS },
          'NickServ did not answer IDENTIFY; joining without it',
        );
        this.authenticated();
      });
      return;
    }
    this.authenticated();
  }

  private authenticated(): void {
    this.waitingForNickServ = false;
    for (const channel of this.settings.channels) this.join(channel);
    if (this.settings.channels.length === 0) this.markReady();
    else this.after(JOIN_READY_TIMEOUT_MS, () => this.markReady());
  }

  private join(channel: string): void {
    if (this.closed) return;
    this.pendingJoins.add(ircLower(channel));
    this.writeControl(`JOIN ${channel}`);
  }

  private markReady(): void {
    if (this.ready || this.closed) return;
    this.ready = true;
    this.handlers.onReady();
    if (ircLower(this.nick) !== ircLower(this.settings.nick)) this.startNickRegain();
  }

  private onLine(line: IrcLine): void {
    if (this.closed) return;
    const last = line.params[line.params.length - 1] ?? '';
    switch (line.command) {
      case 'PRIVMSG':
      case 'NOTICE':
        return this.onMessageLine(line);
      case 'JOIN':
        return this.onJoin(line);
      case 'KICK':
        return this.onKick(line);
      case 'NICK':
        if (this.isMe(line.nick)) this.setNick(last);
        return;
      case 'CHGHOST': // IRCv3 chghost: CHGHOST <new user> <new host>
        if (this.isMe(line.nick)) [this.user, this.host] = [line.params[0], line.params[1]];
        return;
      case '396': // RPL_HOSTHIDDEN: <nick> <host or user@host> :is now your displayed host
        this.host = line.params[1]?.split('@').pop();
        return;
      case 'ERROR':
        return this.finish(classifyServerError(last));
      case '900': // RPL_LOGGEDIN, also after NickServ IDENTIFY
        if (this.waitingForNickServ) this.authenticated();
        return;
      case '432': // ERR_ERRONEUSNICKNAME
      case '433': // ERR_NICKNAMEINUSE
      case '436': // ERR_NICKCOLLISION
      case '437': // ERR_UNAVAILRESOURCE
        if (!this.registered) this.tryAlternativeNick(line.command);
        return;
      case '303': // RPL_ISON
        if (!last.split(' ').some((nick) => ircLower(nick) === ircLower(this.settings.nick)))
          this.regainNick();
        return;
      case '731': // RPL_MONOFFLINE (IRCv3 monitor)
        if (
          last.split(',').some((mask) => ircLower(mask.split('!')[0] ?? '') === ircLower(this.settings.nick))
        ) {
          this.regainNick();
        }
        return;
      case '403': // ERR_NOSUCHCHANNEL
      case '405': // ERR_TOOMANYCHANNELS
      case '471': // ERR_CHANNELISFULL
      case '473': // ERR_INVITEONLYCHAN
      case '474': // ERR_BANNEDFROMCHAN
      case '475': // ERR_BADCHANNELKEY
      case '477': // ERR_NEEDREGGEDNICK
      case '489': // ERR_SECUREONLYCHAN
        return this.onJoinRefused(line.params[1] ?? '', `${line.command}: ${last}`);
      default: {
        const fatal = classifyNumeric(line.command, last);
        if (fatal !== undefined) this.finish(fatal);
      }
    }
  }

  private onMessageLine(line: IrcLine): void {
    const [target = '', text = ''] = line.params;
    if (this.waitingForNickServ && line.command === 'NOTICE' && ircLower(line.nick) === 'nickserv') {
      const verdict = classifyNickServReply(text);
      if (verdict === 'ok') this.authenticated();
      else if (verdict === 'rejected') {
        this.finish({
          reason: `NickServ rejected IDENTIFY for "${this.settings.nick}": ${text}`,
          fatal: true,
        });
      }
      return;
    }
    if (!line.prefix.includes('!')) return; // from a server, not a user
    const channel = this.channelByKey.get(ircLower(target));
    if (channel === undefined || this.ownNicks.has(ircLower(line.nick))) return;
    let kind: InboundLine['kind'] = line.command === 'NOTICE' ? 'notice' : 'text';
    let body = text;
    if (text.startsWith('\x01')) {
      // CTCP: only ACTION is a chat message; the rest (VERSION, PING, replies) is not relayed.
      if (line.command !== 'PRIVMSG' || !(text.startsWith('\x01ACTION ') || text === '\x01ACTION\x01'))
        return;
      kind = 'action';
      body = text.slice('\x01ACTION '.length);
      if (body.endsWith('\x01')) body = body.slice(0, -1);
    }
    const stamp = line.tags.time === undefined ? undefined : new Date(line.tags.time);
    const time = stamp === undefined || Number.isNaN(stamp.getTime()) ? new Date() : stamp;
    this.handlers.onMessage({ kind, channel, nick: line.nick, body, time });
  }

  private onJoin(line: IrcLine): void {
    if (!this.isMe(line.nick)) return;
    this.user = line.ident || this.user;
    this.host = line.hostname || this.host;
    const key = ircLower(line.params[0] ?? '');
    const channel = this.channelByKey.get(key);
    if (channel === undefined) return;
    this.joined.add(key);
    this.pendingJoins.delete(key);
    this.handlers.onJoined(channel);
    if (this.pendingJoins.size === 0) this.markReady();
  }

  private onKick(line: IrcLine): void {
    const [target = '', victim = '', reason = ''] = line.params;
    const key = ircLower(target);
    const channel = this.channelByKey.get(key);
    if (channel === undefined || !this.isMe(victim)) return;
    this.joined.delete(key);
    this.handlers.onChannelLost(channel, `kicked by ${line.nick}${reason === '' ? '' : `: ${reason}`}`);
    this.after(this.settings.rejoinDelayMs, () => this.join(channel));
  }

  private onJoinRefused(target: string, reason: string): void {
    const key = ircLower(target);
    const channel = this.channelByKey.get(key);
    if (channel === undefined || this.joined.has(key)) return;
    this.pendingJoins.delete(key);
    this.handlers.onChannelLost(channel, `cannot join: ${reason}`);
    this.after(JOIN_RETRY_MS, () => this.join(channel));
    if (this.pendingJoins.size === 0) this.markReady();
  }

  private tryAlternativeNick(numeric: string): void {
    this.nickAttempts += 1;
    if (this.nickAttempts > MAX_NICK_ATTEMPTS) {
      this.finish({
        reason: `no usable nick after ${MAX_NICK_ATTEMPTS} tries (last: ${numeric})`,
        fatal: false,
      });
      return;
    }
    // Before 005 NICKLEN is unknown: try the suffixed nicks anyway (a server answers 432 or cuts
    // them), then fall back to digits that fit in the configured nick's own length.
    const known = Number(this.client?.network.options.NICKLEN);
    const own = this.settings.nick.length;
    const maxLength =
      this.nickAttempts <= 2 ? (known > 0 ? known : own + 2) : Math.max(known || DEFAULT_NICKLEN, own);
    const next = alternativeNick(this.settings.nick, this.nickAttempts, maxLength);
    this.log.warn({ nick: this.nick, next, numeric }, 'nick unavailable, trying an alternative');
    this.nick = next;
    this.ownNicks.add(ircLower(next));
    this.writeControl(`NICK ${next}`);
  }

  private startNickRegain(): void {
    if (this.client?.network.options.MONITOR !== undefined)
      this.writeControl(`MONITOR + ${this.settings.nick}`);
    const poll = (): void => {
      if (ircLower(this.nick) === ircLower(this.settings.nick)) return;
      this.writeControl(`ISON ${this.settings.nick}`);
      this.after(this.settings.nickRegainMs, poll);
    };
    this.after(this.settings.nickRegainMs, poll);
  }

  private regainNick(): void {
    if (this.ready && ircLower(this.nick) !== ircLower(this.settings.nick))
      this.writeControl(`NICK ${this.settings.nick}`);
  }

  private setNick(nick: string): void {
    const regained =
      ircLower(nick) === ircLower(this.settings.nick) && ircLower(this.nick) !== ircLower(nick);
    this.nick = nick;
    this.ownNicks.add(ircLower(nick));
    if (regained && this.ready) this.log.info({ nick }, 'configured nick regained');
  }

  private isMe(nick: string): boolean {
    return ircLower(nick) === ircLower(this.nick);
  }

  private writeControl(line: string): void {
    const connection = this.client?.connection;
    if (this.closed || connection === undefined || !connection.connected) return;
    this.handlers.onControlLine();
    connection.write(line);
  }

  /** Client-side ping watchdog: PING when idle, give the connection up when the server stays silent. */
  private startWatchdog(): void {
    const { pingIntervalMs, pingTimeoutMs } = this.settings;
    const checkEveryMs = Math.max(100, Math.min(5_000, pingIntervalMs / 4));
    const check = (): void => {
      const idleMs = Date.now() - this.lastReceivedAt;
      if (idleMs >= pingTimeoutMs) {
        this.finish({
          reason: `ping timeout: nothing from the server for ${Math.round(idleMs / 1000)} s`,
          fatal: false,
        });
        return;
      }
      if (this.registered && idleMs >= pingIntervalMs && this.pingSentAt <= this.lastReceivedAt) {
        this.pingSentAt = Date.now();
        this.writeControl('PING :kosmi-relay');
      }
      this.after(checkEveryMs, check);
    };
    this.after(checkEveryMs, check);
  }

  private after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
