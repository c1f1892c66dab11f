import type { BenchSection, BenchValue } from '../types.js';

function cell(value: BenchValue | undefined): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The Markdown report: one table per section, its notes below it. */
export function toMarkdown(
  sections: readonly BenchSection[],
  environment: Readonly<Record<string, string | number>>,
  failures: readonly string[],
): string {
  const out: string[] = ['# kosmi-relay bench results', ''];
  out.push(
    Object.entries(environment)
      .map(([k, v]) => `${k}: ${v}`)
      .join(' · '),
    '',
  );
  for (const section of sections) {
    out.push(`## ${section.name}`, '');
    if (section.description !== undefined) out.push(section.description, '');
    const columns: string[] = [];
    for (const row of section.rows)
      for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    if (columns.length > 0) {
      out.push(`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`);
      for (const row of section.rows) out.push(`| ${columns.map((c) => cell(row[c])).join(' | ')} |`);
      out.push('');
    }
    for (const note of section.notes ?? []) out.push(`- ${note}`);
    if ((section.notes ?? []).length > 0) out.push('');
  }
  if (failures.length > 0) {
    out.push('## Failed scenarios', '');
    for (const failure of failures) out.push('```', failure, '```', '');
  }
  return `${out.join('\n')}\n`;
}
