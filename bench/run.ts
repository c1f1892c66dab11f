/**
 * `npm run bench` (after `npm run build`): runs the scenario modules and writes
 * bench/results/latest.json and bench/results/latest.md. `npm run bench -- irc` runs only the
 * named scenarios and writes bench/results/latest-irc.{json,md}, leaving the full results alone. Add a scenario by adding one line to SCENARIOS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchScenario, BenchSection } from './types.js';
import { toMarkdown } from './lib/report.js';

const SCENARIOS: readonly { readonly name: string; readonly load: () => Promise<BenchScenario> }[] = [
  { name: 'irc', load: () => import('./scenarios/irc.js') },
  { name: 'matrix', load: () => import('./scenarios/matrix.js') },
  { name: 'kosmi', load: () => import('./scenarios/kosmi.js') },
  { name: 'crash', load: () => import('./scenarios/crash.js') },
  { name: 'scale', load: () => import('./scenarios/scale.js') },
  { name: 'memory', load: () => import('./scenarios/memory.js') },
  { name: 'store-cost', load: () => import('./scenarios/store-cost.js') },
];

function toSections(result: BenchSection | readonly BenchSection[]): readonly BenchSection[] {
  return 'rows' in result ? [result] : result;
}

const RESULTS_DIR = path.join(import.meta.dirname, 'results');

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const selected = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => wanted.includes(s.name));
  if (selected.length === 0) {
    process.stderr.write(
      `no such scenario: ${wanted.join(', ')} (have: ${SCENARIOS.map((s) => s.name).join(', ')})\n`,
    );
    return 2;
  }
  const sections: BenchSection[] = [];
  const failures: string[] = [];
  const startedAt = new Date();
  for (const scenario of selected) {
    const t0 = performance.now();
    process.stdout.write(`bench: ${scenario.name} ...\n`);
    try {
      const result = await (await scenario.load()).run();
      sections.push(...toSections(result));
      process.stdout.write(
        `bench: ${scenario.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    } catch (error) {
      failures.push(`${scenario.name}: ${(error as Error).stack ?? String(error)}`);
      process.stderr.write(`bench: ${scenario.name} FAILED: ${(error as Error).stack ?? String(error)}\n`);
    }
  }
  const environment = {
    startedAt: startedAt.toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
  // A run of some scenarios must not replace the full results with a part of them.
  const base =
    selected.length === SCENARIOS.length ? 'latest' : `latest-${selected.map((s) => s.name).join('-')}`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    path.join(RESULTS_DIR, `${base}.json`),
    `${JSON.stringify({ environment, sections, failures }, null, 2)}\n`,
  );
  const markdown = toMarkdown(sections, environment, failures);
  writeFileSync(path.join(RESULTS_DIR, `${base}.md`), markdown);
  process.stdout.write(
    `\n${markdown}\nbench: wrote ${path.relative(process.cwd(), RESULTS_DIR)}/${base}.{json,md}\n`,
  );
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
