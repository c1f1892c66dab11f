import net from 'node:net';

/**
 * A small raw-socket IRC client for tests: it plays the human on the other side of the relay.
 * It keeps every line it received, byte-exact, so tests can check what the server relayed
 * (RFC 1459 §2.3: at most 512 bytes including CR LF).
 */
export type ReceivedKind = 'text' | 'action' | 'notice';

export interface ReceivedMessage {
  /** Sender nick, from the line's prefix. */
  readonly nick: string;
  /** Channel or nick the message was addressed to. */
  readonly target: string;
  /** The text, CTCP ACTION markers removed. */
  readonly text: string;
  readonly kind: ReceivedKind;
  /** The whole line as received, without CR LF. */
  readonly rawLine: string;
  /** Size of the line on the wire in bytes, including CR LF. */
  readonly rawBytes: number;
  /** Epoch milliseconds with sub-millisecond precision (performance.timeOrigin + performance.now()). */
  readonly receivedAt: number;
}

export interface TestIrcClient {
  readonly nick: string;
  /** PRIVMSG/NOTICE received, in order. */
  readonly messages: ReceivedMessage[];
  /** Every line received, in order, without CR LF. */
  readonly lines: string[];
  say(target: string, text: string): Promise<void>;
  action(target: string, text: string): Promise<void>;
  notice(target: string, text: string): Promise<void>;
  /** Sends one raw line (CR LF appended). */
  raw(line: string): Promise<void>;
  /** JOINs and resolves at the end of NAMES (366). */
  join(channel: string, timeoutMs?: number): Promise<void>;
  /** First message, already received or still to come, that matches. */
  waitForMessage(
    predicate: (message: ReceivedMessage) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedMessage>;
  /** First raw line, already received or still to come, that matches. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the server closed the connection (after a restart or kill, a KILL, ...). */
  waitForClose(timeoutMs?: number): Promise<void>;
  /** Sends QUIT and closes the socket. Idempotent. */
  quit(message?: string): Promise<void>;
  readonly closed: boolean;
}

export interface ConnectOptions {
  readonly port: number;
  readonly host?: string;
  readonly nick: string;
  readonly channels?: readonly string[];
  /** Server password (PASS). */
  readonly password?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const QUIT_TIMEOUT_MS = 2_000;

interface Waiter {
  readonly test: () => boolean;
  readonly resolve: () => void;
}

export async function connectIrcClient(options: ConnectOptions): Promise<TestIrcClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = net.connect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true });
  const messages: ReceivedMessage[] = [];
  const lines: string[] = [];
  let waiters: Waiter[] = [];
  let pending = Buffer.alloc(0);
  let closed = false;
  let closeError: Error | undefined;

  const settleWaiters = (): void => {
    waiters = waiters.filter((waiter) => {
      if (!waiter.test()) return true;
      waiter.resolve();
      return false;
    });
  };

  const write = (line: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new Error(`${options.nick}: connection closed`));
        return;
      }
      socket.write(`${line}\r\n`, (error) => (error ? reject(error) : resolve()));
    });

  const onLine = (raw: Buffer): void => {
    const line = raw.toString('utf8');
    lines.push(line);
    // IRCv3 message tags ("@key=value;... " before the prefix) stay in rawLine only.
    const untagged = line.startsWith('@') ? line.slice(line.indexOf(' ') + 1) : line;
    const parsed = /^(?::(\S+) )?(\S+)(?: (.*))?$/.exec(untagged);
    if (parsed === null) return;
    const [, prefix = '', command = '', rest = ''] = parsed;
    if (command === 'PING') {
      void write(`PONG ${rest}`).catch(() => undefined); // a failed PONG shows up as a closed socket
    } else if (command === 'PRIVMSG' || command === 'NOTICE') {
      const space = rest.indexOf(' ');
      const target = rest.slice(0, space);
      let text = rest.slice(space + 1);
      if (text.startsWith(':')) text = text.slice(1);
      let kind: ReceivedKind = command === 'NOTICE' ? 'notice' : 'text';
      // CTCP: \x01ACTION text\x01, the closing \x01 optional in practice.
      if (command === 'PRIVMSG' && text.startsWith('\x01ACTION ')) {
        kind = 'action';
        text = text.slice('\x01ACTION '.length);
        if (text.endsWith('\x01')) text = text.slice(0, -1);
      }
      messages.push({
        nick: prefix.split('!')[0] ?? '',
        target,
        text,
        kind,
        rawLine: line,
        rawBytes: raw.length + 2,
        receivedAt: performance.timeOrigin + performance.now(),
      });
    }
    settleWaiters();
  };

  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (let end = pending.indexOf(0x0a); end !== -1; end = pending.indexOf(0x0a)) {
      const stop = end > 0 && pending[end - 1] === 0x0d ? end - 1 : end;
      onLine(pending.subarray(0, stop));
      pending = pending.subarray(end + 1);
    }
  });
  socket.on('error', (error) => {
    closeError = error;
  });
  socket.on('close', () => {
    closed = true;
    settleWaiters();
  });

  const waitUntil = (test: () => boolean, what: string, ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        reject(new Error(`${options.nick}: timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const waiter: Waiter = {
        test: () => test() || closed,
        resolve: () => {
          clearTimeout(timer);
          if (test()) resolve();
          else
            reject(
              new Error(
                `${options.nick}: connection closed while waiting for ${what}${closeError ? ` (${closeError.message})` : ''}`,
              ),
            );
        },
      };
      if (waiter.test()) waiter.resolve();
      else waiters.push(waiter);
    });

  const waitForLine = async (predicate: (line: string) => boolean, ms = timeoutMs): Promise<string> => {
    let found: string | undefined;
    await waitUntil(() => (found = lines.find(predicate)) !== undefined, 'a matching line', ms);
    return found as string;
  };

  const join = async (channel: string, ms = timeoutMs): Promise<void> => {
    const from = lines.length;
    await write(`JOIN ${channel}`);
    const endOfNames = new RegExp(`^\\S+ 366 \\S+ ${channel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'i');
    await waitUntil(() => lines.slice(from).some((l) => endOfNames.test(l)), `JOIN ${channel}`, ms);
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (options.password !== undefined) await write(`PASS ${options.password}`);
  await write(`NICK ${options.nick}`);
  await write(`USER ${options.nick.slice(0, 10)} 0 * :test client ${options.nick}`);
  await waitUntil(() => lines.some((l) => /^\S+ (001|433|432|464|465) /.test(l)), 'registration', timeoutMs);
  const refused = lines.find((l) => /^\S+ (433|432|464|465) /.test(l));
  if (refused !== undefined) {
    socket.destroy();
    throw new Error(`${options.nick}: registration refused: ${refused}`);
  }
  for (const channel of options.channels ?? []) await join(channel);

  const client: TestIrcClient = {
    nick: options.nick,
    messages,
    lines,
    say: (target, text) => write(`PRIVMSG ${target} :${text}`),
    action: (target, text) => write(`PRIVMSG ${target} :\x01ACTION ${text}\x01`),
    notice: (target, text) => write(`NOTICE ${target} :${text}`),
    raw: write,
    join,
    waitForMessage: async (predicate, ms = timeoutMs) => {
      let found: ReceivedMessage | undefined;
      await waitUntil(() => (found = messages.find(predicate)) !== undefined, 'a matching message', ms);
      return found as ReceivedMessage;
    },
    waitForLine,
    waitForClose: (ms = timeoutMs) => waitUntil(() => closed, 'the connection to close', ms),
    quit: async (message = 'bye') => {
      if (closed) return;
      await write(`QUIT :${message}`).catch(() => undefined); // already closing: nothing to say
      await waitUntil(() => closed, 'close after QUIT', QUIT_TIMEOUT_MS).catch(() => undefined); // forced below
      socket.destroy();
      closed = true;
    },
    get closed() {
      return closed;
    },
  };
  return client;
}
