import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The container test (test/container), run once per test command as its own step of
 * scripts/test-all.sh, not under each Node version: `vitest run --config test/container/vitest.config.ts`.
 * The image build alone can take minutes on a fresh machine.
 */
export default defineConfig({
  root: path.resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/container/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 45 * 60_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default'],
  },
});
