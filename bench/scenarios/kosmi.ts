/**
 * Kosmi bench (issue 3 §5): the built daemon between the Kosmi emulator and ngircd. Kosmi -> IRC
 * and IRC -> Kosmi latency at a few rates and a burst, and the time from process start to the
 * Kosmi account's "connected" with a cached token versus an anonymous login versus a browser login.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { removeDir, startDaemon, type Daemon } from '../../test/helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../../test/helpers/irc-client.js';
import { startKosmiEmulator, type KosmiEmulator } from '../../test/helpers/kosmi-emulator/index.js';
import { tempDataDir } from '../../test/helpers/kosmi-setup.js';
import { startNgircd, type NgircdServer } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { peakRssMiB, percentile, round, summarizeStream, type StreamSample } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const KOSMI_TO_IRC_RATES = [10, 100, 500] as const;
const IRC_TO_KOSMI_RATES = [10, 100] as const;
const STREAM_SECONDS = 5;
const BURST_MESSAGES = 1000;
const DRAIN_IDLE_MS = 3_000;
const DRAIN_MAX_MS = 60_000;
const STARTUP_RUNS = 3;
const USER = { email: 'bench@example.org', password: 'bench-password', displayName: 'Bench Relay' };

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Rig {
  readonly ngircd: NgircdServer;
  readonly kosmi: KosmiEmulator;
  readonly irc: TestIrcClient;
  readonly channel: string;
  readonly room: string;
  readonly relayNick: string;
  readonly dir: string;
  daemon: Daemon | undefined;
}

function config(rig: Rig, options: { email: boolean }): string {
  return `[general]
data_dir = "./data"
log_level = "info"
[irc.net]
server = "127.0.0.1:${rig.ngircd.port}"
nick = "${rig.relayNick}"
flood_rate = 0
[kosmi.main]
${options.email ? `email = "${USER.email}"\npassword = "${USER.password}"` : ''}
web_url = "${rig.kosmi.webUrl}"
api_url = "${rig.kosmi.apiUrl}"
ws_url = "${rig.kosmi.wsUrl}"
send_rate_per_second = 10000
send_burst = 10000
[[gateway]]
name = "bench"
  [[gateway.inout]]
  account = "irc.net"
  channel = "${rig.channel}"
  [[gateway.inout]]
  account = "kosmi.main"
  channel = "${rig.room}"
`;
}

/** Starts the daemon; resolves with ms from spawn to the Kosmi account's "connected" line. */
async function startRelay(rig: Rig, options: { email: boolean }): Promise<number> {
  const spawnedAt = Date.now();
  const daemon = startDaemon({ config: config(rig, options), dir: rig.dir, env: { LOG_LEVEL: 'info' } });
  rig.daemon = daemon;
  const line = await daemon.waitForLog((l) => l.account === 'kosmi.main' && l.msg === 'connected', 60_000);
  await rig.irc.waitForLine((l) => l.startsWith(`:${rig.relayNick}!`) && l.includes(' JOIN '), 20_000);
  while (rig.kosmi.listeners(rig.room).length === 0) await sleep(5);
  return (line.time as number) - spawnedAt;
}

async function stopRelay(rig: Rig): Promise<void> {
  await rig.daemon?.stop('SIGTERM');
  rig.daemon = undefined;
  await rig.irc
    .waitForLine((l) => l.startsWith(`:${rig.relayNick}!`) && l.includes(' QUIT'), 10_000)
    .catch(() => undefined);
  rig.irc.lines.length = 0;
  rig.irc.messages.length = 0;
}

type Sample = StreamSample;

/** Sends `count` numbered messages at `rate`/s (Infinity: at once) and collects arrivals. */
async function stream(
  count: number,
  rate: number,
  send: (text: string) => void,
  arrivals: (pattern: RegExp) => { seq: number; at: number }[],
): Promise<{ sent: number; samples: Sample[]; firstSentAt: number; lastArrival: number }> {
  const runId = uniqueName('s');
  const pattern = new RegExp(`${runId} (\\d+)$`);
  const sentAt = new Map<number, number>();
  const start = now();
  let sent = 0;
  while (sent < count) {
    const due = rate === Infinity ? count : Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      sentAt.set(sent, now());
      send(`${runId} ${sent}`);
    }
    if (sent < count) await sleep(1);
  }
  const lastSentAt = now();
  let seen = 0;
  let progressAt = now();
  while (now() - lastSentAt < DRAIN_MAX_MS) {
    const got = arrivals(pattern).length;
    if (got >= count) break;
    if (got > seen) [seen, progressAt] = [got, now()];
    if (now() - progressAt > DRAIN_IDLE_MS && now() - lastSentAt > DRAIN_IDLE_MS) break;
    await sleep(10);
  }
  const samples = arrivals(pattern).map((a) => ({
    seq: a.seq,
    latencyMs: a.at - (sentAt.get(a.seq) ?? a.at),
  }));
  return {
    sent: count,
    samples,
    firstSentAt: start,
    lastArrival: Math.max(0, ...arrivals(pattern).map((a) => a.at)),
  };
}

function summarize(label: string, result: { sent: number; samples: Sample[] }): BenchRow {
  return summarizeStream(label, result.sent, result.samples);
}

async function relaySection(rig: Rig): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  await startRelay(rig, { email: false });
  const toIrc = (pattern: RegExp): { seq: number; at: number }[] =>
    rig.irc.messages
      .filter((m) => m.nick === rig.relayNick && pattern.test(m.text))
      .map((m) => ({ seq: Number(pattern.exec(m.text)?.[1]), at: m.receivedAt }));
  const toKosmi = (pattern: RegExp): { seq: number; at: number }[] =>
    rig.kosmi
      .messages(rig.room)
      .filter((m) => pattern.test(m.body))
      .map((m) => ({ seq: Number(pattern.exec(m.body)?.[1]), at: m.receivedAt }));
  const postKosmi = (text: string): void => void rig.kosmi.postAs(rig.room, 'dave', text);
  const sayIrc = (text: string): void => void rig.irc.say(rig.channel, text).catch(() => undefined);
  try {
    for (const rate of KOSMI_TO_IRC_RATES) {
      rows.push(
        summarize(
          `Kosmi -> IRC, ${rate} msg/s x ${STREAM_SECONDS} s`,
          await stream(rate * STREAM_SECONDS, rate, postKosmi, toIrc),
        ),
      );
    }
    const burst = await stream(BURST_MESSAGES, Infinity, postKosmi, toIrc);
    rows.push({
      ...summarize(`Kosmi -> IRC, ${BURST_MESSAGES}-message burst`, burst),
      'time ms': round(burst.lastArrival - burst.firstSentAt, 0),
    });
    for (const rate of IRC_TO_KOSMI_RATES) {
      rows.push(
        summarize(
          `IRC -> Kosmi, ${rate} msg/s x ${STREAM_SECONDS} s`,
          await stream(rate * STREAM_SECONDS, rate, sayIrc, toKosmi),
        ),
      );
    }
    rows.push({
      scenario: 'peak RSS of the daemon (MiB)',
      'peak RSS MiB': await peakRssMiB(rig.daemon?.process.pid),
    });
  } finally {
    await stopRelay(rig);
  }
  return {
    name: 'Kosmi <-> IRC relay (Kosmi emulator, ngircd)',
    description:
      'The built daemon between the Kosmi emulator (graphql-transport-ws on loopback) and ngircd; one gateway.',
    rows,
    notes: [
      'Kosmi -> IRC: from the emulator publishing newMessage to the IRC client reading the relayed line. IRC -> Kosmi: from the IRC client writing PRIVMSG to the emulator storing sendMessage.',
      'The relay runs with flood_rate = 0 on IRC and send_rate_per_second = 10000 on Kosmi, so this measures the relay itself; the Kosmi default (1 msg/s, burst 3) would pace IRC -> Kosmi at 1 msg/s.',
      'The emulator delays each query and mutation reply by 0-20 ms at random (interleaved replies, docs/kosmi-protocol.md §2), which is part of the IRC -> Kosmi figures.',
    ],
  };
}

async function startupSection(rig: Rig): Promise<BenchSection> {
  const cache = path.join(rig.dir, 'data', 'kosmi_token_cache.json');
  const measure = async (label: string, email: boolean, fresh: boolean): Promise<BenchRow> => {
    const times: number[] = [];
    const logins = { anon: rig.kosmi.logins.anon, email: rig.kosmi.logins.email };
    for (let run = 0; run < STARTUP_RUNS; run++) {
      if (fresh) rmSync(cache, { force: true });
      times.push(await startRelay(rig, { email }));
      await stopRelay(rig);
    }
    return {
      scenario: label,
      runs: STARTUP_RUNS,
      'p50 ms': round(percentile(times, 50), 0),
      'max ms': round(percentile(times, 100), 0),
      'anon logins': rig.kosmi.logins.anon - logins.anon,
      'email logins': rig.kosmi.logins.email - logins.email,
    };
  };
  const rows = [
    await measure('anonymous, no cache (anonLogin over HTTP)', false, true),
    await measure('anonymous, cached token', false, false),
    await measure('email, no cache (browser login, Chromium)', true, true),
    await measure('email, cached token', true, false),
  ];
  return {
    name: 'Kosmi startup: process start -> account "connected"',
    description:
      'Time from spawning the daemon to the Kosmi account logging "connected" (joined and subscribed), per token source.',
    rows,
    notes: [
      'The browser login row includes starting Chromium, loading the emulated web app and its anonymous login, and the email form; the cached rows do no login at all (login counts from the emulator).',
    ],
  };
}

export async function run(): Promise<BenchSection[]> {
  const [ngircd, kosmi] = await Promise.all([
    startNgircd(),
    startKosmiEmulator({ rooms: [`@bench`], users: [USER] }),
  ]);
  const channel = `#${uniqueName('kb')}`;
  const irc = await connectIrcClient({ port: ngircd.port, nick: uniqueName('kb'), channels: [channel] });
  const rig: Rig = {
    ngircd,
    kosmi,
    irc,
    channel,
    room: '@bench',
    relayNick: uniqueName('kr'),
    dir: tempDataDir(),
    daemon: undefined,
  };
  try {
    return [await relaySection(rig), await startupSection(rig)];
  } finally {
    await rig.daemon?.stop('SIGKILL');
    await irc.quit();
    await Promise.all([ngircd.stop(), kosmi.close()]);
    removeDir(rig.dir);
  }
}
