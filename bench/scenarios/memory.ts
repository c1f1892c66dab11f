/**
 * Memory bench (issue 9 §2): peak RSS of the built daemon per set of bridges (IRC only, + Kosmi,
 * + Matrix, all three), under the same traffic, and a heap snapshot of the daemon after it
 * (--heapsnapshot-signal) read for where the JS heap goes (types, constructors, top retainers).
 * Each set runs twice per round: under plain `node dist/main.js`, and with the NODE_OPTIONS the
 * container image sets (read from the Dockerfile, so the two cannot drift apart).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { removeDir, startDaemon, type Daemon } from '../../test/helpers/daemon.js';
import { connectIrcClient } from '../../test/helpers/irc-client.js';
import { startKosmiEmulator } from '../../test/helpers/kosmi-emulator/index.js';
import { startHomeserver } from '../../test/helpers/matrix-homeserver/index.js';
import { startNgircd } from '../../test/helpers/ngircd.js';
import { uniqueName } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { summarizeHeapSnapshot, type HeapSummary } from '../lib/heap.js';
import { rssMiB, rssSplitMiB } from '../lib/proc.js';
import { peakRssMiB } from '../lib/stats.js';
import type { BenchRow, BenchSection } from '../types.js';

const RUNS = 2;
const RATE_PER_SECOND = 100;
const STREAM_SECONDS = 5;
const BURST_LINES = 1000;
const JOIN_TIMEOUT_MS = 60_000;
const DRAIN_MAX_MS = 60_000;
const SNAPSHOT_TIMEOUT_MS = 60_000;
const PASSWORD = 'bench-memory-password';
const SETS = [
  { label: 'IRC only', kosmi: false, matrix: false },
  { label: 'IRC + Kosmi', kosmi: true, matrix: false },
  { label: 'IRC + Matrix', kosmi: false, matrix: true },
  { label: 'IRC + Kosmi + Matrix (all bridges)', kosmi: true, matrix: true },
] as const;
type BridgeSet = (typeof SETS)[number];

/** The image's `NODE_OPTIONS="..."` (Dockerfile ENV), or '' when it sets none. */
function imageNodeOptions(dockerfile: string): string {
  return /^\s*(?:ENV\s+)?NODE_OPTIONS="([^"]*)"/m.exec(dockerfile)?.[1] ?? '';
}
const IMAGE_NODE_OPTIONS = imageNodeOptions(
  readFileSync(path.join(import.meta.dirname, '..', '..', 'Dockerfile'), 'utf8'),
);
const VARIANTS = [
  { label: 'node', nodeOptions: '' },
  ...(IMAGE_NODE_OPTIONS === ''
    ? []
    : [{ label: `image (${IMAGE_NODE_OPTIONS})`, nodeOptions: IMAGE_NODE_OPTIONS }]),
] as const;
type Variant = (typeof VARIANTS)[number];

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends SIGUSR2 and resolves with the snapshot file once its size stops changing. */
async function heapSnapshot(daemon: Daemon): Promise<string> {
  const before = new Set(readdirSync(daemon.dir));
  daemon.process.kill('SIGUSR2');
  const file = await waitFor(
    () => readdirSync(daemon.dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)),
    { timeoutMs: SNAPSHOT_TIMEOUT_MS, intervalMs: 200, what: 'the heap snapshot' },
  );
  const full = path.join(daemon.dir, file);
  for (let size = -1, tries = 0; tries < SNAPSHOT_TIMEOUT_MS / 500; tries++) {
    await sleep(500);
    const next = existsSync(full) ? statSync(full).size : -1;
    if (next === size && size > 0) break;
    size = next;
  }
  return full;
}

async function oneRun(
  set: BridgeSet,
  variant: Variant,
  snapshot: boolean,
): Promise<{ row: BenchRow; heap?: HeapSummary }> {
  const [irc, hs, kosmi] = await Promise.all([
    startNgircd(),
    set.matrix ? startHomeserver() : undefined,
    set.kosmi ? startKosmiEmulator({ rooms: ['@membench'] }) : undefined,
  ]);
  const [chanA, chanB] = [`#${uniqueName('ma')}`, `#${uniqueName('mb')}`];
  const [relayA, relayB] = [uniqueName('ra'), uniqueName('rb')];
  const alias = `#${uniqueName('mm')}:localhost`;
  const matrixRelay = hs?.registerUser(uniqueName('mrelay'), PASSWORD, 'Relay');
  if (hs !== undefined) hs.createRoom({ creator: hs.registerUser(uniqueName('carol'), 'pw'), alias });
  const human = await connectIrcClient({ port: irc.port, nick: uniqueName('h'), channels: [chanA, chanB] });
  let daemon: Daemon | undefined;
  try {
    daemon = startDaemon({
      env: {
        LOG_LEVEL: 'info',
        MATRIX_PASSWORD: PASSWORD,
        NODE_OPTIONS: [variant.nodeOptions, snapshot ? '--heapsnapshot-signal=SIGUSR2' : '']
          .filter((o) => o !== '')
          .join(' '),
      },
      config: `[general]
data_dir = "./data"
[irc.a]
server = "127.0.0.1:${irc.port}"
nick = "${relayA}"
flood_rate = 0
[irc.b]
server = "127.0.0.1:${irc.port}"
nick = "${relayB}"
flood_rate = 0
${hs === undefined ? '' : `[matrix.home]\nhomeserver = "${hs.url}"\nuser_id = "${matrixRelay}"\npassword = "\${MATRIX_PASSWORD}"\n`}${kosmi === undefined ? '' : `[kosmi.main]\nweb_url = "${kosmi.webUrl}"\napi_url = "${kosmi.apiUrl}"\nws_url = "${kosmi.wsUrl}"\nsend_rate_per_second = 10000\nsend_burst = 10000\n`}[[gateway]]
name = "mem"
  [[gateway.inout]]
  account = "irc.a"
  channel = "${chanA}"
  [[gateway.inout]]
  account = "irc.b"
  channel = "${chanB}"
${hs === undefined ? '' : `  [[gateway.inout]]\n  account = "matrix.home"\n  channel = "${alias}"\n`}${kosmi === undefined ? '' : `  [[gateway.inout]]\n  account = "kosmi.main"\n  channel = "@membench"\n`}`,
    });
    const joined = (nick: string, channel: string): boolean =>
      human.lines.some((l) => l.startsWith(`:${nick}!`) && new RegExp(` JOIN :?${channel}$`, 'i').test(l));
    await waitFor(
      () =>
        joined(relayA, chanA) &&
        joined(relayB, chanB) &&
        (hs === undefined || (matrixRelay !== undefined && hs.isJoined(matrixRelay, alias))) &&
        (kosmi === undefined || kosmi.listeners('@membench').length > 0),
      { timeoutMs: JOIN_TIMEOUT_MS, intervalMs: 50, what: 'every bridge joined' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${daemon?.output().slice(-3000)}`, { cause: error });
    });
    const rssIdle = await rssMiB(daemon.process.pid);
    const runId = uniqueName('m');
    const total = RATE_PER_SECOND * STREAM_SECONDS + BURST_LINES;
    const start = now();
    for (let sent = 0; sent < RATE_PER_SECOND * STREAM_SECONDS;) {
      const due = Math.min(
        RATE_PER_SECOND * STREAM_SECONDS,
        Math.floor(((now() - start) * RATE_PER_SECOND) / 1000) + 1,
      );
      for (; sent < due; sent++) void human.say(chanA, `${runId} ${sent}`).catch(() => undefined);
      await sleep(2);
    }
    for (let sent = RATE_PER_SECOND * STREAM_SECONDS; sent < total; sent++)
      void human.say(chanA, `${runId} ${sent}`).catch(() => undefined);
    const onB = (): number =>
      human.messages.filter((m) => m.nick === relayB && m.target === chanB && m.text.includes(runId)).length;
    const onMatrix = (): number =>
      hs === undefined || matrixRelay === undefined
        ? total
        : hs.messagesFrom(matrixRelay, alias).filter((c) => String(c.body).includes(runId)).length;
    const onKosmi = (): number =>
      kosmi === undefined ? total : kosmi.messages('@membench').filter((m) => m.body.includes(runId)).length;
    await waitFor(() => onB() >= total && onMatrix() >= total && onKosmi() >= total, {
      timeoutMs: DRAIN_MAX_MS,
      intervalMs: 100,
      what: 'every copy',
    }).catch(() => undefined); // reported as delivered below
    const row: BenchRow = {
      bridges: set.label,
      'node flags': variant.label,
      'RSS after start MiB': rssIdle,
      'peak RSS MiB': await peakRssMiB(daemon.process.pid),
      'RSS after traffic MiB': await rssMiB(daemon.process.pid),
      'of it anon / file MiB': await rssSplitMiB(daemon.process.pid).then((r) => `${r.anon} / ${r.file}`),
      'delivered (IRC / Matrix / Kosmi)': `${onB()} / ${hs === undefined ? '–' : onMatrix()} / ${kosmi === undefined ? '–' : onKosmi()} of ${total}`,
    };
    if (!snapshot) return { row };
    const file = await heapSnapshot(daemon);
    return { row, heap: await summarizeHeapSnapshot(file) };
  } finally {
    await daemon?.stop('SIGTERM');
    await human.quit();
    await Promise.all([irc.stop(), hs?.close(), kosmi?.close()]);
    if (daemon !== undefined) removeDir(daemon.dir);
  }
}

function heapSection(label: string, heap: HeapSummary): BenchSection {
  const rows: BenchRow[] = [
    ...heap.byType.map((g) => ({
      table: 'by node type',
      name: g.name,
      count: g.count,
      'self MiB': g.selfMiB,
    })),
    ...heap.byConstructor.map((g) => ({
      table: 'by constructor',
      name: g.name,
      count: g.count,
      'self MiB': g.selfMiB,
    })),
    ...heap.topRetainers.slice(0, 20).map((r) => ({
      table: 'top retainers',
      name: `${r.name} (${r.type})`,
      'retained MiB': r.retainedMiB,
    })),
  ];
  return {
    name: `Heap snapshot: ${label}`,
    description: `JS heap of the daemon after the traffic (--heapsnapshot-signal=SIGUSR2): ${heap.totalMiB} MiB in the snapshot, ${heap.bigStrings.MiB} MiB of it in ${heap.bigStrings.count} strings of 4 KiB or more (mostly module source text). Self sizes by V8 node type and by constructor; retained sizes from the dominator tree (weak edges skipped).`,
    rows,
  };
}

export async function run(): Promise<BenchSection[]> {
  const rows: BenchRow[] = [];
  const heaps: BenchSection[] = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const set of SETS) {
      for (const variant of VARIANTS) {
        const snapshot =
          run === 1 &&
          variant.nodeOptions === '' &&
          (set.label === 'IRC only' || set.label === 'IRC + Matrix');
        const result = await oneRun(set, variant, snapshot);
        rows.push({ run, ...result.row });
        if (result.heap !== undefined) heaps.push(heapSection(set.label, result.heap));
      }
    }
  }
  return [
    {
      name: 'Daemon memory per set of bridges',
      description: `The built daemon with two IRC accounts on one ngircd (one gateway, two channels), plus a Kosmi room (emulator) and/or a Matrix room (homeserver emulator) in the same gateway; a human on IRC says ${RATE_PER_SECOND} lines/s for ${STREAM_SECONDS} s, then a ${BURST_LINES}-line burst, relayed to every other network.`,
      rows,
      notes: [
        `"node flags": "node" is plain \`node dist/main.js\`; "image" adds the NODE_OPTIONS the Dockerfile sets (${IMAGE_NODE_OPTIONS === '' ? 'none at the moment' : IMAGE_NODE_OPTIONS}), which V8 reads only at start.`,
        'RSS from /proc/PID/status: VmRSS once every bridge joined and after the traffic, VmHWM (peak), RssAnon / RssFile after the traffic. Each set runs in a fresh daemon and data dir.',
        '"delivered" counts the relayed copies that arrived within 60 s of the burst; a shortfall is the store\'s cost on this disk (see the IRC rows and bench/results/store-cost.md), not a memory figure.',
      ],
    },
    ...heaps,
  ];
}
