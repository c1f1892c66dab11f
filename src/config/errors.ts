/** A configuration problem, always tied to its TOML path (issue 2 §2). */
export class ConfigError extends Error {
  readonly problems: readonly { path: string; reason: string }[];

  constructor(problems: readonly { path: string; reason: string }[]) {
    super(problems.map((p) => (p.path === '' ? p.reason : `${p.path}: ${p.reason}`)).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }

  static at(path: string, reason: string): ConfigError {
    return new ConfigError([{ path, reason }]);
  }
}

/** ['gateway', 0, 'inout', 1, 'account'] -> 'gateway[0].inout[1].account' */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
