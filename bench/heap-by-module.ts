/**
 * Which modules a V8 heap snapshot's memory belongs to (issue 9 §2), by package: the code of each
 * script (its source string, SharedFunctionInfos, bytecode, feedback and closures) is attributed to
 * the package of its file (node_modules/<pkg>, or "app" for dist/, "node:" for Node's own).
 * Data (strings, arrays, caches) held by a package's objects is not attributed; the total is shown.
 *
 *   node --import tsx bench/heap-by-module.ts FILE.heapsnapshot [top]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: heap-by-module.ts FILE.heapsnapshot [top]');
const top = Number(process.argv[3] ?? 25);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
  meta.node_fields.indexOf(f),
) as [number, number, number, number];
const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [
  number,
  number,
  number,
];
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const count = snap.nodes.length / NF;
const firstEdge = new Uint32Array(count + 1);
for (let n = 0, e = 0; n < count; n++) {
  firstEdge[n] = e;
  e += (snap.nodes[n * NF + iEdges] as number) * EF;
}
firstEdge[count] = snap.edges.length;

const size = (n: number): number => snap.nodes[n * NF + iSize] as number;
const name = (n: number): string => snap.strings[snap.nodes[n * NF + iName] as number] as string;
const type = (n: number): string => nodeTypes[snap.nodes[n * NF + iType] as number] as string;
function* edges(n: number): Generator<{ type: string; name: string; to: number }> {
  for (let e = firstEdge[n] as number; e < (firstEdge[n + 1] as number); e += EF) {
    const t = edgeTypes[snap.edges[e + eType] as number] as string;
    const raw = snap.edges[e + eName] as number;
    const label = t === 'element' || t === 'hidden' ? String(raw) : (snap.strings[raw] as string);
    yield { type: t, name: label, to: (snap.edges[e + eTo] as number) / NF };
  }
}
const edge = (n: number, label: string): number | undefined => {
  for (const e of edges(n)) if (e.name === label) return e.to;
  return undefined;
};

function packageOf(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const m = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m?.[1] !== undefined) return m[1];
  if (path.startsWith('node:') || !path.startsWith('/'))
    return path === '' ? '(no script)' : 'node: (built-in)';
  if (path.includes('/dist/')) return 'app (dist/)';
  return path;
}

let total = 0;
const byType = new Map<string, number>();
const byPackage = new Map<string, number>();
const add = (map: Map<string, number>, key: string, bytes: number): void => {
  map.set(key, (map.get(key) ?? 0) + bytes);
};
const counted = new Uint8Array(count);
const scriptPackage = new Map<number, string>();
function packageOfScript(script: number): string {
  let pkg = scriptPackage.get(script);
  if (pkg === undefined) {
    const nameNode = edge(script, 'name');
    pkg = packageOf(nameNode === undefined ? '' : name(nameNode));
    scriptPackage.set(script, pkg);
    const source = edge(script, 'source');
    if (source !== undefined && counted[source] === 0) {
      counted[source] = 1;
      add(byPackage, pkg, size(source));
    }
  }
  return pkg;
}
/** An SFI and what hangs off it only for it: bytecode, scope info, feedback metadata. */
function addSfi(sfi: number, pkg: string): void {
  if (counted[sfi] === 1) return;
  counted[sfi] = 1;
  add(byPackage, pkg, size(sfi));
  for (const e of edges(sfi)) {
    if (e.type !== 'internal' || counted[e.to] === 1) continue;
    if (!/function_data|bytecode|scope_info|feedback_metadata|code/.test(e.name)) continue;
    counted[e.to] = 1;
    add(byPackage, pkg, size(e.to));
  }
}
for (let n = 0; n < count; n++) {
  total += size(n);
  add(byType, type(n), size(n));
  if (type(n) !== 'closure') continue;
  const sfi = edge(n, 'shared');
  const script = sfi === undefined ? undefined : edge(sfi, 'script');
  if (sfi === undefined || script === undefined) continue;
  const pkg = packageOfScript(script);
  add(byPackage, pkg, size(n));
  const feedback = edge(n, 'feedback_cell');
  if (feedback !== undefined && counted[feedback] === 0) {
    counted[feedback] = 1;
    add(byPackage, pkg, size(feedback));
    const vector = edge(feedback, 'value');
    if (vector !== undefined && counted[vector] === 0) {
      counted[vector] = 1;
      add(byPackage, pkg, size(vector));
    }
  }
  addSfi(sfi, pkg);
}
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2).padStart(7);
process.stdout.write(`heap total ${mib(total)} MiB (${count} nodes)\n\nby node type:\n`);
for (const [t, bytes] of [...byType].sort((a, b) => b[1] - a[1]).slice(0, 10))
  process.stdout.write(`  ${mib(bytes)}  ${t}\n`);
const attributed = [...byPackage.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`\ncode by package (source + functions + bytecode), ${mib(attributed)} MiB in all:\n`);
for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`  ${mib(bytes)}  ${pkg}\n`);
