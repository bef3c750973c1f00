import type { Config } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import type { ConfiguredPool } from '../config/runner-pools.ts';
import { ConfigError } from '../domain/errors.ts';
import { LauncherKind } from '../domain/launcher-kind.ts';
import {
  type Launch,
  LaunchConfigError,
  type LaunchRequest,
  type LaunchSummary,
  type RegularRunnerRequest,
  type RunnerLauncher,
} from '../ports/launcher.ts';
import {
  isWarmCapable,
  type WarmBootRequest,
  type WarmHandoffRequest,
  type WarmLaunch,
  type WarmRunnerLauncher,
} from '../ports/warm-launcher.ts';

/** Where one AWS pool's runners start: its own resources, or the single-launcher variables. */
export type PoolPlatform =
  | { readonly kind: 'codebuild'; readonly pool: string; readonly projectName: string }
  | {
      readonly kind: 'ec2';
      readonly pool: string;
      readonly launchTemplateId: string;
      readonly instanceTypes: readonly string[];
      readonly subnetIds: readonly string[];
      readonly spot: boolean;
    };

/**
 * The platform of an AWS pool: its `codebuild`/`ec2` from the pool list, else `CODEBUILD_PROJECT_NAME` /
 * `EC2_LAUNCH_TEMPLATE_ID`, `EC2_INSTANCE_TYPE`, `EC2_SUBNET_IDS`, `EC2_USE_SPOT` (a deployment from
 * before pools). Undefined for a `local` pool. `parseConfig` has already refused an AWS pool with
 * neither in Lambda.
 */
export function poolPlatform(pool: ConfiguredPool, aws: Config['aws']): PoolPlatform | undefined {
  switch (pool.launcher) {
    case LauncherKind.codebuild:
      return {
        kind: 'codebuild',
        pool: pool.name,
        projectName: pool.codebuild?.projectName ?? aws.codebuildProjectName ?? '',
      };
    case LauncherKind.ec2:
      return pool.ec2
        ? { kind: 'ec2', pool: pool.name, ...pool.ec2 }
        : {
            kind: 'ec2',
            pool: pool.name,
            launchTemplateId: aws.ec2LaunchTemplateId ?? '',
            instanceTypes: aws.ec2InstanceType ? [aws.ec2InstanceType] : [],
            subnetIds: aws.ec2SubnetIds,
            spot: aws.ec2UseSpot,
          };
    case LauncherKind.local:
      return undefined;
  }
}

/** The CodeBuild projects of every codebuild pool, each once (runner-events maps log streams with them). */
export function codebuildProjects(config: Pick<Config, 'pools' | 'aws'>): string[] {
  const names = config.pools
    .map((pool) => poolPlatform(pool, config.aws))
    .flatMap((p) => (p?.kind === 'codebuild' ? [p.projectName] : []));
  return [...new Set(names.filter(Boolean))];
}

/** The platform a launch id belongs to, by its shape: EC2 instance ids, CodeBuild `<project>:<build uuid>`. */
export function launchIdPlatform(
  launchId: string,
): { kind: 'ec2' } | { kind: 'codebuild'; projectName: string } | undefined {
  if (/^i-[0-9a-f]+$/.test(launchId)) return { kind: 'ec2' };
  const colon = launchId.lastIndexOf(':');
  if (colon > 0 && /^[0-9a-f-]{36}$/.test(launchId.slice(colon + 1))) {
    return { kind: 'codebuild', projectName: launchId.slice(0, colon) };
  }
  return undefined;
}

/** One pool's launcher, and the resource that tells its launches apart (project name / launch template id). */
export interface PoolLauncherEntry {
  readonly platform: PoolPlatform;
  readonly launcher: RunnerLauncher;
}

const resourceOf = (p: PoolPlatform) => (p.kind === 'codebuild' ? p.projectName : p.launchTemplateId);

/**
 * A launcher over several pools, each with its own launcher (CodeBuild project or EC2 launch template):
 * `launch` and `launchRegular` go to the launcher of the request's pool (no pool: the first, as a request
 * from before pools); `stop` goes by the launch id's shape (a build of a pool's project to that pool, any
 * other build to a CodeBuild pool, an instance to an EC2 pool: TerminateInstances names the instance, and
 * the functions may terminate the instances of every pool's template); `listActive` is the union, each
 * project or template listed once. A failed listing fails the whole listing: a partial one would look
 * like runners ended, and free capacity slots of runners still alive.
 */
export class PoolRouterLauncher implements WarmRunnerLauncher {
  readonly kind = 'pools';
  readonly #entries: readonly PoolLauncherEntry[];
  readonly #byPool: ReadonlyMap<string, PoolLauncherEntry>;

  constructor(entries: readonly PoolLauncherEntry[]) {
    if (entries.length === 0) throw new Error('PoolRouterLauncher needs at least one pool');
    this.#entries = entries;
    this.#byPool = new Map(entries.map((e) => [e.platform.pool, e]));
  }

  #launcherOf(pool: string | undefined): RunnerLauncher {
    const entry = pool === undefined ? this.#entries[0] : this.#byPool.get(pool);
    if (!entry) {
      const known = this.#entries.map((e) => e.platform.pool).join(', ');
      throw new LaunchConfigError(`no pool named ${JSON.stringify(pool)} in this deployment (pools: ${known})`);
    }
    return entry.launcher;
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    return this.#launcherOf(request.pool).launch(request);
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    return this.#launcherOf(request.pool).launchRegular(request);
  }

  /** Warm runners go to the launcher of their pool; a pool whose launcher keeps none is a config error. */
  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch> {
    return this.#warmLauncherOf(request.pool).bootWarm(request);
  }

  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    await this.#warmLauncherOf(request.pool).handOffWarm(request);
  }

  /** Whether `pool`'s own launcher has a warm mode (start-up refuses `warm` on a pool whose launcher has none). */
  keepsWarm(pool: string): boolean {
    const entry = this.#byPool.get(pool);
    return entry !== undefined && isWarmCapable(entry.launcher);
  }

  #warmLauncherOf(pool: string | undefined): WarmRunnerLauncher {
    const launcher = this.#launcherOf(pool);
    if (!isWarmCapable(launcher)) {
      throw new LaunchConfigError(
        `pool ${JSON.stringify(pool)}: its launcher (${launcher.kind}) keeps no warm runners`,
      );
    }
    return launcher;
  }

  async stop(launchId: string): Promise<void> {
    const shape = launchIdPlatform(launchId);
    const sameKind = this.#entries.filter((e) => e.platform.kind === shape?.kind);
    const entry =
      (shape?.kind === 'codebuild' && sameKind.find((e) => resourceOf(e.platform) === shape.projectName)) ||
      sameKind[0];
    if (!entry) throw new LaunchConfigError(`no pool of this deployment launched ${launchId}`);
    await entry.launcher.stop(launchId);
  }

  /**
   * Every pool's launcher hands off under the one prefix and name key: the first that hands off out of band
   * deletes, so a warm runner's hand-off (by its warm name) is found whichever pool it waited in.
   */
  async dropHandoff(runnerName: string): Promise<void> {
    await this.#entries.find((e) => e.launcher.dropHandoff)?.launcher.dropHandoff?.(runnerName);
  }

  async listActive(): Promise<LaunchSummary[]> {
    const listers = new Map<string, RunnerLauncher>();
    for (const { platform, launcher } of this.#entries) {
      const key = `${platform.kind}:${resourceOf(platform)}`;
      if (!listers.has(key)) listers.set(key, launcher);
    }
    const lists = await Promise.all([...listers.values()].map((l) => l.listActive()));
    const seen = new Set<string>();
    return lists.flat().filter((launch) => !seen.has(launch.launchId) && seen.add(launch.launchId));
  }
}

/** The pool named in a launcher error about it: none for the one implicit pool of a deployment without a list. */
export function poolNote(config: Pick<Config, 'pools'>, pool: ConfiguredPool): string {
  return config.pools.length === 1 && pool.name === 'default' ? '' : `pool ${JSON.stringify(pool.name)}: `;
}

/** Local pools cannot run in AWS. */
export function refuseLocalPool(config: Pick<Config, 'pools'>, pool: ConfiguredPool): never {
  throw new ConfigError(
    EnvName.launcher,
    `${poolNote(config, pool)}must be codebuild or ec2 in AWS (the local launcher runs processes on this machine)`,
  );
}
