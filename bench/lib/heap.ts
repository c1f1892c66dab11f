import { readFile } from 'node:fs/promises';

/**
 * A small reader of V8 .heapsnapshot files (the JSON format Node writes for --heapsnapshot-signal):
 * totals per node type and per constructor, and retained sizes from the dominator tree
 * (Cooper, Harvey & Kennedy, "A Simple, Fast Dominance Algorithm", 2001), weak edges skipped as
 * DevTools does.
 */
interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

export interface HeapGroup {
  readonly name: string;
  readonly count: number;
  readonly selfMiB: number;
}

export interface HeapRetainer {
  readonly name: string;
  readonly type: string;
  readonly retainedMiB: number;
}

export interface HeapSummary {
  readonly totalMiB: number;
  readonly byType: HeapGroup[];
  readonly byConstructor: HeapGroup[];
  /** Strings of 4 KiB or more: mostly the source text of loaded modules, which V8 keeps. */
  readonly bigStrings: { readonly count: number; readonly MiB: number };
  /** Objects with the largest retained size, not counting synthetic roots. */
  readonly topRetainers: HeapRetainer[];
}

const MiB = 2 ** 20;
const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

function top(groups: Map<string, { count: number; size: number }>, n: number): HeapGroup[] {
  return [...groups.entries()]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, n)
    .map(([name, g]) => ({ name, count: g.count, selfMiB: mib(g.size) }));
}

export async function summarizeHeapSnapshot(file: string, limit = 12): Promise<HeapSummary> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeOff, nameOff, sizeOff, edgeCountOff] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [eTypeOff, eToOff] = ['type', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const count = snap.nodes.length / nf;
  const at = (i: number, off: number): number => snap.nodes[i * nf + off] ?? 0;
  const typeName = (i: number): string => nodeTypes[at(i, typeOff)] ?? '?';
  const name = (i: number): string => snap.strings[at(i, nameOff)] ?? '?';

  // Forward edges (CSR), weak ones dropped.
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += at(i, edgeCountOff) * ef;
    firstEdge[i + 1] = e;
  }
  const succ = (i: number, visit: (j: number) => void): void => {
    for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) {
      if ((snap.edges[e + eTypeOff] ?? -1) === weak) continue;
      visit((snap.edges[e + eToOff] ?? 0) / nf);
    }
  };
  // Reverse postorder from the root (node 0), iteratively.
  const order = new Int32Array(count).fill(-1);
  const post: number[] = [];
  const stack: number[] = [0];
  const cursor = new Uint32Array(count);
  order[0] = -2;
  for (let i = 0; i < count; i++) cursor[i] = firstEdge[i] ?? 0;
  while (stack.length > 0) {
    const i = stack[stack.length - 1] ?? 0;
    let pushed = false;
    while ((cursor[i] ?? 0) < (firstEdge[i + 1] ?? 0)) {
      const e = cursor[i] ?? 0;
      cursor[i] = e + ef;
      if ((snap.edges[e + eTypeOff] ?? -1) === weak) continue;
      const j = (snap.edges[e + eToOff] ?? 0) / nf;
      if (order[j] === -1) {
        order[j] = -2;
        stack.push(j);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[i] = post.length;
      post.push(i);
    }
  }
  // Predecessors of reachable nodes.
  const preds: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < count; i++) if ((order[i] ?? -1) >= 0) succ(i, (j) => preds[j]?.push(i));
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while ((order[a] ?? 0) < (order[b] ?? 0)) a = idom[a] ?? 0;
      while ((order[b] ?? 0) < (order[a] ?? 0)) b = idom[b] ?? 0;
    }
    return a;
  };
  for (let changed = true, rounds = 0; changed && rounds < 100; rounds++) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const i = post[k] ?? 0;
      let d = -1;
      for (const p of preds[i] ?? []) {
        if ((idom[p] ?? -1) === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== -1 && idom[i] !== d) {
        idom[i] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (let i = 0; i < count; i++) retained[i] = at(i, sizeOff);
  for (const i of post)
    if (i !== 0) retained[idom[i] ?? 0] = (retained[idom[i] ?? 0] ?? 0) + (retained[i] ?? 0);

  const byType = new Map<string, { count: number; size: number }>();
  const byConstructor = new Map<string, { count: number; size: number }>();
  let total = 0;
  const big = { count: 0, size: 0 };
  for (let i = 0; i < count; i++) {
    const size = at(i, sizeOff);
    total += size;
    if (typeName(i) === 'string' && size >= 4096) {
      big.count += 1;
      big.size += size;
    }
    for (const [map, key] of [
      [byType, typeName(i)],
      [byConstructor, typeName(i) === 'object' || typeName(i) === 'closure' ? name(i) : `(${typeName(i)})`],
    ] as const) {
      const g = map.get(key) ?? { count: 0, size: 0 };
      g.count += 1;
      g.size += size;
      map.set(key, g);
    }
  }
  const synthetic = new Set(['synthetic']);
  const weakCell = (i: number): boolean => name(i) === 'system / WeakCell';
  const topRetainers = post
    .filter((i) => i !== 0 && !synthetic.has(typeName(i)) && !weakCell(i))
    .sort((a, b) => (retained[b] ?? 0) - (retained[a] ?? 0))
    .slice(0, limit * 4)
    .map((i) => ({ name: name(i).slice(0, 80), type: typeName(i), retainedMiB: mib(retained[i] ?? 0) }));
  return {
    totalMiB: mib(total),
    byType: top(byType, limit),
    byConstructor: top(byConstructor, limit),
    bigStrings: { count: big.count, MiB: mib(big.size) },
    topRetainers,
  };
}
