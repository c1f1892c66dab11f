/**
 * The narrow slice of irc-framework 4.x this adapter uses, typed here because the package ships no
 * types. Wire types stay in this folder (house style: "wire types never leave their adapter").
 */
import { createRequire } from 'node:module';

/** A parsed line (irc-framework src/ircmessage.js). Numerics keep their digits as `command`. */
export interface IrcLine {
  readonly command: string;
  readonly params: string[];
  readonly prefix: string;
  readonly nick: string;
  readonly ident: string;
  readonly hostname: string;
  readonly tags: Record<string, string | undefined>;
}

export interface IrcFrameworkConnection {
  connected: boolean;
  /** Writes one line (CR LF added); `callback` is the socket write callback. */
  write(line: string, callback?: (error?: Error | null) => void): unknown;
  /** Closes the socket: `end(null, true)` destroys it at once. */
  end(data?: string | null, hadError?: boolean): void;
  on(event: 'message', listener: (line: IrcLine, raw: string) => void): unknown;
  on(event: 'raw', listener: (event: { line: string; from_server: boolean }) => void): unknown;
}

export interface IrcFrameworkClient {
  readonly connection: IrcFrameworkConnection;
  readonly network: {
    readonly options: Record<string, unknown>;
    /** The capabilities the server acknowledged (src/networkinfo.js). */
    readonly cap: { isEnabled(name: string): boolean };
  };
  connect(options: Record<string, unknown>): void;
  on(event: 'registered', listener: (event: { nick: string }) => void): this;
  /** The TCP socket, before any TLS handshake (irc-framework src/transports/net.js). */
  on(event: 'raw socket connected', listener: (socket: import('node:net').Socket) => void): this;
  on(event: 'socket close', listener: (error?: Error | false) => void): this;
  on(event: 'sasl failed', listener: (event: { reason: string; message?: string }) => void): this;
  on(event: 'loggedin', listener: (event: { nick: string; account: string }) => void): this;
  removeAllListeners(): this;
}

type ClientConstructor = new () => IrcFrameworkClient;

const requireHere = createRequire(import.meta.url);
let clientClass: ClientConstructor | undefined;

/** irc-framework is CommonJS; load it once, lazily. */
export function createIrcFrameworkClient(): IrcFrameworkClient {
  clientClass ??= (requireHere('irc-framework') as { Client: ClientConstructor }).Client;
  return new clientClass();
}

export interface FrameworkConnectSettings {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly tlsVerify: boolean;
  readonly nick: string;
  readonly realname: string;
  readonly password?: string;
  readonly sasl?: { readonly account: string; readonly password: string };
}

/** irc-framework's connect() options (src/client.js _applyDefaultOptions). */
export function frameworkOptions(settings: FrameworkConnectSettings): Record<string, unknown> {
  return {
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
    // An empty account object stops irc-framework from trying the server password as SASL
    // (src/commands/handlers/registration.js getSaslAuth).
    account:
      settings.sasl === undefined ? {} : { account: settings.sasl.account, password: settings.sasl.password },
    sasl_disconnect_on_fail: false,
    // The adapter's supervisor owns reconnects and the ping watchdog.
    auto_reconnect: false,
    ping_interval: 0,
    ping_timeout: 0,
    enable_chghost: true,
    // IRCv3 echo-message: the server echoes our lines with the msgid it gave them (tags.ts).
    // irc-framework requests message-tags and server-time by itself when offered.
    enable_echomessage: true,
    version: 'kosmi-relay',
    encoding: 'utf8',
  };
}
