import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 .cpuprofile (node --cpu-prof) this reader uses. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotSpot {
  readonly where: string;
  readonly selfMs: number;
  readonly percent: number;
}

/** Where the package or file sits: "node_modules/NAME", "src/...", "(native)", or node:internal. */
function place(url: string): string {
  if (url === '') return '(native or V8)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return `node_modules/${modules[1]}`;
  const dist = /\/dist\/(.*)$/.exec(url);
  if (dist?.[1] !== undefined) return `dist/${dist[1]}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time of the one .cpuprofile in `dir`, by function and by package or file, largest first. */
export function summarizeCpuProfile(
  dir: string,
  limit = 12,
): { totalMs: number; byFunction: HotSpot[]; byPlace: HotSpot[] } {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fn = new Map<string, number>();
  const where = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (frame === undefined || frame.functionName === '(idle)') return;
    total += ms;
    const key = `${frame.functionName || '(anonymous)'} ${place(frame.url)}:${frame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    where.set(place(frame.url), (where.get(place(frame.url)) ?? 0) + ms);
  });
  const top = (map: Map<string, number>): HotSpot[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, ms]) => ({
        where: key,
        selfMs: Math.round(ms),
        percent: Math.round((ms / Math.max(1, total)) * 1000) / 10,
      }));
  return { totalMs: Math.round(total), byFunction: top(fn), byPlace: top(where) };
}
