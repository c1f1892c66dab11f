/**
 * Keys renamed in issue 7 §3, accepted for one more release: each maps onto its new key (with its
 * unit converted) and yields one warning naming its TOML path. Setting both the old and the new
 * key is an error. Delete an entry here when its release is over; the schemas never see old keys.
 */
export interface ConfigWarning {
  /** TOML path of the deprecated key, e.g. irc.libera.fatal_retry_seconds. */
  readonly path: string;
  /** What to write instead, with the unit. */
  readonly replacement: string;
  /** One sentence for a human (check-config prints it). */
  readonly message: string;
}

type Problem = { path: string; reason: string };

interface Renamed {
  readonly section: 'irc' | 'kosmi' | 'matrix';
  readonly key: string;
  readonly to: string;
  /** Old value to the new key's unit (seconds). */
  readonly convert: (value: number) => number;
  readonly unit: string;
}

const RENAMED: readonly Renamed[] = [
  {
    section: 'irc',
    key: 'fatal_retry_seconds',
    to: 'retry_failed_seconds',
    convert: (s) => s,
    unit: 'seconds',
  },
  {
    section: 'kosmi',
    key: 'auth_retry_minutes',
    to: 'retry_failed_seconds',
    convert: (m) => m * 60,
    unit: 'minutes',
  },
  {
    section: 'matrix',
    key: 'failed_retry_seconds',
    to: 'retry_failed_seconds',
    convert: (s) => s,
    unit: 'seconds',
  },
];

const isTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/** Returns the data with every deprecated key replaced by its new one; never mutates `data`. */
export function migrateDeprecatedKeys(
  data: unknown,
  problems: Problem[],
  warnings: ConfigWarning[],
): unknown {
  if (!isTable(data)) return data;
  const out: Record<string, unknown> = { ...data };
  for (const rule of RENAMED) {
    const section = out[rule.section];
    if (!isTable(section)) continue;
    const accounts: Record<string, unknown> = { ...section };
    for (const [name, account] of Object.entries(section)) {
      if (!isTable(account) || !(rule.key in account)) continue;
      const oldPath = `${rule.section}.${name}.${rule.key}`;
      const newPath = `${rule.section}.${name}.${rule.to}`;
      const { [rule.key]: value, ...rest } = account;
      // Reported here, at its own path: the schema never sees the old key.
      accounts[name] = rest;
      if (rule.to in account) {
        problems.push({
          path: oldPath,
          reason: `set only ${newPath}: ${rule.key} is its deprecated name (in ${rule.unit}), and both are set`,
        });
        continue;
      }
      if (typeof value !== 'number' || !(value > 0)) {
        problems.push({ path: oldPath, reason: `expected a positive number of ${rule.unit}` });
        continue;
      }
      const seconds = rule.convert(value);
      const replacement =
        rule.unit === 'seconds'
          ? `${rule.to} (seconds)`
          : `${rule.to} (seconds: ${rule.key} = ${value} is ${seconds})`;
      warnings.push({ path: oldPath, replacement, message: `${oldPath} is deprecated: use ${replacement}` });
      accounts[name] = { ...rest, [rule.to]: seconds };
    }
    out[rule.section] = accounts;
  }
  return out;
}
