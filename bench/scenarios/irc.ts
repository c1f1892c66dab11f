/**
 * IRC <-> IRC bench (issue 2 §8): the built daemon (dist/main.js) between two ngircd servers, a
 * sender on server A and a receiver on server B, both in the bridged channel. Latency is measured
 * from the sender's write to the receiver's read, in one process and one clock.
 */
import { removeDir, startDaemon, type Daemon } from '../../test/helpers/daemon.js';
import { connectIrcClient, type ReceivedMessage, type TestIrcClient } from '../../test/helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { peakRssMiB, round, summarizeStream } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const RATES_PER_SECOND = [10, 100, 500, 700, 1000] as const;
const STREAM_SECONDS = 5;
const BASELINE_RATES_PER_SECOND = [10, 1000] as const;
const BASELINE_SECONDS = 3;
const BURST_LINES = 1000;
const RESTART_STREAM_RATE = 50;
const RESTART_STREAM_SECONDS = 8;
const RESTART_AT_MS = 2_000;
/**
 * ngircd's default penalties let one client through at about 3 lines/s, so one sender could not
 * offer 10 msg/s: several senders share it (10 msg/s in all, for 15 s).
 */
const FLOOD_SENDERS = 4;
const FLOOD_RATE_PER_SENDER = 2.5;
const FLOOD_SECONDS = 15;
const FLOOD_LINES = FLOOD_SENDERS * FLOOD_RATE_PER_SENDER * FLOOD_SECONDS;
const FLOOD_RATE = FLOOD_SENDERS * FLOOD_RATE_PER_SENDER;
/** At 1.5 lines/s, 150 lines take ~100 s to drain: give up after this long after the last one was sent. */
const FLOOD_DRAIN_MAX_MS = 180_000;
/** After the last line is sent, give up waiting for the rest after this long without a new one. */
const DRAIN_IDLE_MS = 3_000;
const DRAIN_MAX_MS = 60_000;
const STARTUP_PROBE_EVERY_MS = 20;
/** With ngircd's penalties the sender itself gets about 3 lines/s through: probe gently. */
const STARTUP_PROBE_EVERY_MS_THROTTLED = 1_000;
/** Before measuring, wait for the relayed probes to stop arriving for this long. */
const QUIET_MS = 1_000;
/** Past this many lost lines in the restart row, one summary note instead of one per line. */
const MAX_LOST_NOTES = 10;
const STARTUP_TIMEOUT_MS = 60_000;

const ANCHOR = {
  rate: (perSecond: number): string =>
    perSecond < 500
      ? 'p50 1.0-1.5 ms, p99 3-6 ms'
      : perSecond < 1000
        ? 'p50 1.0-1.5 ms, p99 3-6 ms; reorders'
        : 'loses lines; reorders',
  burst: 'loses 65 %',
  startup: '10 s (fixed sleeps)',
  restart: 'waits 30 s, loses every line sent meanwhile',
  flood: 'drops 89-97 % (1 line / 1.3 s, 30-line queue)',
};

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Rig {
  readonly serverA: NgircdServer;
  readonly serverB: NgircdServer;
  readonly daemon: Daemon;
  readonly sender: TestIrcClient;
  /** Every receiver connection so far (a new one after server B restarts). */
  readonly receivers: TestIrcClient[];
  readonly channel: string;
  readonly relayB: string;
  readonly startupMs: number;
  stop(): Promise<void>;
}

export async function startRig(options: { floodPenalties: boolean; relayFloodConfig: string }): Promise<Rig> {
  const [serverA, serverB] = await Promise.all([
    startNgircd({ floodPenalties: options.floodPenalties }),
    startNgircd({ floodPenalties: options.floodPenalties }),
  ]);
  const channel = `#${uniqueName('bench')}`;
  const relayA = uniqueName('ra');
  const relayB = uniqueName('rb');
  const sender = await connectIrcClient({ port: serverA.port, nick: uniqueName('snd'), channels: [channel] });
  const receiver = await connectIrcClient({
    port: serverB.port,
    nick: uniqueName('rcv'),
    channels: [channel],
  });
  const account = (name: string, server: NgircdServer, nick: string): string =>
    `[irc.${name}]\nserver = "127.0.0.1:${server.port}"\nnick = "${nick}"\n${options.relayFloodConfig}\n`;
  const startedAt = now();
  const daemon = startDaemon({
    env: { LOG_LEVEL: 'info' },
    config: `[general]\ndata_dir = "./data"\n${account('a', serverA, relayA)}${account('b', serverB, relayB)}
[[gateway]]
name = "bench"
  [[gateway.inout]]
  account = "irc.a"
  channel = "${channel}"
  [[gateway.inout]]
  account = "irc.b"
  channel = "${channel}"
`,
  });
  const rig = {
    serverA,
    serverB,
    daemon,
    sender,
    receivers: [receiver],
    channel,
    relayB,
    startupMs: 0,
    async stop() {
      await daemon.stop('SIGTERM');
      for (const client of [sender, ...rig.receivers]) await client.quit();
      await Promise.all([serverA.stop(), serverB.stop()]);
      removeDir(daemon.dir);
    },
  };
  // Time from process start to the first relayed line: probe until one arrives.
  for (let n = 0; now() - startedAt < STARTUP_TIMEOUT_MS; n++) {
    await sender.say(channel, `probe ${n}`);
    const first = receiver.messages.find((m) => m.nick === relayB && m.text.includes('probe'));
    if (first !== undefined) {
      rig.startupMs = first.receivedAt - startedAt;
      break;
    }
    await sleep(options.floodPenalties ? STARTUP_PROBE_EVERY_MS_THROTTLED : STARTUP_PROBE_EVERY_MS);
  }
  if (rig.startupMs === 0) {
    await rig.stop();
    throw new Error(
      `no line relayed within ${STARTUP_TIMEOUT_MS} ms of start:\n${daemon.output().slice(-3000)}`,
    );
  }
  // Let the remaining probes through before measuring.
  const relayed = (): number => receiver.messages.filter((m) => m.nick === relayB).length;
  for (
    let count = relayed(), since = now();
    now() - since < QUIET_MS && now() - startedAt < STARTUP_TIMEOUT_MS;
  ) {
    await sleep(50);
    if (relayed() !== count) [count, since] = [relayed(), now()];
  }
  return rig;
}

export interface StreamResult {
  readonly sent: number;
  readonly received: ReceivedMessage[];
  readonly sendTimes: Map<number, number>;
  readonly firstSentAt: number;
  readonly lastSentAt: number;
}

/** Sends `count` lines at `rate` per second (Infinity: all at once), then waits for them on B. */
export async function stream(
  rig: Rig,
  count: number,
  rate: number,
  options: {
    during?: (elapsedMs: number) => Promise<void>;
    drainIdleMs?: number;
    /** Whose lines count as received: default the relay's lines on server B. */
    observe?: { readonly clients: () => readonly TestIrcClient[]; readonly nick: string };
  } = {},
): Promise<StreamResult> {
  const drainIdleMs = options.drainIdleMs ?? DRAIN_IDLE_MS;
  const runId = uniqueName('s');
  const pattern = new RegExp(`${runId} (\\d+)$`);
  const sendTimes = new Map<number, number>();
  const start = now();
  let sent = 0;
  let hook = options.during;
  while (sent < count) {
    const due = rate === Infinity ? count : Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      sendTimes.set(sent, now());
      void rig.sender.say(rig.channel, `${runId} ${sent}`).catch(() => undefined); // counted as lost if it never arrives
    }
    if (hook !== undefined && now() - start >= RESTART_AT_MS) {
      const run = hook;
      hook = undefined;
      void run(now() - start);
    }
    if (sent < count) await sleep(1);
  }
  const lastSentAt = now();
  const observe = options.observe ?? { clients: () => rig.receivers, nick: rig.relayB };
  const matching = (): ReceivedMessage[] =>
    observe
      .clients()
      .flatMap((r) => r.messages)
      .filter((m) => m.nick === observe.nick && pattern.test(m.text));
  let seen = 0;
  let lastProgress = now();
  while (now() - lastSentAt < DRAIN_MAX_MS) {
    const got = new Set(matching().map((m) => pattern.exec(m.text)?.[1])).size; // duplicates do not count
    if (got >= count) break;
    if (got > seen) [seen, lastProgress] = [got, now()];
    if (now() - lastProgress > drainIdleMs && now() - lastSentAt > drainIdleMs) break;
    await sleep(20);
  }
  const received = matching().map((m) => ({ ...m, text: pattern.exec(m.text)?.[1] ?? '' }));
  return { sent: count, received, sendTimes, firstSentAt: start, lastSentAt };
}

export function summarize(label: string, result: StreamResult, anchor: string): BenchRow {
  const samples = result.received.map((m) => {
    const seq = Number(m.text);
    return { seq, latencyMs: m.receivedAt - (result.sendTimes.get(seq) ?? m.receivedAt) };
  });
  return { ...summarizeStream(label, result.sent, samples), 'matterbridge v1.26': anchor };
}

async function relaySection(): Promise<BenchSection> {
  const rig = await startRig({ floodPenalties: false, relayFloodConfig: 'flood_rate = 0' });
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  try {
    rows.push({
      scenario: 'process start -> first relayed line',
      'time ms': round(rig.startupMs, 0),
      'matterbridge v1.26': ANCHOR.startup,
    });
    // Reference: the same sender and a receiver on server A itself, no relay (one ngircd hop).
    const direct = await connectIrcClient({
      port: rig.serverA.port,
      nick: uniqueName('dir'),
      channels: [rig.channel],
    });
    for (const rate of BASELINE_RATES_PER_SECOND) {
      const observe = { clients: () => [direct], nick: rig.sender.nick };
      const result = await stream(rig, rate * BASELINE_SECONDS, rate, { observe });
      rows.push(
        summarize(`baseline, no relay: ${rate} msg/s x ${BASELINE_SECONDS} s, one ngircd hop`, result, '–'),
      );
    }
    await direct.quit();
    for (const rate of RATES_PER_SECOND) {
      rows.push(
        summarize(
          `${rate} msg/s x ${STREAM_SECONDS} s`,
          await stream(rig, rate * STREAM_SECONDS, rate),
          ANCHOR.rate(rate),
        ),
      );
    }
    const burst = await stream(rig, BURST_LINES, Infinity);
    rows.push({
      ...summarize(`${BURST_LINES}-line burst`, burst, ANCHOR.burst),
      'time ms': round(Math.max(...burst.received.map((m) => m.receivedAt)) - burst.firstSentAt, 0),
    });

    let restartDoneAt = 0;
    let restartStartedAt = 0;
    const restartResult = await stream(
      rig,
      RESTART_STREAM_RATE * RESTART_STREAM_SECONDS,
      RESTART_STREAM_RATE,
      {
        during: async () => {
          restartStartedAt = now();
          await rig.serverB.restart();
          restartDoneAt = now();
          const nick = uniqueName('rcv');
          rig.receivers.push(
            await connectIrcClient({ port: rig.serverB.port, nick, channels: [rig.channel] }),
          );
        },
      },
    );
    const resumed = rig.receivers.at(-1)?.messages.find((m) => m.nick === rig.relayB)?.receivedAt;
    rows.push({
      ...summarize(
        `server B restarted during a ${RESTART_STREAM_RATE} msg/s stream`,
        restartResult,
        ANCHOR.restart,
      ),
      'time ms': resumed === undefined ? null : round(resumed - restartDoneAt, 0),
    });
    const got = new Set(restartResult.received.map((m) => Number(m.text)));
    const seen = new Set<number>();
    for (const m of restartResult.received) {
      const seq = Number(m.text);
      if (seen.has(seq)) {
        const sentAt = restartResult.sendTimes.get(seq) ?? 0;
        notes.push(
          `Restart: line ${seq} arrived twice, sent ${round(sentAt - restartStartedAt, 1)} ms after the restart of B began.`,
        );
      }
      seen.add(seq);
    }
    const lost = [...restartResult.sendTimes].filter(([seq]) => !got.has(seq));
    // One note per lost line while they are few; a relay that lost the whole stream gets one line.
    for (const [seq, sentAt] of lost.length <= MAX_LOST_NOTES ? lost : []) {
      notes.push(
        `Restart: line ${seq} lost, sent ${round(sentAt - restartStartedAt, 1)} ms after the restart of B began (B back at ${round(restartDoneAt - restartStartedAt, 0)} ms).`,
      );
    }
    if (lost.length > MAX_LOST_NOTES) {
      const times = lost.map(([, sentAt]) => sentAt - restartStartedAt);
      notes.push(
        `Restart: ${lost.length} lines lost, sent from ${round(Math.min(...times), 0)} to ${round(Math.max(...times), 0)} ms after the restart of B began (B back at ${round(restartDoneAt - restartStartedAt, 0)} ms).`,
      );
    }
    notes.push(
      'ngircd runs with MaxPenaltyTime = 0 (flood penalties off) and the relay with flood_rate = 0, so this measures the relay itself.',
      'Latency: from the sender writing PRIVMSG to server A until the receiver reads the relayed line from server B (two ngircd hops included).',
      'The baseline rows measure the same sender with a receiver on server A and no relay: at low rates most of the latency is waking idle processes on this VM, not the relay.',
      '"time ms" for the restart row: from server B accepting connections again to the first relayed line on it; lines sent while B was down are queued and delivered after the reconnect.',
    );
    rows.push({
      scenario: 'peak RSS of the daemon (MiB)',
      'time ms': null,
      'peak RSS MiB': await peakRssMiB(rig.daemon.process.pid),
    });
  } finally {
    await rig.stop();
  }
  return {
    name: 'IRC <-> IRC relay (ngircd, flood penalties off)',
    description:
      'The built daemon between two ngircd servers on loopback; one gateway, one channel each side.',
    rows,
    notes,
  };
}

/** FLOOD_SENDERS clients on server A, each at FLOOD_RATE_PER_SENDER lines/s; order counted per sender. */
async function floodStream(rig: Rig): Promise<BenchRow> {
  const senders = await Promise.all(
    Array.from({ length: FLOOD_SENDERS }, () =>
      connectIrcClient({ port: rig.serverA.port, nick: uniqueName('fs'), channels: [rig.channel] }),
    ),
  );
  try {
    const runId = uniqueName('f');
    const pattern = new RegExp(`${runId} (\\d+) (\\d+)$`);
    const perSender = FLOOD_LINES / FLOOD_SENDERS;
    const start = now();
    let sent = 0;
    while (sent < perSender) {
      const due = Math.min(perSender, Math.floor(((now() - start) * FLOOD_RATE_PER_SENDER) / 1000) + 1);
      for (; sent < due; sent++) {
        for (const [index, client] of senders.entries()) {
          void client.say(rig.channel, `${runId} ${index} ${sent}`).catch(() => undefined); // lost if it never arrives
        }
      }
      if (sent < perSender) await sleep(5);
    }
    const lastSentAt = now();
    const matching = (): ReceivedMessage[] =>
      rig.receivers.flatMap((r) => r.messages).filter((m) => m.nick === rig.relayB && pattern.test(m.text));
    const unique = (): Set<string> =>
      new Set(matching().map((m) => pattern.exec(m.text)?.slice(1).join(' ') ?? ''));
    while (now() - lastSentAt < FLOOD_DRAIN_MAX_MS && unique().size < FLOOD_LINES) await sleep(100);
    const received = matching();
    const got = unique().size;
    const lastSeq = new Map<string, number>();
    let reordered = 0;
    for (const m of received) {
      const [, sender = '', seqText = ''] = pattern.exec(m.text) ?? [];
      const seq = Number(seqText);
      if (seq < (lastSeq.get(sender) ?? -1)) reordered += 1;
      else lastSeq.set(sender, seq);
    }
    const disconnects = rig.daemon
      .logs()
      .filter((l) => l.msg === 'disconnected' || l.msg === 'account failed').length;
    return {
      scenario: `${FLOOD_LINES} lines at ${FLOOD_RATE} msg/s (${FLOOD_SENDERS} senders x ${FLOOD_RATE_PER_SENDER}/s)`,
      sent: FLOOD_LINES,
      received: got,
      lost: FLOOD_LINES - got,
      duplicates: received.length - got,
      'reordered (per sender)': reordered,
      'all delivered after ms':
        got < FLOOD_LINES
          ? 'not within the cap'
          : round(Math.max(...received.map((m) => m.receivedAt)) - start, 0),
      'relay disconnects': disconnects,
      'matterbridge v1.26': ANCHOR.flood,
    };
  } finally {
    await Promise.all(senders.map((c) => c.quit()));
  }
}

async function floodSection(): Promise<BenchSection> {
  const rig = await startRig({ floodPenalties: true, relayFloodConfig: '' });
  const rows: BenchRow[] = [];
  try {
    rows.push(await floodStream(rig));
  } finally {
    await rig.stop();
  }
  return {
    name: "IRC flood control with ngircd's default penalties",
    description: `Both ngircd servers with their default flood penalties and the relay with its default flood control (flood_burst = 4, flood_rate = 1.5 lines/s). ${FLOOD_SENDERS} clients on server A send ${FLOOD_RATE_PER_SENDER} lines/s each (${FLOOD_RATE} msg/s in all, each under ngircd's ~3 lines/s per client) for ${FLOOD_SECONDS} s; order is checked per sender.`,
    rows,
    notes: [
      `The relay gets ${FLOOD_RATE} msg/s and may put 1.5 lines/s on server B, so it queues and drains for about ${Math.round(FLOOD_LINES / 1.5)} s; the wait is capped at ${FLOOD_DRAIN_MAX_MS / 1000} s after the last line was sent.`,
    ],
  };
}

export async function run(): Promise<BenchSection[]> {
  return [await relaySection(), await floodSection()];
}
