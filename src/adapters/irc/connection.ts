import type { Logger } from 'pino';
import {
  classifyNickServReply,
  classifyNumeric,
  classifySaslFailure,
  classifyServerError,
  type CloseOutcome,
} from './errors.js';
import { parseChatLine } from './inbound.js';
import { ircLower, MAX_NICK_ATTEMPTS, NickKeeper } from './nick.js';
import { byteLength } from './split.js';
import { clientTagAllowed } from './tags.js';
import { PingWatchdog } from './watchdog.js';
import {
  createIrcFrameworkClient,
  frameworkOptions,
  type FrameworkConnectSettings,
  type IrcFrameworkClient,
  type IrcLine,
} from './wire.js';

/** Until the server shows us our own user@host (in our JOIN echo), assume the longest usual one. */
const CONSERVATIVE_USER_BYTES = 10; // USERLEN 9 plus the "~" of an unverified ident
const CONSERVATIVE_HOST_BYTES = 63; // HOSTLEN in ircd-ratbox/Solanum, InspIRCd, ngircd
/** The channels are tried this long before the connection counts as ready without the slow ones. */
const JOIN_READY_TIMEOUT_MS = 10_000;
/** A channel that refused us (banned, invite-only, full) is tried again after this. */
const JOIN_RETRY_MS = 60_000;
/** After ERROR, the server's own close is waited for this long. */
const ERROR_CLOSE_WAIT_MS = 2_000;
/** NickServ that does not answer IDENTIFY within this time is not waited for any longer. */
const NICKSERV_TIMEOUT_MS = 15_000;

/** What irc-framework is given (wire.ts), plus what this connection supervises itself. */
export interface ConnectionSettings extends FrameworkConnectSettings {
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
  /** IRCv3 msgid, and the msgid it replies to (+draft/reply): only where message-tags is on. */
  readonly msgid?: string;
  readonly replyTo?: string;
}

export interface ConnectionHandlers {
  onReady(): void;
  onJoined(channel: string): void;
  /** Kicked, or a JOIN was refused: lines for the channel wait (or fail) until it is joined again. */
  onChannelLost(channel: string, reason: string): void;
  onMessage(line: InboundLine): void;
  /** The server echoed a line of ours (IRCv3 echo-message) with the msgid it gave it. */
  onOwnEcho(channel: string, kind: InboundLine['kind'], body: string, msgid: string): void;
  /** PONG from the server, with its token (send-queue confirmations). */
  onPong(token: string): void;
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
  private readonly nicks: NickKeeper;
  private user: string | undefined;
  private host: string | undefined;
  private readonly channelByKey = new Map<string, string>();
  /** Set once registered and authenticated: from then on a channel added by setChannels is joined at once. */
  private joining = false;
  private readonly joined = new Set<string>();
  private readonly pendingJoins = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watchdog: PingWatchdog;
  /** Set by an ERROR line: why the server is closing the link. */
  private serverClosing: CloseOutcome | undefined;
  private resolveClosed: (() => void) | undefined;
  readonly closedPromise: Promise<void>;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly handlers: ConnectionHandlers,
    private readonly log: Logger,
  ) {
    this.nicks = new NickKeeper(settings.nick);
    this.watchdog = new PingWatchdog(settings.pingIntervalMs, settings.pingTimeoutMs, Date.now());
    for (const channel of settings.channels) this.channelByKey.set(ircLower(channel), channel);
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  open(): void {
    const client = createIrcFrameworkClient();
    this.client = client;
    // Chat lines are small and latency matters more than packet count: no Nagle delay.
    client.on('raw socket connected', (socket) => socket.setNoDelay(true));
    client.on('registered', (event) => this.onRegistered(event.nick));
    client.on('socket close', (error) => {
      const why = error ? `connection lost: ${error.message}` : 'connection closed by the server';
      this.finish({ ...(this.serverClosing ?? { reason: why, fatal: false }), clean: !error });
    });
    client.on('sasl failed', (event) =>
      this.finish(classifySaslFailure(this.settings.sasl?.account ?? '', event.reason, event.message)),
    );
    client.connection.on('raw', (event) => {
      if (event.from_server) this.watchdog.received(Date.now());
    });
    client.connection.on('message', (line, raw) => this.onLine(line, raw));
    const { settings } = this;
    client.connect(frameworkOptions(settings));
    this.after(settings.connectTimeoutMs, () => {
      if (!this.ready)
        this.finish({ reason: `not ready after ${settings.connectTimeoutMs / 1000} s`, fatal: false });
    });
    this.startWatchdog();
  }

  get currentNick(): string {
    return this.nicks.current;
  }

  /** Bytes of ":nick!user@host " the server adds when it relays one of our lines. */
  get sourceBytes(): number {
    const nickBytes = Math.max(byteLength(this.nicks.current), byteLength(this.nicks.configured));
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

  /**
   * A reload changed the channels (SIGHUP): JOINs the new ones and PARTs the ones left, on this
   * connection. Before registration only the list changes; authenticated() joins it.
   */
  setChannels(channels: readonly string[], partMessage: string): void {
    const wanted = new Map(channels.map((channel) => [ircLower(channel), channel]));
    for (const [key, channel] of this.channelByKey) {
      if (wanted.has(key)) continue;
      this.channelByKey.delete(key);
      this.pendingJoins.delete(key);
      if (this.joined.delete(key) && !this.closed) this.writeControl(`PART ${channel} :${partMessage}`);
    }
    for (const [key, channel] of wanted) {
      if (this.channelByKey.has(key)) continue;
      this.channelByKey.set(key, channel);
      if (this.joining) this.join(channel);
    }
  }

  private authenticated(): void {
    this.waitingForNickServ = false;
    this.joining = true;
    const channels = [...this.channelByKey.values()];
    for (const channel of channels) this.join(channel);
    if (channels.length === 0) this.markReady();
    else this.after(JOIN_READY_TIMEOUT_MS, () => this.markReady());
  }

  private join(channel: string): void {
    // A rejoin timer may outlive the channel: a reload removed it since.
    if (this.closed || !this.channelByKey.has(ircLower(channel))) return;
    this.pendingJoins.add(ircLower(channel));
    this.writeControl(`JOIN ${channel}`);
  }

  private markReady(): void {
    if (this.ready || this.closed) return;
    this.ready = true;
    this.handlers.onReady();
    if (!this.nicks.hasConfiguredNick) this.startNickRegain();
  }

  /** Whether our lines may carry this client tag now (send-queue.ts LineSink). */
  allowsClientTag(name: string): boolean {
    const network = this.client?.network;
    if (network?.cap.isEnabled('message-tags') !== true) return false;
    return clientTagAllowed(name, network.options.CLIENTTAGDENY);
  }

  private onLine(line: IrcLine, raw: string): void {
    if (this.closed) return;
    const last = line.params[line.params.length - 1] ?? '';
    switch (line.command) {
      case 'PRIVMSG':
      case 'NOTICE':
        return this.onMessageLine(line, raw);
      case 'JOIN':
        return this.onJoin(line);
      case 'KICK':
        return this.onKick(line);
      case 'NICK':
        if (this.nicks.isMe(line.nick)) this.setNick(last);
        return;
      case 'CHGHOST': // IRCv3 chghost: CHGHOST <new user> <new host>
        if (this.nicks.isMe(line.nick)) [this.user, this.host] = [line.params[0], line.params[1]];
        return;
      case '396': // RPL_HOSTHIDDEN: <nick> <host or user@host> :is now your displayed host
        this.host = line.params[1]?.split('@').pop();
        return;
      case 'PONG':
        this.handlers.onPong(last);
        return;
      case 'ERROR':
        // The server closes the link next; wait for that close to learn whether it was clean.
        this.serverClosing = { ...classifyServerError(last), errorAt: performance.now() };
        this.after(ERROR_CLOSE_WAIT_MS, () => this.finish(this.serverClosing ?? classifyServerError(last)));
        return;
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
        if (this.nicks.freeInIsonReply(last)) this.regainNick();
        return;
      case '731': // RPL_MONOFFLINE (IRCv3 monitor)
        if (this.nicks.freeInMonitorReply(last)) this.regainNick();
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

  private onMessageLine(line: IrcLine, raw: string): void {
    const chat = parseChatLine(line, raw);
    if (chat === undefined) return;
    if (this.waitingForNickServ && chat.kind === 'notice' && ircLower(chat.nick) === 'nickserv') {
      const verdict = classifyNickServReply(chat.body);
      if (verdict === 'ok') this.authenticated();
      else if (verdict === 'rejected') {
        const reason = `NickServ rejected IDENTIFY for "${this.settings.nick}": ${chat.body}`;
        this.finish({ reason, fatal: true });
      }
      return;
    }
    const channel = this.channelByKey.get(ircLower(chat.target));
    if (channel === undefined) return;
    if (this.nicks.isOwn(chat.nick)) {
      // Never relayed as a message; with echo-message it is the server's copy of a line we sent.
      if (chat.msgid !== undefined && this.client?.network.cap.isEnabled('echo-message') === true)
        this.handlers.onOwnEcho(channel, chat.kind, chat.body, chat.msgid);
      return;
    }
    const { kind, nick, body, time, msgid, replyTo } = chat;
    this.handlers.onMessage({
      kind,
      channel,
      nick,
      body,
      time,
      ...(msgid === undefined ? {} : { msgid }),
      ...(replyTo === undefined ? {} : { replyTo }),
    });
  }

  private onJoin(line: IrcLine): void {
    if (!this.nicks.isMe(line.nick)) return;
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
    if (channel === undefined || !this.nicks.isMe(victim)) return;
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
    const previous = this.nicks.current;
    const next = this.nicks.nextAlternative(Number(this.client?.network.options.NICKLEN) || undefined);
    if (next === undefined) {
      this.finish({
        reason: `no usable nick after ${MAX_NICK_ATTEMPTS} tries (last: ${numeric})`,
        fatal: false,
      });
      return;
    }
    this.log.warn({ nick: previous, next, numeric }, 'nick unavailable, trying an alternative');
    this.writeControl(`NICK ${next}`);
  }

  /** While on an alternative nick: MONITOR where offered, and ISON every nickRegainMs. */
  private startNickRegain(): void {
    const configured = this.nicks.configured;
    if (this.client?.network.options.MONITOR !== undefined) this.writeControl(`MONITOR + ${configured}`);
    const poll = (): void => {
      if (this.nicks.hasConfiguredNick) return;
      this.writeControl(`ISON ${configured}`);
      this.after(this.settings.nickRegainMs, poll);
    };
    this.after(this.settings.nickRegainMs, poll);
  }

  private regainNick(): void {
    if (this.ready && !this.nicks.hasConfiguredNick) this.writeControl(`NICK ${this.nicks.configured}`);
  }

  private setNick(nick: string): void {
    if (this.nicks.changed(nick) && this.ready) this.log.info({ nick }, 'configured nick regained');
  }

  private writeControl(line: string): void {
    const connection = this.client?.connection;
    if (this.closed || connection === undefined || !connection.connected) return;
    this.handlers.onControlLine();
    connection.write(line);
  }

  /** PING when idle, give the connection up when the server stays silent (watchdog.ts). */
  private startWatchdog(): void {
    const check = (): void => {
      const verdict = this.watchdog.check(Date.now());
      switch (verdict.action) {
        case 'dead':
          this.finish({
            reason: `ping timeout: nothing from the server for ${Math.round(verdict.idleMs / 1000)} s`,
            fatal: false,
          });
          return;
        case 'ping':
          if (this.registered) this.writeControl('PING :kosmi-relay');
          break;
        case 'none':
          break;
      }
      this.after(this.watchdog.checkEveryMs, check);
    };
    this.after(this.watchdog.checkEveryMs, check);
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
