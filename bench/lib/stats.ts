/** Nearest-rank percentile (p in 0..100) of unsorted samples; null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Rounds to `digits` decimals, keeping null. */
export function round(value: number | null, digits = 2): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Sequence numbers received out of order: each one lower than one received before it. */
export function countReordered(sequence: readonly number[]): number {
  let highest = -Infinity;
  let reordered = 0;
  for (const n of sequence) {
    if (n < highest) reordered += 1;
    else highest = n;
  }
  return reordered;
}

/** Peak resident set size of a process in MiB (Linux /proc VmHWM), or null. */
export async function peakRssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match?.[1] === undefined ? null : round(Number(match[1]) / 1024, 1);
  } catch {
    return null; // the process is gone: nothing to read
  }
}

/** One received message of a measured stream: its sequence number and its latency. */
export interface StreamSample {
  readonly seq: number;
  readonly latencyMs: number;
}

/**
 * The standard row of a stream measurement, the same in every scenario: how many were sent and
 * arrived (unique), lost, reordered, duplicated, and latency percentiles.
 */
export function summarizeStream(
  label: string,
  sent: number,
  samples: readonly StreamSample[],
): Record<string, string | number | null> {
  const seqs = samples.map((s) => s.seq);
  const unique = new Set(seqs);
  const latencies = samples.map((s) => s.latencyMs);
  const lost = sent - unique.size;
  return {
    scenario: label,
    sent,
    received: unique.size,
    lost,
    'lost %': round((lost / sent) * 100, 1),
    reordered: countReordered(seqs),
    duplicates: seqs.length - unique.size,
    'p50 ms': round(percentile(latencies, 50)),
    'p99 ms': round(percentile(latencies, 99)),
    'max ms': round(percentile(latencies, 100)),
  };
}
