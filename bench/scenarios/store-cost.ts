/**
 * The store's cost (issue 7 §7) on the IRC rows that must stay lossless and in order: 1,000 msg/s
 * for 5 s and the 1,000-line burst, each in a fresh daemon and rig (two ngircd servers, flood
 * penalties off, relay flood_rate = 0), so no earlier row's backlog is measured. The same file
 * runs unchanged against the commit before the store (copy it and irc.ts into that checkout).
 * The drain wait is longer than irc.ts's so a slow relay shows as late, not lost.
 */
import { cpuMeter } from '../lib/proc.js';
import { peakRssMiB, round } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';
import { startRig, stream, summarize, type Rig } from './irc.js';

const RUNS = 2;
const RATE_PER_SECOND = 1000;
const STREAM_SECONDS = 5;
const BURST_LINES = 1000;
/** Give up after this long without a new line once the last one was sent. */
const DRAIN_IDLE_MS = 15_000;
/** pino's level number for warn. */
const WARN_LEVEL = 40;

/** The daemon's warn-or-worse log messages during the row, counted: why a row lost or stalled. */
function warnings(rig: Rig): string {
  const counts = new Map<string, number>();
  for (const line of rig.daemon.logs()) {
    if (line.level < WARN_LEVEL) continue;
    counts.set(line.msg, (counts.get(line.msg) ?? 0) + 1);
  }
  return counts.size === 0 ? 'none' : [...counts].map(([msg, n]) => `${msg} x${n}`).join('; ');
}

async function measure(label: string, count: number, rate: number): Promise<BenchRow> {
  const rig = await startRig({ floodPenalties: false, relayFloodConfig: 'flood_rate = 0' });
  try {
    const cpu = await cpuMeter(rig.daemon.process.pid);
    const result = await stream(rig, count, rate, { drainIdleMs: DRAIN_IDLE_MS });
    const used = await cpu.stop();
    const arrivals = result.received.map((m) => m.receivedAt);
    return {
      ...summarize(label, result, '–'),
      'all in after ms': arrivals.length === 0 ? null : round(Math.max(...arrivals) - result.firstSentAt, 0),
      'daemon CPU ms': used.cpuMs,
      'peak RSS MiB': await peakRssMiB(rig.daemon.process.pid),
      'daemon warnings': warnings(rig),
    };
  } finally {
    await rig.stop();
  }
}

export async function run(): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  for (let run = 1; run <= RUNS; run++) {
    rows.push(
      await measure(
        `run ${run}: ${RATE_PER_SECOND} msg/s x ${STREAM_SECONDS} s`,
        RATE_PER_SECOND * STREAM_SECONDS,
        RATE_PER_SECOND,
      ),
    );
    rows.push(await measure(`run ${run}: ${BURST_LINES}-line burst`, BURST_LINES, Infinity));
  }
  return {
    name: 'Store cost: IRC -> IRC at 1,000 msg/s and a 1,000-line burst, each in a fresh daemon',
    description: `Each row in a fresh rig: two ngircd servers (flood penalties off), the built daemon with flood_rate = 0, a sender on A and a receiver on B. A row stops waiting ${DRAIN_IDLE_MS / 1000} s after the last new line.`,
    rows,
    notes: [
      "Run on this commit and on 6132f99 (before the store) for bench/results/store-cost.md. TMPDIR=/dev/shm/... puts the data dir on tmpfs, where fsync costs nothing: that separates the store's CPU cost from its fsync cost.",
    ],
  };
}
