/**
 * Scale bench (issue 10 §5): one built daemon serving N gateways, each joining an IRC channel on
 * one of three ngircd servers (gateway i on network i mod 3), a Matrix room (homeserver emulator)
 * and a Kosmi room (Kosmi emulator). 50 messages/s in all, message k said in gateway k mod N on
 * IRC, Matrix or Kosmi (k mod 3), so each is relayed to the two other networks of its gateway.
 * Latency, loss, order (per source and destination channel), peak RSS and CPU of the daemon.
 * N is 10, 50 and 100 (BENCH_SCALE_GATEWAYS="100" for one), each run twice.
 */
import path from 'node:path';
import { removeDir, startDaemon } from '../../test/helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../../test/helpers/irc-client.js';
import { startKosmiEmulator } from '../../test/helpers/kosmi-emulator/index.js';
import { startHomeserver } from '../../test/helpers/matrix-homeserver/index.js';
import { startNgircd } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { summarizeCpuProfile } from '../lib/cpu-profile.js';
import { cpuMeter } from '../lib/proc.js';
import { countReordered, peakRssMiB, percentile, round } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const GATEWAY_COUNTS = (process.env.BENCH_SCALE_GATEWAYS ?? '10,50,100').split(',').map(Number);
const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 2);
const IRC_NETWORKS = 3;
const RATE_PER_SECOND = 50;
const STREAM_SECONDS = 20;
const IDLE_MS = 5_000;
const JOIN_TIMEOUT_MS = 120_000;
const DRAIN_IDLE_MS = 5_000;
const DRAIN_MAX_MS = 60_000;
const PASSWORD = 'bench-scale-password';
const SOURCES = ['irc', 'matrix', 'kosmi'] as const;
type Network = (typeof SOURCES)[number];

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Arrival {
  readonly seq: number;
  readonly to: Network;
  readonly gateway: number;
  readonly at: number;
}

async function oneRun(gateways: number, run: number): Promise<{ row: BenchRow; profileDir?: string }> {
  const tag = uniqueName('sc');
  const [servers, hs, kosmi] = await Promise.all([
    Promise.all(Array.from({ length: IRC_NETWORKS }, () => startNgircd())),
    startHomeserver(),
    startKosmiEmulator({ rooms: Array.from({ length: gateways }, (_, i) => `@${tag}r${i}`) }),
  ]);
  const channel = (i: number): string => `#${tag}c${i}`;
  const alias = (i: number): string => `#${tag}a${i}:localhost`;
  const kosmiRoom = (i: number): string => `@${tag}r${i}`;
  const relayNicks = servers.map((_, n) => `${tag}n${n}`);
  const matrixRelay = hs.registerUser(`${tag}relay`, PASSWORD, 'Relay');
  const carol = hs.registerUser(`${tag}carol`, 'pw', 'Carol');
  const roomGateway = new Map<string, number>();
  for (let i = 0; i < gateways; i++) roomGateway.set(hs.createRoom({ creator: carol, alias: alias(i) }), i);
  const humans: TestIrcClient[] = [];
  const clients: TestIrcClient[] = [];
  const profileDir = process.env.BENCH_CPU_PROF === '1' ? `prof-${gateways}-${run}` : undefined;
  let daemon: ReturnType<typeof startDaemon> | undefined;
  try {
    for (const [n, server] of servers.entries()) {
      const mine = Array.from({ length: gateways }, (_, i) => i).filter((i) => i % IRC_NETWORKS === n);
      const client = await connectIrcClient({ port: server.port, nick: `${tag}h${n}` });
      clients.push(client);
      humans[n] = client;
      for (const i of mine) await client.join(channel(i));
    }
    const accounts = servers
      .map(
        (s, n) => `[irc.n${n}]\nserver = "127.0.0.1:${s.port}"\nnick = "${relayNicks[n]}"\nflood_rate = 0\n`,
      )
      .join('');
    const gatewayToml = Array.from(
      { length: gateways },
      (_, i) => `[[gateway]]
name = "g${i}"
  [[gateway.inout]]
  account = "irc.n${i % IRC_NETWORKS}"
  channel = "${channel(i)}"
  [[gateway.inout]]
  account = "matrix.home"
  channel = "${alias(i)}"
  [[gateway.inout]]
  account = "kosmi.main"
  channel = "${kosmiRoom(i)}"
`,
    ).join('');
    const startedAt = now();
    daemon = startDaemon({
      env: {
        LOG_LEVEL: 'info',
        MATRIX_PASSWORD: PASSWORD,
        ...(profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` }),
      },
      config: `[general]
data_dir = "./data"
${accounts}[matrix.home]
homeserver = "${hs.url}"
user_id = "${matrixRelay}"
password = "\${MATRIX_PASSWORD}"
[kosmi.main]
web_url = "${kosmi.webUrl}"
api_url = "${kosmi.apiUrl}"
ws_url = "${kosmi.wsUrl}"
send_rate_per_second = 10000
send_burst = 10000
${gatewayToml}`,
    });
    const pid = daemon.process.pid;
    const joinedIrc = (): number =>
      humans.reduce(
        (sum, h, n) =>
          sum + h.lines.filter((l) => l.startsWith(`:${relayNicks[n]}!`) && l.includes(' JOIN ')).length,
        0,
      );
    const joinedAll = (): boolean =>
      joinedIrc() >= gateways &&
      Array.from({ length: gateways }, (_, i) => i).every(
        (i) => hs.isJoined(matrixRelay, alias(i)) && kosmi.listeners(kosmiRoom(i)).length > 0,
      );
    await waitFor(joinedAll, {
      timeoutMs: JOIN_TIMEOUT_MS,
      intervalMs: 50,
      what: 'every gateway joined',
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${daemon?.output().slice(-3000)}`, { cause: error });
    });
    const allJoinedMs = now() - startedAt;
    await daemon.waitForLog((l) => l.account === 'matrix.home' && l.msg === 'connected', JOIN_TIMEOUT_MS);
    const idle = await cpuMeter(pid);
    await sleep(IDLE_MS);
    const idleCpu = await idle.stop();

    // Arrivals of the relay's copies, on all three networks.
    const runId = `${tag}x`;
    const pattern = new RegExp(`${runId} (\\d+)$`);
    const arrivals: Arrival[] = [];
    const seqOf = (text: string): number | undefined => {
      const match = text.startsWith(runId) ? null : pattern.exec(text); // the human's own line starts with runId
      return match === null ? undefined : Number(match[1]);
    };
    hs.state.onAppend.push((event) => {
      const seq = typeof event.content.body === 'string' ? seqOf(event.content.body) : undefined;
      const gateway = roomGateway.get(event.room_id);
      if (event.sender === matrixRelay && seq !== undefined && gateway !== undefined)
        arrivals.push({ seq, to: 'matrix', gateway, at: now() });
    });
    let kosmiSeen = kosmi.state.messages.length;
    const ircSeen = humans.map((h) => h.messages.length);
    const collect = (): void => {
      for (; kosmiSeen < kosmi.state.messages.length; kosmiSeen++) {
        const m = kosmi.state.messages[kosmiSeen];
        const seq = m === undefined ? undefined : seqOf(m.body);
        if (m !== undefined && seq !== undefined)
          arrivals.push({
            seq,
            to: 'kosmi',
            gateway: Number(m.roomId.slice(tag.length + 2)),
            at: m.receivedAt,
          });
      }
      for (const [n, h] of humans.entries()) {
        for (; (ircSeen[n] ?? 0) < h.messages.length; ircSeen[n] = (ircSeen[n] ?? 0) + 1) {
          const m = h.messages[ircSeen[n] ?? 0];
          const seq = m === undefined || m.nick !== relayNicks[n] ? undefined : seqOf(m.text);
          if (m !== undefined && seq !== undefined)
            arrivals.push({
              seq,
              to: 'irc',
              gateway: Number(m.target.slice(tag.length + 2)),
              at: m.receivedAt,
            });
        }
      }
    };

    const count = RATE_PER_SECOND * STREAM_SECONDS;
    const sendTimes: number[] = [];
    const busy = await cpuMeter(pid);
    const start = now();
    for (let sent = 0; sent < count;) {
      const due = Math.min(count, Math.floor(((now() - start) * RATE_PER_SECOND) / 1000) + 1);
      for (; sent < due; sent++) {
        const gateway = sent % gateways;
        const text = `${runId} ${sent}`;
        sendTimes[sent] = now();
        switch (SOURCES[sent % SOURCES.length]) {
          case 'irc':
            void humans[gateway % IRC_NETWORKS]?.say(channel(gateway), text).catch(() => undefined); // lost if never seen
            break;
          case 'matrix':
            hs.text(carol, alias(gateway), text);
            break;
          case 'kosmi':
            kosmi.postAs(kosmiRoom(gateway), 'dave', text);
            break;
        }
      }
      collect();
      if (sent < count) await sleep(2);
    }
    const lastSentAt = now();
    const expected = count * 2;
    const uniqueCount = (): number => new Set(arrivals.map((a) => `${a.seq}>${a.to}`)).size;
    for (let seen = 0, progress = now(); now() - lastSentAt < DRAIN_MAX_MS; await sleep(20)) {
      collect();
      const got = uniqueCount();
      if (got >= expected) break;
      if (got > seen) [seen, progress] = [got, now()];
      if (now() - progress > DRAIN_IDLE_MS && now() - lastSentAt > DRAIN_IDLE_MS) break;
    }
    const busyCpu = await busy.stop();
    const got = uniqueCount();
    const latencies = arrivals.map((a) => a.at - (sendTimes[a.seq] ?? a.at));
    // Order is promised per source and destination channel.
    const streams = new Map<string, number[]>();
    for (const a of arrivals) {
      const key = `${SOURCES[a.seq % SOURCES.length]}>${a.to}:${a.gateway}`;
      streams.set(key, [...(streams.get(key) ?? []), a.seq]);
    }
    const reordered = [...streams.values()].reduce((sum, seqs) => sum + countReordered(seqs), 0);
    const row: BenchRow = {
      scenario: `${gateways} gateways, run ${run}`,
      'start -> all joined ms': round(allJoinedMs, 0),
      'copies expected': expected,
      received: got,
      lost: expected - got,
      reordered,
      duplicates: arrivals.length - got,
      'p50 ms': round(percentile(latencies, 50)),
      'p99 ms': round(percentile(latencies, 99)),
      'max ms': round(percentile(latencies, 100)),
      'idle CPU %': idleCpu.percent,
      'stream CPU %': busyCpu.percent,
      'CPU ms per copy': busyCpu.cpuMs === null ? null : round(busyCpu.cpuMs / Math.max(1, got), 2),
      'peak RSS MiB': await peakRssMiB(pid),
    };
    return { row, ...(profileDir === undefined ? {} : { profileDir: path.join(daemon.dir, profileDir) }) };
  } finally {
    await daemon?.stop('SIGTERM');
    await Promise.all(clients.map((c) => c.quit()));
    await Promise.all([...servers.map((s) => s.stop()), hs.close(), kosmi.close()]);
    if (daemon !== undefined && profileDir === undefined) removeDir(daemon.dir);
  }
}

export async function run(): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  for (const gateways of GATEWAY_COUNTS) {
    for (let run = 1; run <= RUNS; run++) {
      const result = await oneRun(gateways, run);
      rows.push(result.row);
      if (result.profileDir === undefined) continue;
      // The daemon writes its profile when it exits (after the SIGTERM in oneRun).
      const profile = summarizeCpuProfile(result.profileDir, 8);
      removeDir(path.dirname(result.profileDir));
      notes.push(
        `CPU profile, ${gateways} gateways, run ${run} (node --cpu-prof, ${profile.totalMs} ms sampled, idle excluded): by place ${profile.byPlace.map((h) => `${h.where} ${h.percent} %`).join(', ')}; by function ${profile.byFunction.map((h) => `${h.where} ${h.percent} %`).join(', ')}.`,
      );
    }
  }
  return {
    name: 'Scale: one daemon, N gateways over 3 IRC networks, Matrix and Kosmi',
    description: `One built daemon with three IRC accounts (three ngircd servers, flood penalties off, flood_rate = 0), one Matrix account (homeserver emulator) and one Kosmi account (emulator); gateway i bridges a channel on IRC network i mod 3, a Matrix room and a Kosmi room. ${RATE_PER_SECOND} messages/s in all for ${STREAM_SECONDS} s, message k said in gateway k mod N on IRC, Matrix or Kosmi in turn; each is relayed to the two other networks, so "copies expected" is twice the messages.`,
    rows,
    notes: [
      "Latency: from the human saying it (IRC write, Matrix or Kosmi emulator append) to the relay's copy arriving (IRC client read, emulator append). Reordered: per source network and destination channel.",
      'CPU: utime + stime of the daemon from /proc/PID/stat; "idle" over 5 s after every gateway joined, "stream" from the first message to the last copy (or the drain timeout); % of one core. Peak RSS is VmHWM at the end of the run.',
      'The emulators and IRC clients run in the bench process and share the 2 CPUs with the daemon (and other jobs on this machine): figures are noisy, compare rows of the same run.',
      ...notes,
    ],
  };
}
