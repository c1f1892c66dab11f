import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/**
 * A real ngircd (Debian package `ngircd`) on a free loopback port, run in the foreground
 * (`ngircd -n -f CONFIG`) as a child of the test, with a generated config in a temp dir.
 *
 * Flood penalties are off by default (`MaxPenaltyTime = 0`, ngircd.conf(5)) so tests and the bench
 * measure the relay, not ngircd's throttle; `floodPenalties: true` keeps ngircd's defaults.
 */
export interface NgircdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The TLS port when started with `tls: true`. */
  readonly tlsPort?: number;
  /** The server name (`[Global] Name`), e.g. "irc1.test". */
  readonly name: string;
  /** Starts the server again after stop() or kill(), on the same port. */
  start(): Promise<void>;
  /** SIGTERM and wait for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** stop() then start() on the same port. */
  restart(): Promise<void>;
  /** SIGKILL and wait for the process to exit (a crash: no ERROR or QUIT reaches the clients). */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its sockets open (a dead link, for ping-timeout tests). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** ngircd's stderr/stdout so far, for diagnosing a failing test. */
  output(): string;
}

export interface NgircdOptions {
  /** Keep ngircd's default flood penalties (default false: `MaxPenaltyTime = 0`). */
  readonly floodPenalties?: boolean;
  /** Server name; must contain a dot (default "irc<N>.test"). */
  readonly name?: string;
  /** Server password ([Global] Password) every client must send with PASS. */
  readonly password?: string;
  /** Also listen with TLS on `tlsPort`, with a fresh self-signed certificate (needs `openssl`). */
  readonly tls?: boolean;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 50;
const MAX_OUTPUT_CHARS = 64_000;

let serverCounter = 0;

/** Config dirs are kept for restart() and removed when the test process exits. */
const tempDirs = new Set<string>();
/** Servers a test forgot to stop must not outlive it. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of liveChildren) proc.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function configText(
  name: string,
  port: number,
  dir: string,
  options: NgircdOptions,
  tlsPort?: number,
): string {
  const floodPenalties = options.floodPenalties === true;
  const tls =
    tlsPort === undefined
      ? []
      : [
          '[SSL]',
          `\tCertFile = ${path.join(dir, 'cert.pem')}`,
          `\tKeyFile = ${path.join(dir, 'key.pem')}`,
          `\tPorts = ${tlsPort}`,
        ];
  return [
    '[Global]',
    `\tName = ${name}`,
    '\tInfo = kosmi-relay test server',
    '\tAdminInfo1 = test',
    '\tAdminInfo2 = test',
    '\tAdminEMail = test@example.test',
    '\tListen = 127.0.0.1',
    `\tPorts = ${port}`,
    '\tMotdPhrase = "test server"',
    ...(options.password === undefined ? [] : [`\tPassword = ${options.password}`]),
    '[Limits]',
    '\tMaxConnections = 0',
    '\tMaxConnectionsIP = 0',
    '\tMaxJoins = 0',
    '\tMaxNickLength = 30',
    // -1 is ngircd's default (no cap on a penalty increase); 0 disables penalties altogether.
    `\tMaxPenaltyTime = ${floodPenalties ? -1 : 0}`,
    '\tPingTimeout = 120',
    '\tPongTimeout = 20',
    '[Options]',
    '\tDNS = no',
    '\tIdent = no',
    '\tPAM = no',
    '\tRequireAuthPing = no',
    // The default IncludeDir is /etc/ngircd/ngircd.conf.d: never read the system's snippets.
    `\tIncludeDir = ${path.join(dir, 'conf.d')}`,
    ...tls,
    '',
  ].join('\n');
}

/** True when a client can connect and complete registration (001). */
function probe(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined); // late errors after destroy are irrelevant to the probe
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      const nick = `probe${Math.floor(Math.random() * 1e8).toString(36)}`;
      const pass = password === undefined ? '' : `PASS ${password}\r\n`;
      socket.write(`${pass}NICK ${nick}\r\nUSER probe 0 * :probe\r\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (/^\S+ 001 /m.test(buffer)) {
        socket.write('QUIT :probe\r\n');
        done(true);
      }
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export async function startNgircd(options: NgircdOptions = {}): Promise<NgircdServer> {
  serverCounter += 1;
  const name = options.name ?? `irc${serverCounter}.test`;
  if (!name.includes('.')) throw new Error(`ngircd server name "${name}" must contain a dot`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ngircd-'));
  const port = await freePort();
  const configPath = path.join(dir, 'ngircd.conf');
  let tlsPort: number | undefined;
  if (options.tls === true) {
    tlsPort = await freePort();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  }
  writeFileSync(configPath, configText(name, port, dir, options, tlsPort));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const proc = spawn('/usr/sbin/ngircd', ['-n', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    liveChildren.add(proc);
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        liveChildren.delete(proc);
        if (child === proc) child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (let tries = 0; tries < READY_TIMEOUT_MS / PROBE_INTERVAL_MS; tries++) {
      if (child !== proc) throw new Error(`ngircd exited during start-up:\n${output}`);
      if (await probe(port, options.password)) return;
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`ngircd on port ${port} not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGCONT'); // a frozen server cannot handle SIGTERM
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const server: NgircdServer = {
    host: '127.0.0.1',
    port,
    ...(tlsPort === undefined ? {} : { tlsPort }),
    name,
    start,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    restart: async () => {
      await terminate('SIGTERM');
      await start();
    },
    freeze: () => {
      child?.kill('SIGSTOP');
    },
    thaw: () => {
      child?.kill('SIGCONT');
    },
    output: () => output,
  };
  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  tempDirs.add(dir);
  return server;
}
