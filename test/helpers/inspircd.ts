import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectIrcClient } from './irc-client.js';
import { freePort, uniqueName } from './ports.js';
import { waitFor } from './wait-for.js';

/**
 * A SASL-capable IRC network on loopback from Debian's packages: InspIRCd 3 with Atheme 7.2
 * services; the configs this file writes are the whole recipe. ngircd has neither SASL nor services.
 */
export interface SaslNetwork {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Registers an account with NickServ as a user would (nick = account name). */
  registerAccount(account: string, password: string): Promise<void>;
  stop(): Promise<void>;
  /** InspIRCd and Atheme logs, for a failing test. */
  output(): string;
}

const SERVER_NAME = 'irc.example.test';
const SERVICES_NAME = 'services.example.test';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export function saslNetworkAvailable(): boolean {
  return existsSync('/usr/sbin/inspircd') && existsSync('/usr/bin/atheme-services');
}

/** The part of an InspIRCd 3 config every test server shares: paths, one client port, loose limits. */
function baseConfig(dir: string, clientPort: number, modules: readonly string[]): string {
  return `<config format="xml">
<path configdir="${dir}" datadir="${dir}" logdir="${dir}" runtimedir="${dir}" moduledir="/usr/lib/inspircd/modules">
<pid file="${dir}/inspircd.pid">
<server name="${SERVER_NAME}" description="kosmi-relay test network" network="TestNet">
<admin name="test" nick="test" email="test@example.test">
<bind address="127.0.0.1" port="${clientPort}" type="clients">
<connect name="main" allow="*" timeout="30" pingfreq="120" hardsendq="10M" softsendq="1M" recvq="1M"
         threshold="100000" commandrate="1000000" fakelag="no" localmax="10000" globalmax="10000"
         maxchans="100" limit="10000" resolvehostnames="no" useident="no">
<dns server="127.0.0.1" timeout="1">
<performance clonesonconnect="no" timeskipwarn="0">
<security announceinvites="dynamic" hidesplits="no" hideulines="no">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${dir}/inspircd.log">
${modules.map((name) => `<module name="${name}">`).join('\n')}
`;
}

function inspircdConfig(
  dir: string,
  clientPort: number,
  linkPort: number,
  linkPass: { send: string; recv: string },
): string {
  const modules = [
    'spanningtree',
    'services_account',
    'cap',
    'sasl',
    'ircv3',
    'svshold',
    'chghost',
    'chgident',
    'chgname',
    'hidechans',
    'servprotect',
    'topiclock',
    'globops',
  ];
  return `${baseConfig(dir, clientPort, modules)}<bind address="127.0.0.1" port="${linkPort}" type="servers">
<sasl target="${SERVICES_NAME}" requiressl="no">
<link name="${SERVICES_NAME}" ipaddr="127.0.0.1" port="${linkPort}" allowmask="127.0.0.0/8"
      sendpass="${linkPass.send}" recvpass="${linkPass.recv}">
<uline server="${SERVICES_NAME}" silent="yes">
`;
}

function athemeConfig(linkPort: number, linkPass: { send: string; recv: string }): string {
  const modules = [
    'protocol/inspircd',
    'backend/opensex',
    'crypto/pbkdf2v2',
    'nickserv/main',
    'nickserv/identify',
    'nickserv/register',
    'nickserv/info',
    'nickserv/logout',
    'nickserv/status',
    'nickserv/ghost',
    'nickserv/set_core',
    'nickserv/set_password',
    'saslserv/main',
    'saslserv/plain',
  ];
  return `${modules.map((m) => `loadmodule "modules/${m}";`).join('\n')}
pbkdf2v2 { };
serverinfo {
  name = "${SERVICES_NAME}";
  desc = "Atheme test services";
  numeric = "00A";
  recontime = 1;
  netname = "TestNet";
  hidehostsuffix = "users.example.test";
  adminname = "test";
  adminemail = "test@example.test";
  registeremail = "test@example.test";
  loglevel = { error; info; network; };
  maxlogins = 50;
  maxusers = 50;
  mdlimit = 30;
  emaillimit = 1000;
  emailtime = 1;
  auth = none;
  casemapping = rfc1459;
};
uplink "${SERVER_NAME}" {
  host = "127.0.0.1";
  send_password = "${linkPass.recv}";
  receive_password = "${linkPass.send}";
  port = ${linkPort};
};
nickserv {
  nick = "NickServ";
  user = "NickServ";
  host = "${SERVICES_NAME}";
  real = "Nickname Services";
  maxnicks = 5;
  expire = 30;
};
saslserv {
  nick = "SaslServ";
  user = "SaslServ";
  host = "${SERVICES_NAME}";
  real = "SASL Authentication Agent";
};
general {
  flood_msgs = 0;
  flood_time = 10;
  ratelimit_uses = 10000;
  ratelimit_period = 1;
  kline_time = 7;
  clone_time = 0;
  commit_interval = 5;
  default_clone_allowed = 10000;
  default_clone_warn = 10000;
  uplink_sendq_limit = 1048576;
  language = "en";
};
`;
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // not written yet
  }
}

/** InspIRCd in the foreground with the config in `dir`; output() is its stdout and stderr so far. */
function spawnInspircd(dir: string): {
  ircd: ChildProcess;
  exited: Promise<void>;
  output: () => string;
  running: () => Promise<void>;
} {
  let text = '';
  const ircd = spawn(
    '/usr/sbin/inspircd',
    ['--config', path.join(dir, 'inspircd.conf'), '--nofork', '--runasroot'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  ircd.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  ircd.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => ircd.once('exit', () => resolve()));
  const running = async (): Promise<void> => {
    await waitFor(() => text.includes('is now running') || ircd.exitCode !== null, {
      timeoutMs: READY_TIMEOUT_MS,
      what: 'inspircd to start',
    });
    if (ircd.exitCode !== null) throw new Error('inspircd exited during start-up');
  };
  return { ircd, exited, output: () => text, running };
}

async function stopInspircd(ircd: ChildProcess, exited: Promise<void>): Promise<void> {
  ircd.kill('SIGTERM');
  const timer = setTimeout(() => ircd.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A single InspIRCd 3 server offering IRCv3 message-tags, msgid, echo-message and server-time. */
export interface TaggedIrcd {
  readonly host: '127.0.0.1';
  readonly port: number;
  stop(): Promise<void>;
  output(): string;
}

export function inspircdAvailable(): boolean {
  return existsSync('/usr/sbin/inspircd');
}

export async function startTaggedIrcd(): Promise<TaggedIrcd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagged-ircd-'));
  const port = await freePort();
  // ircv3_ctctags is the message-tags capability (client tags such as +draft/reply are relayed).
  const modules = ['cap', 'ircv3', 'ircv3_ctctags', 'ircv3_msgid', 'ircv3_echomessage', 'ircv3_servertime'];
  writeFileSync(path.join(dir, 'inspircd.conf'), baseConfig(dir, port, modules));
  const { ircd, exited, output: stdout, running } = spawnInspircd(dir);
  const output = (): string => `${stdout()}\n${readIfExists(path.join(dir, 'inspircd.log')).slice(-4000)}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopInspircd(ircd, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await running();
  } catch (error) {
    const text = output();
    await stop();
    throw new Error(`InspIRCd did not start: ${(error as Error).message}\n${text}`);
  }
  return { host: '127.0.0.1', port, stop, output };
}

export async function startSaslNetwork(): Promise<SaslNetwork> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sasl-net-'));
  const [port, linkPort] = [await freePort(), await freePort()];
  const linkPass = { send: `send-${uniqueName('p')}`, recv: `recv-${uniqueName('p')}` };
  writeFileSync(path.join(dir, 'inspircd.conf'), inspircdConfig(dir, port, linkPort, linkPass));
  writeFileSync(path.join(dir, 'atheme.conf'), athemeConfig(linkPort, linkPass));
  writeFileSync(path.join(dir, 'atheme.motd'), 'test\n');
  const { ircd, exited: ircdExited, output: ircdText, running } = spawnInspircd(dir);
  const athemePidFile = path.join(dir, 'atheme.pid');
  const athemeLog = path.join(dir, 'atheme.log');
  const output = (): string =>
    `--- inspircd ---\n${ircdText()}\n${readIfExists(path.join(dir, 'inspircd.log')).slice(-4000)}\n--- atheme ---\n${readIfExists(athemeLog).slice(-4000)}`;

  const stopAtheme = async (): Promise<void> => {
    const pid = Number(readIfExists(athemePidFile).trim());
    if (!(pid > 0)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return; // already gone
    }
    const gone = (): boolean => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    await waitFor(() => gone(), { timeoutMs: STOP_TIMEOUT_MS, what: 'atheme to exit' }).catch(() => {
      process.kill(pid, 'SIGKILL');
    });
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopAtheme();
    await stopInspircd(ircd, ircdExited);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await running();
    // Atheme in its normal background mode (its -n foreground mode announces "debug mode" to users).
    const atheme = spawn(
      '/usr/bin/atheme-services',
      ['-c', path.join(dir, 'atheme.conf'), '-D', dir, '-l', athemeLog, '-p', athemePidFile],
      { stdio: 'ignore' },
    );
    await new Promise<void>((resolve) => atheme.once('exit', () => resolve()));
    await waitFor(() => /finished synching with uplink/i.test(readIfExists(athemeLog)), {
      timeoutMs: READY_TIMEOUT_MS,
      what: 'atheme to sync with inspircd',
    });
    await waitFor(
      async () => {
        const probe = await connectIrcClient({ port, nick: uniqueName('probe'), timeoutMs: 5_000 });
        await probe.raw('CAP LS 302');
        const ls = await probe.waitForLine((l) => / CAP \S+ LS /.test(l), 5_000);
        await probe.quit();
        return ls.includes('sasl');
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250, what: 'sasl in CAP LS' },
    );
  } catch (error) {
    const text = output();
    await stop();
    throw new Error(`SASL test network did not start: ${(error as Error).message}\n${text}`);
  }

  return {
    host: '127.0.0.1',
    port,
    async registerAccount(account, password) {
      const client = await connectIrcClient({ port, nick: account, timeoutMs: 10_000 });
      try {
        await client.raw(`PRIVMSG NickServ :REGISTER ${password} ${account}@example.test`);
        const reply = await client.waitForMessage(
          (m) => m.nick === 'NickServ' && /registered|already/i.test(m.text),
          10_000,
        );
        if (!/is now registered/i.test(reply.text))
          throw new Error(`NickServ REGISTER ${account}: ${reply.text}`);
      } finally {
        await client.quit();
      }
    },
    stop,
    output,
  };
}
