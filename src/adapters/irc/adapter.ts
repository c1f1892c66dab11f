import { needsNewConnection } from '../../config/diff.js';
import { parseHostPort } from '../../config/host-port.js';
import type { IrcAccountConfig } from '../../config/irc.js';
import {
  DeliveryError,
  type AdapterCapabilities,
  type SendResult,
  type WireListener,
} from '../../core/adapter.js';
import type { ChatMessage, OutboundPiece } from '../../core/message.js';
import { superviseConnection, type AttemptContext, type AttemptEnd } from '../../core/supervisor.js';
import { TokenBucket } from '../../core/token-bucket.js';
import { scrubSecrets } from '../../log/logger.js';
import { BaseAdapter } from '../base-adapter.js';
import type { AdapterDeps } from '../types.js';
import { IrcConnection, type ConnectionSettings, type InboundLine } from './connection.js';
import type { ReplayPolicy } from './confirmations.js';
import type { CloseOutcome } from './errors.js';
import { hasFormatting, stripFormatting } from './format.js';
import { ircLower } from './nick.js';
import { SendQueue } from './send-queue.js';
import { renderLine, textBudget } from './split.js';
import { REPLY_TAG, validId } from './tags.js';

/** Reconnect delays (full jitter, core/backoff.ts): a restarted server is usually back within a second. */
const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 60_000, stableAfterMs: 60_000 };
/** Pieces the core may hand over before the first is confirmed (a PONG confirms many at once). */
const PIECES_IN_FLIGHT = 100;
/**
 * While not connected the core splits for a server source this long (":nick!user@host "): a
 * 30-byte nick, "~" and a 9-byte user, a 63-byte host. Connected, it splits for the connection's
 * own source; a line that no longer fits when it is written is fitted again (split.ts refitLine).
 */
const ASSUMED_SOURCE_BYTES = 1 + 30 + 1 + 10 + 1 + 63 + 1;

/** Which unconfirmed lines to send again after this close (confirmations.ts). */
export function replayPolicy(outcome: CloseOutcome): ReplayPolicy {
  if (outcome.errorAt !== undefined) return { kind: 'since', at: outcome.errorAt };
  return outcome.clean === true ? { kind: 'failed-writes' } : { kind: 'all' };
}

export interface IrcEndpoint {
  readonly host: string;
  readonly port: number;
}

/** "host:port", "host", "[v6]:port"; the port defaults to 6697 with TLS, else 6667 (issue 2 §2). */
export function parseServer(server: string, tls: boolean): IrcEndpoint {
  const address = parseHostPort(server);
  if (address === undefined) throw new Error(`server "${server}" is not host:port`);
  return { host: address.host, port: address.port ?? (tls ? 6697 : 6667) };
}

const longest = (channels: readonly string[]): string =>
  channels.reduce((a, b) => (a.length >= b.length ? a : b), '');

/** The schema proved each pattern compiles (config/common.ts regexString). */
const compileIgnores = (patterns: readonly string[], flags: string): RegExp[] =>
  patterns.map((pattern) => new RegExp(pattern, flags));

/**
 * One IRC account (issue 2 §4): a supervisor that keeps one IrcConnection alive forever, the
 * flood-controlled send queue, and the mapping between IRC lines and the neutral model.
 */
export class IrcAdapter extends BaseAdapter {
  readonly protocol = 'irc' as const;
  private readonly staticCapabilities: Omit<AdapterCapabilities, 'maxMessageBytes'>;
  /** The longest channel name of this account: the core splits for the tightest line. */
  private longestChannel: string;
  private readonly queue: SendQueue;
  private readonly abort = new AbortController();
  private ignoreNicks: RegExp[];
  private ignoreMessages: RegExp[];
  private readonly secrets: (string | undefined)[];
  private connection: IrcConnection | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private sequence = 0;

  constructor(
    account: string,
    private settings: IrcAccountConfig,
    private readonly deps: AdapterDeps,
  ) {
    super(account, deps.channels, deps.logger);
    this.longestChannel = longest(deps.channels);
    this.staticCapabilities = {
      formatting: 'irc',
      multiline: false,
      maxPieces: settings.max_lines_per_message,
      cutMarker: settings.cut_marker,
      inFlight: PIECES_IN_FLIGHT,
      edits: false,
      // IRCv3 +draft/reply where the server has message-tags (tags.ts); clients may not show the
      // link, so the core keeps the mention in the text. Without tags a line is just text.
      replies: 'linked',
    };
    const bucket = new TokenBucket(settings.flood_burst, settings.flood_rate);
    this.queue = new SendQueue(bucket, undefined, undefined, settings.max_line_bytes);
    this.controlLine = () => bucket.forceTake();
    this.ignoreNicks = compileIgnores(settings.ignore_nicks, 'i');
    this.ignoreMessages = compileIgnores(settings.ignore_messages, '');
    this.secrets = [settings.password, settings.sasl_password, settings.nickserv_password];
  }

  private readonly controlLine: () => void;
  /** What the core splits for: a text line on the current connection (an ACTION is fitted when written). */
  get capabilities(): AdapterCapabilities {
    return {
      ...this.staticCapabilities,
      maxMessageBytes: textBudget({
        kind: 'text',
        target: this.longestChannel,
        sourceBytes: this.connection?.sourceBytes ?? ASSUMED_SOURCE_BYTES,
        maxLineBytes: this.settings.max_line_bytes,
      }),
    };
  }

  start(): Promise<void> {
    // Validates the server address now: a bad one is a local setup error, not a network outage.
    parseServer(this.settings.server, this.settings.tls);
    this.loop ??= this.supervise();
    return Promise.resolve();
  }

  /**
   * SIGHUP reload on the running connection: new ignore lists, and JOIN/PART for the channels a
   * gateway added or removed. False when a setting the connection was made with changed
   * (config/diff.ts decides which those are).
   */
  reconfigure(settings: IrcAccountConfig, channels: readonly string[]): boolean {
    if (this.stopped || needsNewConnection('irc', this.settings, settings)) return false;
    this.settings = settings;
    this.ignoreNicks = compileIgnores(settings.ignore_nicks, 'i');
    this.ignoreMessages = compileIgnores(settings.ignore_messages, '');
    this.setChannels(channels);
    this.longestChannel = longest(channels);
    this.connection?.setChannels(channels, 'kosmi-relay: channel removed from the config');
    return true;
  }

  async stop(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new Error('stopped'));
    // The core drained its queues before this; what is still unconfirmed fails back to the core,
    // which keeps it in the store for the next start.
    await this.connection?.quit('kosmi-relay shutting down', Math.max(0, deadline - Date.now()));
    await this.loop;
    this.queue.detach('stopped');
    this.setStatus('disconnected', 'stopped');
  }

  protected async deliver(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    const connection = this.connection;
    if (this.stopped || connection === undefined || this.status().state !== 'connected') {
      throw new DeliveryError('IRC account is not connected', { retryable: true });
    }
    if (!this.channels.some((channel) => ircLower(channel) === ircLower(piece.channel))) {
      throw new DeliveryError(`${piece.channel} is not a channel of ${this.account}`, { retryable: false });
    }
    const replyTo = validId(piece.replyTo);
    const line = renderLine({
      kind: piece.kind,
      target: piece.channel,
      prefix: piece.prefix,
      piece: piece.text,
      // Written only on a connection with message-tags (send-queue.ts); the msgid is escaped there.
      ...(replyTo === undefined ? {} : { tags: [{ name: REPLY_TAG, value: replyTo }] }),
    });
    return this.queue.send(piece.channel, [line], onWire);
  }

  private supervise(): Promise<void> {
    return superviseConnection({
      log: this.log.child({ server: this.settings.server, tls: this.settings.tls }),
      signal: this.abort.signal,
      attempt: (context) => this.runConnection(context),
      setState: (state, reason) => this.applyStatus(state, reason),
      backoff: RECONNECT_BACKOFF,
      retryFailedMs: this.settings.retry_failed_seconds * 1000,
    });
  }

  /** One connection, from connect until it closes; errors.ts has already classified the close. */
  private async runConnection(context: AttemptContext): Promise<AttemptEnd> {
    const outcome = await this.openConnection(context);
    this.connection = undefined;
    this.queue.detach(outcome.reason, replayPolicy(outcome));
    if (context.signal.aborted) return { kind: 'stopped' };
    return { kind: outcome.fatal ? 'failed' : 'transient', reason: outcome.reason };
  }

  private openConnection(context: AttemptContext): Promise<CloseOutcome> {
    const { host, port } = parseServer(this.settings.server, this.settings.tls);
    return new Promise((resolve) => {
      const connection: IrcConnection = new IrcConnection(
        this.connectionSettings(host, port),
        {
          onReady: () => {
            this.queue.attach(connection);
            context.connected();
          },
          onJoined: (channel) => {
            this.log.info({ channel }, 'joined');
            this.queue.pump();
          },
          onChannelLost: (channel, reason) => {
            this.log.warn({ channel, reason: this.scrub(reason) }, 'not in channel');
            this.queue.failChannel(
              channel,
              new DeliveryError(`not in ${channel}: ${reason}`, { retryable: true }),
            );
          },
          onMessage: (line) => this.onInbound(line),
          onOwnEcho: (channel, kind, body, msgid) => this.queue.echoed(channel, kind, body, msgid),
          onPong: (token) => this.queue.confirm(token),
          onClosed: (outcome) => resolve({ ...outcome, reason: this.scrub(outcome.reason) }),
          onControlLine: this.controlLine,
        },
        this.log,
      );
      this.connection = connection;
      connection.open();
    });
  }

  private connectionSettings(host: string, port: number): ConnectionSettings {
    const s = this.settings;
    return {
      host,
      port,
      tls: s.tls,
      tlsVerify: s.tls_verify,
      nick: s.nick,
      realname: s.realname,
      ...(s.password === undefined ? {} : { password: s.password }),
      ...(s.sasl_account === undefined || s.sasl_password === undefined
        ? {}
        : { sasl: { account: s.sasl_account, password: s.sasl_password } }),
      ...(s.nickserv_password === undefined ? {} : { nickservPassword: s.nickserv_password }),
      channels: this.channels,
      connectTimeoutMs: s.connect_timeout_seconds * 1000,
      pingIntervalMs: s.ping_interval_seconds * 1000,
      pingTimeoutMs: s.ping_timeout_seconds * 1000,
      rejoinDelayMs: s.rejoin_delay_seconds * 1000,
      nickRegainMs: s.nick_regain_seconds * 1000,
    };
  }

  private onInbound(line: InboundLine): void {
    const text = stripFormatting(line.body);
    if (
      this.ignoreNicks.some((re) => re.test(line.nick)) ||
      this.ignoreMessages.some((re) => re.test(text))
    ) {
      this.log.debug({ channel: line.channel }, 'ignored by ignore_nicks/ignore_messages');
      return;
    }
    this.sequence += 1;
    const message: ChatMessage = {
      id: `${this.account}:${this.sequence}`,
      kind: line.kind,
      text,
      ...(hasFormatting(line.body) ? { rich: { format: 'irc', body: line.body } as const } : {}),
      ...(line.msgid === undefined ? {} : { networkId: line.msgid }),
      ...(line.replyTo === undefined ? {} : { replyTo: { networkId: line.replyTo } }),
      sender: { nick: line.nick },
      source: { account: this.account, channel: line.channel },
      timestamp: line.time,
    };
    this.log.debug({ id: message.id, channel: line.channel }, 'received');
    this.emitMessage(message);
  }

  private scrub(text: string): string {
    return scrubSecrets(text, this.secrets);
  }
}
