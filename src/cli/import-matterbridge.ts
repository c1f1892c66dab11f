/**
 * `kosmi-relay import-matterbridge PATH [-o relay.toml] [--env-file PATH] [--force]` (issue 10 §3):
 * converts a matterbridge config into relay.toml, writes the secrets to a separate env file
 * (mode 0600) and lists every setting it could not carry over. main.ts loads this module only
 * for this command. Exit codes: 0 written and valid, 1 written but the result does not validate,
 * 2 nothing written (usage, unreadable input, syntax error, no account, file exists).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/load.js';
import { convertMatterbridge, ImportError, type ConvertResult } from './import-matterbridge-convert.js';
import { formatFinding, renderEnv, renderRelayToml } from './import-matterbridge-output.js';

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;
const ENV_FILE_MODE = 0o600;
const DEFAULT_ENV_FILE = '.env.imported';

export const IMPORT_USAGE = `usage: kosmi-relay import-matterbridge PATH [-o relay.toml] [--env-file PATH] [--force]
Converts a matterbridge config (also IRC-kosmi-relay's) into relay.toml (default ./relay.toml).
Secrets go to --env-file (default: .env.imported next to the output, mode 0600).
Existing files are never overwritten without --force.`;

export interface ImportIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly cwd: string;
}

export function runImportMatterbridge(argv: readonly string[], io: ImportIo): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        'env-file': { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${IMPORT_USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help === true) {
    io.out(IMPORT_USAGE);
    return EXIT_OK;
  }
  const [input, ...extra] = parsed.positionals;
  if (input === undefined || extra.length > 0) {
    io.err(IMPORT_USAGE);
    return EXIT_USAGE;
  }
  const source = path.resolve(io.cwd, input);
  const output = path.resolve(io.cwd, parsed.values.output ?? 'relay.toml');
  const envFile = path.resolve(path.dirname(output), parsed.values['env-file'] ?? DEFAULT_ENV_FILE);

  let result: ConvertResult;
  try {
    result = convertMatterbridge(readFileSync(source, 'utf8'));
  } catch (error) {
    if (error instanceof ImportError) {
      io.err(`cannot import ${source}: ${error.message}`);
      return EXIT_USAGE;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    io.err(`cannot read ${source}: ${code}`);
    return EXIT_USAGE;
  }

  const hasSecrets = result.secrets.size > 0;
  const toml = renderRelayToml(
    result,
    path.basename(source),
    hasSecrets ? path.basename(envFile) : undefined,
  );
  const env = renderEnv(result.secrets);
  const targets = hasSecrets ? [output, envFile] : [output];
  const existing = targets.filter((file) => existsSync(file));
  if (existing.length > 0 && parsed.values.force !== true) {
    io.err(`not overwriting ${existing.join(' and ')} (use --force)`);
    return EXIT_USAGE;
  }
  try {
    writeOutputs(output, toml, hasSecrets ? { file: envFile, text: env.text } : undefined);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    io.err(`cannot write ${output}: ${code}`);
    return EXIT_USAGE;
  }

  for (const finding of result.skipped) io.err(`not carried over: ${formatFinding(finding)}`);
  for (const finding of result.notes) io.err(`check: ${formatFinding(finding)}`);
  for (const name of env.unwritable)
    io.err(`${name}: the secret could not be written to ${envFile}; add it by hand`);
  io.out(`wrote ${output}`);
  io.out(
    hasSecrets
      ? `wrote ${result.secrets.size} secrets to ${envFile} (mode 0600): move them into .env`
      : 'no secrets found',
  );
  io.out(
    `${result.skipped.length} settings not carried over, ${result.notes.length} to check (listed above and at the top of ${path.basename(output)})`,
  );
  return validate(toml, output, result, io);
}

/**
 * Creates the output's folder when missing. Existing files were checked before (--force); the env
 * file is created 0600 and chmod'ed too, since the mode option does not apply to an existing file.
 */
function writeOutputs(output: string, toml: string, env: { file: string; text: string } | undefined): void {
  mkdirSync(path.dirname(output), { recursive: true });
  writeFileSync(output, toml, { mode: 0o644 });
  if (env === undefined) return;
  mkdirSync(path.dirname(env.file), { recursive: true });
  writeFileSync(env.file, env.text, { mode: ENV_FILE_MODE });
  chmodSync(env.file, ENV_FILE_MODE);
}

/** Runs the real config validation on the result, with the imported secrets as its environment. */
function validate(toml: string, output: string, result: ConvertResult, io: ImportIo): number {
  try {
    parseConfig(toml, {
      env: Object.fromEntries(result.secrets),
      cwd: path.dirname(output),
      configPath: output,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`the generated config does not validate yet; fix these in ${output}:`);
    for (const line of error.message.split('\n')) io.err(`  ${line}`);
    return EXIT_INVALID;
  }
  io.out('the generated config passes check-config');
  return EXIT_OK;
}
