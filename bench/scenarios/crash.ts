/**
 * Crash bench (issue 7 §7): the built daemon between two ngircd servers (flood penalties off, relay
 * flood_rate = 0), a 100 msg/s stream from server A to server B, and `kill -9` of the daemon in the
 * middle of it; a new daemon is started at once on the same data dir (relay.db). Counts the lines
 * lost and duplicated, and the time from the restart to the first relayed line.
 */
import { removeDir, startDaemon, type Daemon } from '../../test/helpers/daemon.js';
import { connectIrcClient, type ReceivedMessage } from '../../test/helpers/irc-client.js';
import { startNgircd, type NgircdServer } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { percentile, round } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const RUNS = 2;
const RATE_PER_SECOND = 100;
const STREAM_SECONDS = 8;
const KILL_AT_MS = 3_000;
const STARTUP_TIMEOUT_MS = 60_000;
const PROBE_EVERY_MS = 20;
const QUIET_MS = 1_000;
const DRAIN_IDLE_MS = 3_000;
const DRAIN_MAX_MS = 60_000;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function config(serverA: NgircdServer, serverB: NgircdServer, channel: string, nicks: string[]): string {
  const account = (name: string, server: NgircdServer, nick: string | undefined): string =>
    `[irc.${name}]\nserver = "127.0.0.1:${server.port}"\nnick = "${nick}"\nflood_rate = 0\n`;
  return `[general]\ndata_dir = "./data"\n${account('a', serverA, nicks[0])}${account('b', serverB, nicks[1])}
[[gateway]]
name = "crash"
  [[gateway.inout]]
  account = "irc.a"
  channel = "${channel}"
  [[gateway.inout]]
  account = "irc.b"
  channel = "${channel}"
`;
}

/** The relay's lines on B: its configured nick or an alternative (nick_, ...) while the old one lingers. */
const fromRelay = (m: ReceivedMessage, nick: string): boolean => m.nick.startsWith(nick);

async function oneRun(run: number, serverA: NgircdServer, serverB: NgircdServer): Promise<BenchRow> {
  const channel = `#${uniqueName('crash')}`;
  const relayA = uniqueName('ca');
  const relayB = uniqueName('cb');
  const sender = await connectIrcClient({ port: serverA.port, nick: uniqueName('snd'), channels: [channel] });
  const receiver = await connectIrcClient({
    port: serverB.port,
    nick: uniqueName('rcv'),
    channels: [channel],
  });
  const text = config(serverA, serverB, channel, [relayA, relayB]);
  const daemons: Daemon[] = [startDaemon({ env: { LOG_LEVEL: 'info' }, config: text })];
  const dir = daemons[0]?.dir ?? '';
  try {
    // Wait until the relay relays, then for the probes to stop arriving.
    const t0 = now();
    for (let n = 0; now() - t0 < STARTUP_TIMEOUT_MS; n++) {
      await sender.say(channel, `probe ${n}`);
      if (receiver.messages.some((m) => fromRelay(m, relayB))) break;
      await sleep(PROBE_EVERY_MS);
    }
    if (!receiver.messages.some((m) => fromRelay(m, relayB)))
      throw new Error(
        `no line relayed within ${STARTUP_TIMEOUT_MS} ms:\n${daemons[0]?.output().slice(-3000)}`,
      );
    for (let count = receiver.messages.length, since = now(); now() - since < QUIET_MS;) {
      await sleep(50);
      if (receiver.messages.length !== count) [count, since] = [receiver.messages.length, now()];
    }

    const runId = uniqueName('k');
    const pattern = new RegExp(`${runId} (\\d+)$`);
    const count = RATE_PER_SECOND * STREAM_SECONDS;
    const matching = (): { seq: number; at: number }[] =>
      receiver.messages.flatMap((m) => {
        const match = fromRelay(m, relayB) ? pattern.exec(m.text) : null;
        return match === null ? [] : [{ seq: Number(match[1]), at: m.receivedAt }];
      });
    const sendTimes: number[] = [];
    let killedAt = 0;
    let restartedAt = 0;
    // The new daemon is back in the channel on A when A shows its JOIN; lines said on A before
    // that reached no relay (IRC keeps no history), which no store can recover.
    let rejoinedAt = Infinity;
    const joinsOnA = (): number =>
      sender.lines.filter((l) => l.startsWith(`:${relayA}`) && l.includes(' JOIN ')).length;
    let joinsAtKill = 0;
    let deliveredAtKill = 0;
    let sentAtKill = 0;
    const watchRejoin = (): void => {
      if (restartedAt > 0 && rejoinedAt === Infinity && joinsOnA() > joinsAtKill) rejoinedAt = now();
    };
    const start = now();
    for (let sent = 0; sent < count;) {
      const due = Math.min(count, Math.floor(((now() - start) * RATE_PER_SECOND) / 1000) + 1);
      for (; sent < due; sent++) {
        sendTimes[sent] = now();
        void sender.say(channel, `${runId} ${sent}`).catch(() => undefined); // counted as lost if it never arrives
      }
      if (killedAt === 0 && now() - start >= KILL_AT_MS) {
        const victim = daemons[0];
        joinsAtKill = joinsOnA();
        deliveredAtKill = new Set(matching().map((m) => m.seq)).size;
        sentAtKill = sent;
        killedAt = now();
        await victim?.stop('SIGKILL');
        restartedAt = now();
        daemons.push(startDaemon({ env: { LOG_LEVEL: 'info' }, config: text, dir }));
      }
      watchRejoin();
      if (sent < count) await sleep(1);
    }
    const lastSentAt = now();
    for (let seen = 0, progress = now(); now() - lastSentAt < DRAIN_MAX_MS; await sleep(20)) {
      watchRejoin();
      const got = new Set(matching().map((m) => m.seq)).size;
      if (got >= count) break;
      if (got > seen) [seen, progress] = [got, now()];
      if (now() - progress > DRAIN_IDLE_MS && now() - lastSentAt > DRAIN_IDLE_MS) break;
    }
    const received = matching();
    const unique = new Set(received.map((r) => r.seq));
    const lost = [...sendTimes.keys()].filter((seq) => !unique.has(seq));
    const sentAt = (seq: number): number => sendTimes[seq] ?? 0;
    const lostBeforeKill = lost.filter((seq) => sentAt(seq) < killedAt);
    const lostUnseen = lost.filter((seq) => sentAt(seq) >= killedAt && sentAt(seq) < rejoinedAt);
    const firstAfter = received.filter((r) => r.at > restartedAt).map((r) => r.at)[0];
    const firstNewAfter = received.filter((r) => (sendTimes[r.seq] ?? 0) > restartedAt).map((r) => r.at)[0];
    const latencies = received.map((r) => r.at - (sendTimes[r.seq] ?? r.at));
    const beforeKill = received.filter((r) => r.at < killedAt).map((r) => r.at - (sendTimes[r.seq] ?? r.at));
    const resumed = new Set(
      received.filter((r) => r.at > restartedAt && sentAt(r.seq) < killedAt).map((r) => r.seq),
    );
    const waiting = daemons[1]?.logs().find((l) => l.msg === 'resuming delivery from the store')?.waiting;
    return {
      scenario: `run ${run}: kill -9 at ${KILL_AT_MS / 1000} s of a ${RATE_PER_SECOND} msg/s x ${STREAM_SECONDS} s stream, restart at once`,
      sent: count,
      received: unique.size,
      lost: lost.length,
      'sent before the kill': sentAtKill,
      'on B at the kill': deliveredAtKill,
      'p50 ms before the kill': round(percentile(beforeKill, 50)),
      'resumed from relay.db': typeof waiting === 'number' ? waiting : 0,
      'sent before the kill, on B after the restart': resumed.size,
      'lost, sent before the kill': lostBeforeKill.length,
      'lost, sent while no relay was on A': lostUnseen.length,
      'lost, sent after the rejoin': lost.length - lostBeforeKill.length - lostUnseen.length,
      duplicates: received.length - unique.size,
      'restart -> first relayed line ms':
        firstAfter === undefined ? null : round(firstAfter - restartedAt, 0),
      'restart -> first line sent after it ms':
        firstNewAfter === undefined ? null : round(firstNewAfter - restartedAt, 0),
      'restart -> back in the channel on A ms':
        rejoinedAt === Infinity ? null : round(rejoinedAt - restartedAt, 0),
      'p99 ms': round(percentile(latencies, 99)),
      'max ms': round(percentile(latencies, 100)),
    };
  } finally {
    for (const daemon of daemons) await daemon.stop('SIGTERM');
    await Promise.all([sender.quit(), receiver.quit()]);
    removeDir(dir);
  }
}

export async function run(): Promise<BenchSection> {
  const [serverA, serverB] = await Promise.all([startNgircd(), startNgircd()]);
  const rows: BenchRow[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) rows.push(await oneRun(run, serverA, serverB));
  } finally {
    await Promise.all([serverA.stop(), serverB.stop()]);
  }
  return {
    name: 'IRC -> IRC, daemon killed (SIGKILL) mid-stream and restarted on the same data dir',
    description: `The built daemon between two ngircd servers (flood penalties off, relay flood_rate = 0); a sender on A says ${RATE_PER_SECOND} lines/s for ${STREAM_SECONDS} s, the daemon gets SIGKILL ${KILL_AT_MS / 1000} s in, and a new daemon is spawned on the same data dir (relay.db) as soon as the old one is gone.`,
    rows,
    notes: [
      "Lost lines are split by when they were said on A: before the kill (the store should keep these: the old relay had read them, or they were in its socket buffer when it died), while no relay was in the channel on A (between the kill and the new daemon's JOIN: IRC keeps no history, so no relay can see them), after the rejoin.",
      'Duplicates are expected: a piece written to B but not yet confirmed by a PONG when the daemon died stays in relay.db and is sent again (at-least-once).',
      '"restart -> first relayed line": from spawning the new daemon (right after the old one exited) to the first stream line on B, which may be one resumed from relay.db; "first line sent after it" counts only lines said after the restart.',
    ],
  };
}
