/** One cell of a bench table: a figure, a label, or nothing measured. */
export type BenchValue = string | number | boolean | null;

/** One row of a bench table, column name -> value (columns keep their first-seen order). */
export type BenchRow = Readonly<Record<string, BenchValue>>;

/** What a scenario module's run() returns: one Markdown table in bench/results/latest.md. */
export interface BenchSection {
  readonly name: string;
  /** One or two sentences: the setup and what is measured. */
  readonly description?: string;
  readonly rows: readonly BenchRow[];
  /** Free-form lines under the table (comparison with the anchor, caveats). */
  readonly notes?: readonly string[];
}

/** A scenario module: bench/scenarios/NAME.ts exporting run(). */
export interface BenchScenario {
  run(): Promise<BenchSection | readonly BenchSection[]>;
}
