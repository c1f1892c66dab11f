import { readFileSync } from 'node:fs';

/**
 * The relay's version from package.json: two levels up from both src/health and dist/health, and
 * copied into the Docker image next to dist/. "unknown" when it cannot be read.
 */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown'; // the status page still works; it only cannot say which version runs
  }
}
