import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { Config } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import { codeBuildLaunchers } from './launcher-codebuild.ts';
import { ec2Launchers } from './launcher-ec2.ts';
import {
  type PoolLauncherEntry,
  PoolRouterLauncher,
  poolNote,
  poolPlatform,
  refuseLocalPool,
} from './pool-launcher.ts';

/**
 * The launchers a Lambda bundle can be built for: one, or both for a deployment whose pools use both
 * (`LauncherSet` in cdk/constructs/handler-function.ts).
 */
export type BundledLauncher = 'codebuild' | 'ec2' | 'codebuild,ec2';

declare global {
  /**
   * The launchers this bundle carries: a constant the stack's esbuild `define` puts in its place
   * (`launcherDefine` in cdk/constructs/handler-function.ts), never a variable read at run time.
   * Undefined when the sources run unbundled (tests, tsx): then both launchers can be loaded.
   */
  var JR_BUNDLED_LAUNCHER: BundledLauncher | undefined;
}

/**
 * The launcher of a Lambda function: the one pool's launcher, or a {@link PoolRouterLauncher} over one
 * launcher per pool (each pool's CodeBuild project or EC2 launch template). Why each test starts with
 * `globalThis.JR_BUNDLED_LAUNCHER`: in a bundle it is a constant, esbuild folds the test to `false` for a
 * launcher the bundle was not built for, drops that branch, and tree-shakes the launcher module it called
 * together with its client, so a CodeBuild deployment ships no EC2 client (550 KB) and an EC2 one no
 * CodeBuild client; a `codebuild,ec2` bundle keeps both. (Static imports on purpose: with `import()`
 * esbuild kept more of the EC2 client, measured 1,592 KB against 1,293.)
 * A pool whose launcher the bundle does not carry fails the cold start with a ConfigError.
 */
export async function createLambdaLauncher(config: Config, handoff: JitConfigHandoff): Promise<RunnerLauncher> {
  let codebuild: ReturnType<typeof codeBuildLaunchers> | undefined;
  let ec2: ReturnType<typeof ec2Launchers> | undefined;
  const entries: PoolLauncherEntry[] = config.pools.map((pool) => {
    const platform = poolPlatform(pool, config.aws);
    if (platform === undefined) return refuseLocalPool(config, pool);
    if (globalThis.JR_BUNDLED_LAUNCHER !== 'ec2' && platform.kind === 'codebuild') {
      codebuild ??= codeBuildLaunchers(handoff);
      return { platform, launcher: codebuild(platform) };
    }
    if (globalThis.JR_BUNDLED_LAUNCHER !== 'codebuild' && platform.kind === 'ec2') {
      ec2 ??= ec2Launchers(handoff);
      return { platform, launcher: ec2(platform) };
    }
    throw new ConfigError(
      EnvName.launcher,
      `${poolNote(config, pool)}is ${pool.launcher}, but this function was bundled for ${String(globalThis.JR_BUNDLED_LAUNCHER)}: deploy the stack with that launcher`,
    );
  });
  const [only, ...more] = entries;
  if (only && more.length === 0) return only.launcher;
  return new PoolRouterLauncher(entries);
}
