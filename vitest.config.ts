import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // One module graph per worker, not per file: importing the SDKs again for each of ~100 files was a
    // third of the suite's time. Tests keep no module-level state that another file could see (no mocks,
    // fresh servers, registries and clocks per test); a test that needs a clean process spawns one.
    isolate: false,
    // Most suites wait on real time (audio is paced at 1×, calls last seconds), not on the CPU: on a 2-core
    // machine the default of one worker per spare core left the CPU idle for most of the run.
    maxWorkers: 4,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
