import { defineConfig } from 'vitest/config';

/**
 * Two projects, run one after the other by `npm test` (decision, docs/decisions.md "Test layout"):
 *
 * - `unit`: domain, use cases with in-memory fakes, adapters against dynalite and the simulator, CDK
 *   templates. Fast, parallel across both cores.
 * - `system`: whole-server scenarios (integration, reliability, the bench smoke, `cdk synth`, the packed
 *   package in a user app) that start servers and runner processes, build, and wait on real timers.
 *   They run one file at a time: on a 2-core
 *   machine two of them side by side starve each other's timers, and a starved reconciler is not the
 *   behaviour under test.
 */
const SYSTEM = [
  'test/integration/**/*.test.ts',
  'test/reliability/**/*.test.ts',
  'test/bench/bench-smoke.test.ts',
  'test/cdk/cli-synth.test.ts',
  'test/packaging/packed-construct.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: SYSTEM, maxWorkers: 2 },
      },
      {
        extends: true,
        test: { name: 'system', include: SYSTEM, fileParallelism: false, maxWorkers: 1 },
      },
    ],
  },
});
