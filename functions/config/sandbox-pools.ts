import { DEFAULT_POOL_NAME, type RunnerPool } from '../domain/runner-pool.ts';
import type { Config } from './config.ts';
import { EnvName } from './env-names.ts';

/** The sandbox's two sample pools, in matching order: an x64 and an arm64 fleet, both the sample runner. */
export const SANDBOX_POOLS = [
  { name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'] },
  { name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'] },
] as const;

const blank = (value: string | undefined) => (value ?? '').trim() === '';

/**
 * `npm start` / `npm run demo` without a GitHub App and without `RUNNER_POOLS`, `RUNNER_POOLS_FILE` or
 * `RUNNER_LABELS`: the two sample pools instead of the one `default` pool, so the demo shows a pool
 * choosing the job. Each takes the default pool's launcher, runner folder and version. Any of those
 * variables set, or a GitHub App: the configuration as parsed. Why here and not in parseConfig: the
 * parsed configuration stays the same in every mode; only the sandbox commands dress it up.
 */
export function withSandboxPools(config: Config, env: Readonly<Record<string, string | undefined>>): Config {
  if (config.mode !== 'sandbox') return config;
  if (![EnvName.runnerPools, EnvName.runnerPoolsFile, EnvName.runnerLabels].every((name) => blank(env[name]))) {
    return config;
  }
  const base = config.pools.find((pool) => pool.name === DEFAULT_POOL_NAME);
  if (!base || config.pools.length !== 1) return config;
  const { name: _name, labels: _labels, ...shared } = base;
  const pools: RunnerPool[] = SANDBOX_POOLS.map((pool) => ({ ...shared, name: pool.name, labels: [...pool.labels] }));
  return { ...config, pools };
}
