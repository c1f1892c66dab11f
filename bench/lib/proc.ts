import { readFile } from 'node:fs/promises';

/** Clock ticks per second for /proc/PID/stat utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, in ms, from /proc/PID/stat; null when gone. */
export async function cpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'; proc(5):
    // utime is field 14 and stime field 15, i.e. the 12th and 13th after the state field.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / USER_HZ : null;
  } catch {
    return null; // the process is gone: nothing to read
  }
}

/** Current resident set size in MiB (VmRSS), or null. */
export async function rssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match?.[1] === undefined ? null : Math.round(Number(match[1]) / 102.4) / 10;
  } catch {
    return null; // the process is gone: nothing to read
  }
}

/** A CPU meter over an interval: start(), then stop() gives CPU ms used and % of one core. */
export async function cpuMeter(
  pid: number | undefined,
): Promise<{ stop(): Promise<{ cpuMs: number | null; percent: number | null }> }> {
  const cpu0 = await cpuMs(pid);
  const t0 = performance.now();
  return {
    async stop() {
      const cpu1 = await cpuMs(pid);
      const wall = performance.now() - t0;
      if (cpu0 === null || cpu1 === null) return { cpuMs: null, percent: null };
      return { cpuMs: cpu1 - cpu0, percent: Math.round(((cpu1 - cpu0) / wall) * 1000) / 10 };
    },
  };
}

/** Resident memory split from /proc/PID/status: anonymous (heaps, malloc) and file-backed (code, mapped files), MiB. */
export async function rssSplitMiB(
  pid: number | undefined,
): Promise<{ anon: number | null; file: number | null }> {
  if (pid === undefined) return { anon: null, file: null };
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number | null => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return match?.[1] === undefined ? null : Math.round(Number(match[1]) / 102.4) / 10;
    };
    return { anon: field('RssAnon'), file: field('RssFile') };
  } catch {
    return { anon: null, file: null }; // the process is gone: nothing to read
  }
}
