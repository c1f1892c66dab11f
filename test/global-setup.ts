import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * e2e tests run the built daemon (dist/main.js). Rebuild once before the run when any source file
 * is newer than the build, so a test never runs yesterday's code.
 */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  const built = path.join(root, 'dist', 'main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(path.join(root, 'src'))) return;
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  } catch (error) {
    // The test command builds (and fails) on its own before the suite; here a broken build only
    // means e2e tests run the previous dist/, which is said loudly.
    if (!existsSync(built)) throw error;
    process.stderr.write('global-setup: build failed; e2e tests use the previous dist/\n');
  }
}
