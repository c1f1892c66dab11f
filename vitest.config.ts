import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The container test builds and runs the Docker image once per test command, in its own step
    // with its own config (test/container/vitest.config.ts), not under each Node version.
    exclude: [...configDefaults.exclude, 'test/container/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and e2e tests start real servers (ngircd, InspIRCd, Chromium) on free loopback
    // ports; two cores cannot run many of them at once without starving timers.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
    reporters: ['default'],
  },
});
