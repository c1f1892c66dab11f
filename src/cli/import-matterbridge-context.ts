/**
 * Shared state of one `import-matterbridge` run: what was not carried over, what was carried but
 * behaves differently, and the secrets that go to the env file instead of relay.toml.
 */

/** A TOML path of the matterbridge file (e.g. `irc.libera.ColorNicks`) and why. */
export interface Finding {
  readonly path: string;
  readonly reason: string;
}

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

export class ImportContext {
  /** Settings that were dropped: no equivalent, not supported, or invalid. */
  readonly skipped: Finding[] = [];
  /** Settings that were carried but deserve a look (different behaviour, derived values). */
  readonly notes: Finding[] = [];
  /** Env variable name -> the real secret, in the order they were created. */
  readonly secrets = new Map<string, string>();

  skip(path: string, reason: string): void {
    this.skipped.push({ path, reason });
  }

  note(path: string, reason: string): void {
    this.notes.push({ path, reason });
  }

  /**
   * Stores a secret under a deterministic name (IRC_LIBERA_PASSWORD) and returns the `${VAR}`
   * reference for relay.toml. Two accounts whose names reduce to the same variable get _2, _3.
   */
  secret(parts: readonly string[], value: string): string {
    const base = parts
      .join('_')
      .toUpperCase()
      .replace(/[^A-Z0-9_]/g, '_');
    let name = base;
    for (let n = 2; this.secrets.has(name); n++) name = `${base}_${n}`;
    this.secrets.set(name, value);
    return `\${${name}}`;
  }
}

/**
 * matterbridge reads its config through viper, which lower-cases every key: `Nick`, `nick` and
 * `NICK` are the same setting. This view looks keys up case-insensitively and remembers which
 * ones were used, so every key that was not is reported.
 */
export class Section {
  private readonly byLower = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(
    readonly path: string,
    readonly table: Table,
  ) {
    for (const key of Object.keys(table)) this.byLower.set(key.toLowerCase(), key);
  }

  /** The key as written in the file (for paths), or undefined when absent. */
  key(name: string): string | undefined {
    return this.byLower.get(name.toLowerCase());
  }

  pathOf(name: string): string {
    return `${this.path}.${this.key(name) ?? name}`;
  }

  raw(name: string): unknown {
    const key = this.key(name);
    if (key === undefined) return undefined;
    this.used.add(key);
    return this.table[key];
  }

  /** A string setting; '' counts as unset, like matterbridge's GetString. Wrong types are reported. */
  string(name: string, ctx: ImportContext): string | undefined {
    const value = this.raw(name);
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') return value;
    ctx.skip(this.pathOf(name), `expected a string, got ${describe(value)}`);
    return undefined;
  }

  bool(name: string, ctx: ImportContext): boolean | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return value;
    ctx.skip(this.pathOf(name), `expected true or false, got ${describe(value)}`);
    return undefined;
  }

  /** An integer setting; 0 counts as unset, like matterbridge's GetInt defaults. */
  int(name: string, ctx: ImportContext): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isInteger(value)) return value === 0 ? undefined : value;
    if (typeof value === 'bigint') return Number(value);
    ctx.skip(this.pathOf(name), `expected an integer, got ${describe(value)}`);
    return undefined;
  }

  /** Keys not read so far, as written in the file. */
  unused(): string[] {
    return Object.keys(this.table).filter((key) => !this.used.has(key));
  }

  /**
   * Reports every key not read so far, with its reason from `reasons` or the generic one. A key
   * at an "off" value (false, "", 0, []) is not reported: matterbridge did nothing with it either,
   * so the relay behaves the same without it.
   */
  reportUnused(ctx: ImportContext, reasons: Readonly<Record<string, string>>): void {
    for (const key of this.unused()) {
      if (isOff(this.table[key])) continue;
      ctx.skip(`${this.path}.${key}`, reasons[key.toLowerCase()] ?? 'no equivalent in kosmi-relay');
    }
  }
}

function isOff(value: unknown): boolean {
  return value === false || value === '' || value === 0 || (Array.isArray(value) && value.length === 0);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (isTable(value)) return 'a table';
  return typeof value;
}

/** Our loader replaces ${VAR} in every string; a carried value that contains "${" is escaped. */
export function literal(value: string): string {
  // A function, since in a replacement string "$$" would itself mean one "$".
  return value.replace(/\$\{/g, () => '$${');
}

/** Account names here are letters, digits, "_" and "-" (src/config/load.ts). */
export function accountName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return cleaned === '' ? 'account' : cleaned;
}
