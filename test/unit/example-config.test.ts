import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

/**
 * The repo's relay.toml is the fully commented example of every option (issue 2 §2; house style:
 * "a sample config that cannot drift from the code"). It must load with the real loader, name every
 * key of every schema in src/config/, and show each option's default where it is commented out.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = path.join(REPO, 'relay.toml');
const CONFIG_DIR = path.join(REPO, 'src/config');
const text = readFileSync(EXAMPLE, 'utf8');

// --- walking the zod schemas --------------------------------------------------------------------

/** Wrappers that do not change the shape: refinements, defaults, optional, nullable. */
function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodEffects) current = current.innerType() as z.ZodTypeAny;
    else if (current instanceof z.ZodDefault) current = current.removeDefault() as z.ZodTypeAny;
    else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable)
      current = current.unwrap() as z.ZodTypeAny;
    else return current;
  }
}

/** The default of a key, if its schema has one (outside any refinement or optional wrapper). */
function defaultOf(schema: z.ZodTypeAny): { value: unknown } | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault)
      return { value: (current._def as { defaultValue: () => unknown }).defaultValue() };
    if (current instanceof z.ZodEffects) current = current.innerType() as z.ZodTypeAny;
    else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable)
      current = current.unwrap() as z.ZodTypeAny;
    else return undefined;
  }
}

/**
 * A place in the config, as a pattern: record keys (account names) become "*", array items "[]".
 * "irc.*" is an IRC account section, "gateway.[].inout.[]" a gateway entry.
 */
interface SchemaKey {
  readonly section: string;
  readonly key: string;
  readonly schema: z.ZodTypeAny;
  /** An object, or an array of objects: written as a [table] / [[array table]], not key = value. */
  readonly isTable: boolean;
}

const visitedObjects = new Set<z.ZodTypeAny>();

function walk(schema: z.ZodTypeAny, at: string[], keys: SchemaKey[]): void {
  const node = unwrap(schema);
  if (node instanceof z.ZodRecord) return walk(node.valueSchema as z.ZodTypeAny, [...at, '*'], keys);
  if (node instanceof z.ZodArray) return walk(node.element as z.ZodTypeAny, [...at, '[]'], keys);
  if (!(node instanceof z.ZodObject)) return;
  visitedObjects.add(node);
  for (const [key, child] of Object.entries(node.shape as Record<string, z.ZodTypeAny>)) {
    const inner = unwrap(child);
    const element = inner instanceof z.ZodArray ? unwrap(inner.element as z.ZodTypeAny) : inner;
    const isTable = element instanceof z.ZodObject || element instanceof z.ZodRecord;
    keys.push({ section: at.join('.'), key, schema: child, isTable });
    walk(child, [...at, key], keys);
  }
}

const schemaKeys: SchemaKey[] = [];
walk(configSchema, [], schemaKeys);

/** Maps a TOML table header ("irc.libera", "[gateway.inout]") to its schema pattern. */
function sectionPattern(header: string, arrayTable: boolean): string | undefined {
  const parts = header.split('.').map((p) => p.trim().replace(/^"(.*)"$/, '$1'));
  const out: string[] = [];
  let node: z.ZodTypeAny = configSchema;
  for (const [index, part] of parts.entries()) {
    let current = unwrap(node);
    if (current instanceof z.ZodArray) {
      out.push('[]');
      current = unwrap(current.element as z.ZodTypeAny);
    }
    if (current instanceof z.ZodRecord) {
      out.push('*');
      node = current.valueSchema as z.ZodTypeAny;
    } else if (current instanceof z.ZodObject) {
      const child = (current.shape as Record<string, z.ZodTypeAny | undefined>)[part];
      if (child === undefined) return undefined;
      out.push(part);
      node = child;
    } else {
      return undefined;
    }
    if (index === parts.length - 1 && arrayTable && unwrap(node) instanceof z.ZodArray) out.push('[]');
  }
  return out.join('.');
}

// --- reading relay.toml, commented lines included -------------------------------------------------

interface ExampleLine {
  readonly section: string;
  readonly key: string;
  readonly commented: boolean;
  readonly line: number;
  readonly source: string;
}

const HEADER = /^\s*(#\s*)?(\[\[?)\s*([A-Za-z0-9_."-]+)\s*\]\]?\s*(#.*)?$/;
const KEY_LINE = /^\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/;

function readExample(): { lines: ExampleLine[]; headers: Set<string>; unknownHeaders: string[] } {
  const lines: ExampleLine[] = [];
  const headers = new Set<string>();
  const unknownHeaders: string[] = [];
  let section = '';
  text.split('\n').forEach((source, index) => {
    const header = HEADER.exec(source);
    if (header !== null) {
      const pattern = sectionPattern(header[3] ?? '', header[2] === '[[');
      if (pattern === undefined) unknownHeaders.push(`line ${index + 1}: ${source.trim()}`);
      else headers.add(pattern);
      section = pattern ?? '?';
      return;
    }
    const keyLine = KEY_LINE.exec(source);
    if (keyLine !== null) {
      lines.push({
        section,
        key: keyLine[2] ?? '',
        commented: keyLine[1] !== undefined,
        line: index + 1,
        source: source.trim(),
      });
    }
  });
  return { lines, headers, unknownHeaders };
}

const example = readExample();

// --- the tests -------------------------------------------------------------------------------------

describe('relay.toml, the example of every option', () => {
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'relay-example-'));
  afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

  it('loads and validates with the real loader', () => {
    // A copy in an empty folder, so no developer's .env is read; every ${VAR} it uses is provided.
    const copy = path.join(tempDir, 'relay.toml');
    copyFileSync(EXAMPLE, copy);
    const env: Record<string, string> = {};
    for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g))
      env[match[1] ?? ''] = `value-of-${match[1] ?? ''}`;
    const config = loadConfig(copy, { env, cwd: tempDir });
    expect([...config.accounts.keys()].sort()).toEqual([
      'irc.libera',
      'irc.local',
      'kosmi.main',
      'matrix.home',
    ]);
    expect(config.gateways.map((g) => g.name)).toEqual(['movienight']);
    expect(config.general.data_dir).toBe(path.join(tempDir, 'data'));
    // Docker's HEALTHCHECK asks http://127.0.0.1:9090/healthz inside the container.
    expect(config.general.http_listen).toBe('0.0.0.0:9090');
  });

  it('keeps secrets out of the file: every password and token is a ${VAR}', () => {
    const secretKeys = /^(password|sasl_password|nickserv_password|access_token|email)$/;
    const secrets = example.lines.filter((l) => secretKeys.test(l.key));
    expect(secrets.length).toBeGreaterThan(0);
    for (const line of secrets) expect(line.source, `line ${line.line}`).toMatch(/=\s*"\$\{[A-Z_]+\}"/);
  });

  it('lists in .env.example every variable relay.toml mentions and every one src/ reads', () => {
    const listed = new Set(
      [...readFileSync(path.join(REPO, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
        (m) => m[1],
      ),
    );
    const wanted = new Set(
      example.lines.flatMap((l) => [...l.source.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1])),
    );
    const sources = readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    for (const file of sources) {
      const code = readFileSync(path.join(REPO, 'src', file), 'utf8');
      for (const m of code.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)) wanted.add(m[1]);
    }
    expect(wanted.size).toBeGreaterThan(5);
    expect([...wanted].filter((name) => !listed.has(name)).sort()).toEqual([]);
  });

  it('reaches every zod object schema exported from src/config/*.ts from the config schema', async () => {
    const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    const unreachable: string[] = [];
    for (const file of files) {
      const module = (await import(path.join(CONFIG_DIR, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (!(value instanceof z.ZodType)) continue;
        const node = unwrap(value as z.ZodTypeAny);
        if (node instanceof z.ZodObject && !visitedObjects.has(node)) unreachable.push(`${file}: ${name}`);
      }
    }
    // A schema outside configSchema would have keys this test cannot place in relay.toml.
    expect(unreachable).toEqual([]);
  });

  it('names every key of every schema, in its section (commented-out keys count)', () => {
    expect(example.unknownHeaders).toEqual([]);
    const present = new Set(example.lines.map((l) => `${l.section} ${l.key}`));
    const fullPath = (k: SchemaKey): string => (k.section === '' ? k.key : `${k.section}.${k.key}`);
    // A table appears as its header: [general], [irc.NAME], [kosmi.NAME.login_selectors], [[gateway.inout]].
    const tablePresent = (k: SchemaKey): boolean =>
      ['', '.*', '.[]'].some((suffix) => example.headers.has(`${fullPath(k)}${suffix}`));
    const missing = schemaKeys
      .filter((k) => (k.isTable ? !tablePresent(k) : !present.has(`${k.section} ${k.key}`)))
      .map(fullPath);
    expect(missing, 'options missing from relay.toml (add them, commented out with their default)').toEqual(
      [],
    );
  });

  it('has no key the schema does not know (a commented-out typo would mislead users too)', () => {
    const known = new Set(schemaKeys.map((k) => `${k.section} ${k.key}`));
    const unknown = example.lines
      .filter((l) => !known.has(`${l.section} ${l.key}`))
      .map((l) => `line ${l.line}: ${l.source}`);
    expect(unknown).toEqual([]);
  });

  it('shows the default value on every commented-out key that has one', () => {
    const bySection = new Map(schemaKeys.map((k) => [`${k.section} ${k.key}`, k]));
    const wrong: string[] = [];
    for (const line of example.lines.filter((l) => l.commented)) {
      const key = bySection.get(`${line.section} ${line.key}`);
      const fallback = key === undefined ? undefined : defaultOf(key.schema);
      if (fallback === undefined) continue;
      let value: unknown;
      try {
        value = parseToml(line.source.replace(/^#\s*/, ''))[line.key];
      } catch (error) {
        wrong.push(`line ${line.line}: not TOML (${(error as Error).message.split('\n')[0] ?? ''})`);
        continue;
      }
      if (JSON.stringify(value) !== JSON.stringify(fallback.value)) {
        wrong.push(`line ${line.line}: ${line.source} (default: ${JSON.stringify(fallback.value)})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
