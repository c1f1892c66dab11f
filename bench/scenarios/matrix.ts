/**
 * Matrix <-> IRC bench (issue 4 §5): the built daemon between ngircd (flood penalties off, relay
 * flood_rate = 0) and the Matrix homeserver emulator (in this process). One IRC user both says and
 * reads; a Matrix user posts through the emulator. Times come from one clock: the IRC client's
 * receive time, and the emulator's append of the relay's event.
 */
import { removeDir, startDaemon, type Daemon } from '../../test/helpers/daemon.js';
import { connectIrcClient, type TestIrcClient } from '../../test/helpers/irc-client.js';
import { startHomeserver, type MatrixHomeserver } from '../../test/helpers/matrix-homeserver/index.js';
import { startNgircd, type NgircdServer } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { peakRssMiB, round, summarizeStream } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const RATES_PER_SECOND = [10, 100, 500] as const;
const STREAM_SECONDS = 3;
const BURST_LINES = 1000;
const RECOVERY_RATE = 50;
const RECOVERY_SECONDS = 4;
const INVALIDATE_AT_MS = 1_000;
const DRAIN_IDLE_MS = 3_000;
const DRAIN_MAX_MS = 60_000;
const STARTUP_TIMEOUT_MS = 60_000;
const PROBE_EVERY_MS = 20;
const QUIET_MS = 1_000;
const PASSWORD = 'bench-matrix-password';

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Rig {
  readonly ngircd: NgircdServer;
  readonly hs: MatrixHomeserver;
  readonly daemon: Daemon;
  readonly human: TestIrcClient;
  readonly channel: string;
  readonly alias: string;
  readonly ircRelay: string;
  readonly matrixRelay: string;
  readonly carol: string;
  /** Relay events on Matrix: body -> arrival time. */
  readonly matrixArrivals: { body: string; at: number }[];
  readonly startupMs: number;
  stop(): Promise<void>;
}

async function startRig(): Promise<Rig> {
  const [ngircd, hs] = await Promise.all([startNgircd(), startHomeserver()]);
  const channel = `#${uniqueName('mb')}`;
  const alias = `#${uniqueName('mb')}:localhost`;
  const ircRelay = uniqueName('relay');
  const matrixRelay = hs.registerUser(uniqueName('mrelay'), PASSWORD, 'Relay');
  const carol = hs.registerUser(uniqueName('carol'), 'pw', 'Carol');
  hs.createRoom({ creator: carol, alias });
  const matrixArrivals: { body: string; at: number }[] = [];
  hs.state.onAppend.push((event) => {
    if (event.sender === matrixRelay && typeof event.content.body === 'string')
      matrixArrivals.push({ body: event.content.body, at: now() });
  });
  const human = await connectIrcClient({ port: ngircd.port, nick: uniqueName('human'), channels: [channel] });
  const startedAt = now();
  const daemon = startDaemon({
    env: { LOG_LEVEL: 'info', MATRIX_PASSWORD: PASSWORD },
    config: `[general]
data_dir = "./data"
[irc.net]
server = "127.0.0.1:${ngircd.port}"
nick = "${ircRelay}"
flood_rate = 0
[matrix.home]
homeserver = "${hs.url}"
user_id = "${matrixRelay}"
password = "\${MATRIX_PASSWORD}"
[[gateway]]
name = "bench"
  [[gateway.inout]]
  account = "irc.net"
  channel = "${channel}"
  [[gateway.inout]]
  account = "matrix.home"
  channel = "${alias}"
`,
  });
  const stop = async (): Promise<void> => {
    await daemon.stop('SIGTERM');
    await human.quit();
    await Promise.all([ngircd.stop(), hs.close()]);
    removeDir(daemon.dir);
  };
  // Process start -> first line relayed IRC -> Matrix.
  let startupMs = 0;
  for (let n = 0; startupMs === 0 && now() - startedAt < STARTUP_TIMEOUT_MS; n++) {
    await human.say(channel, `probe ${n}`);
    const first = matrixArrivals.find((a) => a.body.includes('probe'));
    if (first !== undefined) startupMs = first.at - startedAt;
    else await sleep(PROBE_EVERY_MS);
  }
  if (startupMs === 0) {
    const output = daemon.output().slice(-3000);
    await stop();
    throw new Error(`no line relayed within ${STARTUP_TIMEOUT_MS} ms of start:\n${output}`);
  }
  for (let count = matrixArrivals.length, since = now(); now() - since < QUIET_MS;) {
    await sleep(50);
    if (matrixArrivals.length !== count) [count, since] = [matrixArrivals.length, now()];
  }
  return {
    ngircd,
    hs,
    daemon,
    human,
    channel,
    alias,
    ircRelay,
    matrixRelay,
    carol,
    matrixArrivals,
    startupMs,
    stop,
  };
}

type Direction = 'irc->matrix' | 'matrix->irc';

interface StreamResult {
  readonly sent: number;
  /** Sequence number and arrival time, in arrival order. */
  readonly received: { seq: number; at: number }[];
  readonly sendTimes: Map<number, number>;
  readonly firstSentAt: number;
}

async function stream(
  rig: Rig,
  direction: Direction,
  count: number,
  rate: number,
  during?: () => void,
): Promise<StreamResult> {
  const runId = uniqueName('s');
  const pattern = new RegExp(`${runId} (\\d+)$`);
  const sendTimes = new Map<number, number>();
  const start = now();
  let sent = 0;
  let hook = during;
  while (sent < count) {
    const due = rate === Infinity ? count : Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      sendTimes.set(sent, now());
      if (direction === 'irc->matrix')
        void rig.human.say(rig.channel, `${runId} ${sent}`).catch(() => undefined);
      else rig.hs.text(rig.carol, rig.alias, `${runId} ${sent}`);
    }
    if (hook !== undefined && now() - start >= INVALIDATE_AT_MS) {
      hook();
      hook = undefined;
    }
    if (sent < count) await sleep(1);
  }
  const lastSentAt = now();
  const matching = (): { seq: number; at: number }[] => {
    const source =
      direction === 'irc->matrix'
        ? rig.matrixArrivals.map((a) => ({ text: a.body, at: a.at }))
        : rig.human.messages
            .filter((m) => m.nick === rig.ircRelay)
            .map((m) => ({ text: m.text, at: m.receivedAt }));
    return source.flatMap((m) => {
      const match = pattern.exec(m.text);
      return match === null ? [] : [{ seq: Number(match[1]), at: m.at }];
    });
  };
  for (let seen = 0, progress = now(); now() - lastSentAt < DRAIN_MAX_MS; await sleep(20)) {
    const got = matching().length;
    if (got >= count) break;
    if (got > seen) [seen, progress] = [got, now()];
    if (now() - progress > DRAIN_IDLE_MS && now() - lastSentAt > DRAIN_IDLE_MS) break;
  }
  return { sent: count, received: matching(), sendTimes, firstSentAt: start };
}

function summarize(label: string, result: StreamResult): BenchRow {
  const samples = result.received.map((r) => ({
    seq: r.seq,
    latencyMs: r.at - (result.sendTimes.get(r.seq) ?? r.at),
  }));
  return summarizeStream(label, result.sent, samples);
}

export async function run(): Promise<BenchSection> {
  const rig = await startRig();
  const rows: BenchRow[] = [];
  try {
    rows.push({
      scenario: 'process start -> first line relayed IRC -> Matrix',
      'time ms': round(rig.startupMs, 0),
    });
    for (const direction of ['irc->matrix', 'matrix->irc'] as const) {
      for (const rate of RATES_PER_SECOND) {
        rows.push(
          summarize(
            `${direction} ${rate} msg/s x ${STREAM_SECONDS} s`,
            await stream(rig, direction, rate * STREAM_SECONDS, rate),
          ),
        );
      }
      const burst = await stream(rig, direction, BURST_LINES, Infinity);
      rows.push({
        ...summarize(`${direction} ${BURST_LINES}-line burst`, burst),
        'time ms': round(Math.max(...burst.received.map((r) => r.at)) - burst.firstSentAt, 0),
      });
    }
    const loginsBefore = rig.hs.auth.counters.loginAttempts;
    let invalidatedAt = 0;
    const recovery = await stream(rig, 'irc->matrix', RECOVERY_RATE * RECOVERY_SECONDS, RECOVERY_RATE, () => {
      invalidatedAt = now();
      rig.hs.invalidateTokens(rig.matrixRelay);
    });
    const firstAfter = recovery.received.map((r) => r.at).filter((at) => at > invalidatedAt)[0];
    rows.push({
      ...summarize(`token revoked during an irc->matrix ${RECOVERY_RATE} msg/s stream`, recovery),
      'time ms': firstAfter === undefined ? null : round(firstAfter - invalidatedAt, 0),
      logins: rig.hs.auth.counters.loginAttempts - loginsBefore,
    });
    rows.push({
      scenario: 'peak RSS of the daemon (MiB)',
      'peak RSS MiB': await peakRssMiB(rig.daemon.process.pid),
    });
  } finally {
    await rig.stop();
  }
  return {
    name: 'Matrix <-> IRC relay (homeserver emulator, ngircd flood penalties off)',
    description:
      'The built daemon between ngircd and the Matrix homeserver emulator (test/helpers/matrix-homeserver) on loopback; one gateway.',
    rows,
    notes: [
      "irc->matrix: from the IRC user writing PRIVMSG until the emulator stores the relay's m.room.message (one PUT per message, in order).",
      "matrix->irc: from the emulator storing the Matrix user's message until the IRC user reads the relayed line (the relay's /sync long-poll wakes at once).",
      'The emulator runs in the bench process, so its own work is part of every figure; a real homeserver adds its latency and rate limits.',
      'Token revoked: the access token is invalidated mid-stream (M_UNKNOWN_TOKEN); "time ms" is from the revocation to the next message on Matrix, "logins" the password logins it took.',
      'No matterbridge anchor: its Matrix bridge logs in once at start and never again (its issues #284, #1839, #1969), so the revocation row would lose everything after it.',
    ],
  };
}
