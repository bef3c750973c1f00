import { EnvName } from '../config/env-names.ts';
import type { ConfiguredPool } from '../config/runner-pools.ts';
import { ConfigError } from '../domain/errors.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import { isWarmCapable } from '../ports/warm-launcher.ts';

/**
 * A launcher that routes per pool may say per pool whether it keeps warm runners (the AWS pool router: a
 * codebuild or ec2 pool whose launcher has the warm mode). Without it, the launcher's own capability decides.
 */
interface PerPoolWarmCapability {
  keepsWarm?(pool: string): boolean;
}

/** Whether `pool`'s runners can be kept warm by `launcher`. */
export function keepsWarm(launcher: RunnerLauncher, pool: string): boolean {
  const perPool = (launcher as RunnerLauncher & PerPoolWarmCapability).keepsWarm;
  if (typeof perPool === 'function') return perPool.call(launcher, pool);
  return isWarmCapable(launcher);
}

/**
 * Start-up refuses `warm` on a pool whose launcher cannot keep warm runners, with one line naming the pool
 * and the field (the same shape as the pool parser's errors), instead of a pool that silently stays cold.
 */
export function checkWarmLaunchers(pools: readonly ConfiguredPool[], launcher: RunnerLauncher): void {
  pools.forEach((pool, index) => {
    if (pool.warm === undefined || keepsWarm(launcher, pool.name)) return;
    throw new ConfigError(
      EnvName.runnerPools,
      `pool ${JSON.stringify(pool.name)} (index ${index}): warm: the ${pool.launcher} launcher cannot keep warm runners (remove warm, or use a launcher that can)`,
    );
  });
}
