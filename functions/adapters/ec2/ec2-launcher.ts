import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  type Launch,
  LauncherError,
  type LaunchRequest,
  type LaunchSummary,
  LaunchTransientError,
  type RegularRunnerRequest,
} from '../../ports/launcher.ts';
import {
  type WarmBootRequest,
  type WarmHandoffRequest,
  type WarmLaunch,
  type WarmRunnerLauncher,
  warmIdleSeconds,
} from '../../ports/warm-launcher.ts';
import { idempotencyToken } from '../aws/idempotency-token.ts';
import { FLEET_TAG, RunnerEnv, RunnerMode, runnerDigestEntries } from '../aws/runner-env.ts';
import {
  awsErrorCode,
  classifyLaunchError,
  LaunchErrorKind,
  translateLaunchError,
  withLaunchErrors,
} from '../aws/translate-launch-error.ts';
import type { JitConfigHandoff } from '../ssm/jit-config-handoff.ts';
import { fallbackStep, type LaunchTry, launchTries, Market, nextTry } from './launch-tries.ts';

/** Tag naming the pool an instance belongs to (the stack tags its launch templates the same way). */
export const POOL_TAG = 'jit-runners:pool';

export interface Ec2LauncherOptions {
  client: EC2Client;
  handoff: JitConfigHandoff;
  /** `EC2_LAUNCH_TEMPLATE_ID`: AMI, instance profile, IMDSv2, encrypted root volume, user data running the bootstrap. */
  launchTemplateId: string;
  /** Launch template version; default `$Latest` (the stack updates the template in place). */
  launchTemplateVersion?: string;
  /** `EC2_SUBNET_IDS`; empty = the template's network settings. */
  subnetIds?: readonly string[];
  /** `EC2_INSTANCE_TYPE`; unset = the template's type. Ignored when `instanceTypes` lists any. */
  instanceType?: string;
  /**
   * A pool's instance types, tried in order (launch-tries.ts): spot across the list first when
   * `useSpot`, then on-demand across it. Empty or unset: `instanceType`, else the template's type.
   */
  instanceTypes?: readonly string[];
  /** `EC2_USE_SPOT`: try spot first, fall back to on-demand on capacity errors. */
  useSpot?: boolean;
  /**
   * Value of the fleet tag, so two stacks in one account never list or stop each other's runners; the
   * launch template id, which the functions' IAM conditions name.
   */
  fleet: string;
  /** The pool's name, tagged as `jit-runners:pool` on instances and volumes; unset: no pool tag. */
  pool?: string;
}

/** Launches each runner as one EC2 instance that terminates itself after the job. */
export class Ec2Launcher implements WarmRunnerLauncher {
  readonly kind = 'ec2';
  readonly #o: Required<Omit<Ec2LauncherOptions, 'instanceType' | 'instanceTypes' | 'pool'>> & {
    pool: string | undefined;
  };
  readonly #tries: readonly LaunchTry[];
  readonly #severalTypes: boolean;

  constructor(options: Ec2LauncherOptions) {
    const { instanceType, instanceTypes, pool, ...rest } = options;
    this.#o = { launchTemplateVersion: '$Latest', subnetIds: [], useSpot: false, ...rest, pool };
    const types = instanceTypes && instanceTypes.length > 0 ? instanceTypes : instanceType ? [instanceType] : [];
    this.#tries = launchTries(types, this.#o.useSpot);
    this.#severalTypes = types.length > 1;
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    return this.#run(request.runnerName, request.encodedJitConfig, [
      { Key: RunnerEnv.mode, Value: RunnerMode.jit },
      { Key: RunnerEnv.runnerVersion, Value: request.runnerVersion },
      ...runnerDigestEntries(request.runnerSha256).map(([Key, Value]) => ({ Key, Value })),
    ]);
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    return this.#run(request.runnerName, request.registrationToken, [
      { Key: RunnerEnv.mode, Value: RunnerMode.regular },
      { Key: RunnerEnv.runnerVersion, Value: request.runnerVersion },
      { Key: RunnerEnv.url, Value: request.url },
      { Key: RunnerEnv.labels, Value: request.labels.join(',') },
    ]);
  }

  /**
   * Deletes the hand-off planned from `runnerName`: a cold runner's own name, or for a job served warm the
   * warm runner's (its hand-off has the name the warm instance was told at boot, planned from its warm
   * name; the job's runner name plans another one). One DeleteParameter, nothing asked of EC2: the
   * name is computed, so the caller says which runner it was for. Already gone is success.
   */
  async dropHandoff(runnerName: string): Promise<void> {
    await this.#o.handoff.dropFor(runnerName);
  }

  /**
   * Boots a warm runner: the same template, tries and ClientTokens as a cold launch, keyed by the warm
   * name, and nothing written after it. Its instance tags (read by the bootstrap through IMDS, as every
   * JR_* input on EC2) say it is warm (`JR_WARM_IDLE_SECONDS`) and name its future hand-off
   * (`JR_PARAMETER`, planned from the warm name): tags and not per-launch user data, because user data
   * given to RunInstances replaces the template's whole script, and tags are what the bootstrap reads
   * already. It prepares (tarball from the cache, verified, extracted), then polls for that hand-off for
   * at most `maxIdleMs` and shuts down (terminates) when none came.
   */
  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch> {
    const { warmName } = request;
    const tags: Tag[] = [
      { Key: RunnerEnv.warmName, Value: warmName },
      { Key: RunnerEnv.mode, Value: RunnerMode.jit },
      { Key: RunnerEnv.warmIdleSeconds, Value: String(warmIdleSeconds(request.maxIdleMs)) },
      { Key: RunnerEnv.runnerVersion, Value: request.runnerVersion },
      ...runnerDigestEntries(request.runnerSha256).map(([Key, Value]) => ({ Key, Value })),
    ];
    const existing = await this.#findBy(RunnerEnv.warmName, warmName);
    const launched = existing ?? (await this.#runInstances(warmName, tags));
    return { launchId: launched.instance.InstanceId as string, warmName };
  }

  /**
   * Hands the job's JIT config to the warm instance `request.warm`: written (JitConfigHandoff.write: the
   * fleet's key, the expiration, tagged with that instance's ARN, never overwritten) under the name the
   * instance was told at boot, then the instance is tagged with the job's runner name, so `listActive`,
   * runner-events and the orphan sweep see the job's runner. An instance that is gone (not pending or
   * running), not a warm runner of this fleet, already handed to another runner, or on another runner
   * version throws {@link LaunchTransientError}: the caller launches cold. A failed write or tag terminates
   * the instance (as a cold launch's failed write does), so it can never run a config it half got.
   */
  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    const { warm, runnerName } = request;
    const found = await this.#findWarm(warm.launchId);
    if (!found) throw new LaunchTransientError(`warm runner ${warm.warmName} (${warm.launchId}) is gone`);
    const tag = (key: string) => found.instance.Tags?.find((t) => t.Key === key)?.Value;
    if (tag(RunnerEnv.warmName) !== warm.warmName) {
      throw new LaunchTransientError(`instance ${warm.launchId} is not the warm runner ${warm.warmName}`);
    }
    const holder = tag(RunnerEnv.runnerName);
    if (holder !== warm.warmName && holder !== runnerName) {
      throw new LaunchTransientError(
        `warm runner ${warm.warmName} was already handed to ${holder ?? 'another runner'}`,
      );
    }
    const version = tag(RunnerEnv.runnerVersion);
    if (version !== request.runnerVersion) {
      throw new LaunchTransientError(
        `warm runner ${warm.warmName} runs ${version ?? 'an unknown version'}, the job wants ${request.runnerVersion}`,
      );
    }
    const parameter = this.#o.handoff.nameToWrite(tag(RunnerEnv.parameter), undefined);
    try {
      if (!parameter) throw new LaunchTransientError(`warm runner ${warm.warmName} carries no hand-off name`);
      const arn = await this.#instanceArn(warm.launchId, found.ownerId);
      await this.#o.handoff.write(parameter, request.encodedJitConfig, arn, runnerName);
      await withLaunchErrors('ec2:CreateTags', () =>
        this.#o.client.send(
          new CreateTagsCommand({
            Resources: [warm.launchId],
            Tags: [
              { Key: 'Name', Value: runnerName },
              { Key: RunnerEnv.runnerName, Value: runnerName },
            ],
          }),
        ),
      );
    } catch (error) {
      await this.stop(warm.launchId).catch(() => undefined);
      throw error;
    }
  }

  /** The warm instance by id, while pending or running (a terminated one stays listed for about an hour). */
  async #findWarm(instanceId: string): Promise<{ instance: Instance; ownerId: string | undefined } | undefined> {
    const out = await withLaunchErrors('ec2:DescribeInstances', () =>
      this.#o.client.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'instance-id', Values: [instanceId] },
            { Name: `tag:${FLEET_TAG}`, Values: [this.#o.fleet] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        }),
      ),
    );
    for (const reservation of out.Reservations ?? []) {
      const instance = reservation.Instances?.find((i) => i.InstanceId === instanceId);
      if (instance) return { instance, ownerId: reservation.OwnerId };
    }
    return undefined;
  }

  /**
   * Launch first, then hand off (docs/decisions.md "Per-runner hand-off"): the hand-off is tagged with
   * the instance ARN, which exists only once RunInstances answered. The runner waits for its parameter.
   */
  async #run(runnerName: string, secret: string, tags: Tag[]): Promise<Launch> {
    // Why look first: ClientToken makes an identical retry safe, but a retry after a spot → on-demand
    // fallback would repeat the spot call (a different token) and could start a second instance.
    const existing = await this.#findBy(RunnerEnv.runnerName, runnerName);
    const launched = existing ?? (await this.#runInstances(runnerName, tags));
    const instanceId = launched.instance.InstanceId as string;
    // The instance was told its parameter name in a tag: write that one (for an instance of an earlier
    // try it is that try's name, and ParameterAlreadyExists then means that try wrote it).
    const told = launched.instance.Tags?.find((t) => t.Key === RunnerEnv.parameter)?.Value;
    const parameter = this.#o.handoff.nameToWrite(told, launched.planned);
    try {
      if (!parameter) throw new LaunchTransientError(`instance ${instanceId} carries no hand-off name`);
      const arn = await this.#instanceArn(instanceId, launched.ownerId);
      await this.#o.handoff.write(parameter, secret, arn, runnerName);
    } catch (error) {
      // Why terminate: the instance would wait for a hand-off that never comes and then fail; ending it
      // now frees the slot, and the provisioner retries under the next attempt's name (new tokens).
      await this.stop(instanceId).catch(() => undefined);
      throw error;
    }
    return { launchId: instanceId };
  }

  /** The ARN `ec2:SourceInstanceARN` carries for requests signed with the instance's role credentials. */
  async #instanceArn(instanceId: string, ownerId: string | undefined): Promise<string> {
    const region = await this.#o.client.config.region();
    if (!ownerId) throw new LaunchTransientError(`ec2 answered without the owner of ${instanceId}`);
    return `arn:${partitionOf(region)}:ec2:${region}:${ownerId}:instance/${instanceId}`;
  }

  async #runInstances(
    runnerName: string,
    tags: Tag[],
  ): Promise<{ instance: Instance; ownerId: string | undefined; planned: string }> {
    const planned = this.#o.handoff.plan(runnerName);
    const pool: Tag[] = this.#o.pool === undefined ? [] : [{ Key: POOL_TAG, Value: this.#o.pool }];
    const allTags: Tag[] = [
      { Key: 'Name', Value: runnerName },
      { Key: FLEET_TAG, Value: this.#o.fleet },
      ...pool,
      { Key: RunnerEnv.runnerName, Value: runnerName },
      { Key: RunnerEnv.parameter, Value: planned },
      ...tags,
    ];
    const subnet = this.#subnetFor(runnerName);
    const tries = this.#tries;
    const tried: string[] = [];
    let lastError: unknown;
    for (let index: number | undefined = 0; index !== undefined; ) {
      const attempt = tries[index] as LaunchTry;
      try {
        const out = await this.#o.client.send(
          new RunInstancesCommand(this.#input(runnerName, attempt, subnet, allTags)),
        );
        const instance = out.Instances?.[0];
        if (!instance?.InstanceId) throw new LaunchTransientError('ec2:RunInstances answered without an instance id');
        return { instance, ownerId: out.OwnerId, planned };
      } catch (error) {
        lastError = translateLaunchError(error, 'ec2:RunInstances');
        const code = awsErrorCode(error);
        tried.push(`${attempt.market} ${attempt.instanceType ?? "the template's type"}: ${code}`);
        const capacity = classifyLaunchError(error) === LaunchErrorKind.capacity;
        index = nextTry(tries, index, fallbackStep(code, capacity, attempt.market));
      }
    }
    // Nothing was written before the launch, so a failed launch leaves no hand-off behind.
    throw withTries(lastError, tried);
  }

  #input(runnerName: string, attempt: LaunchTry, subnet: string | undefined, tags: Tag[]): RunInstancesCommandInput {
    const { market, instanceType } = attempt;
    // Per market (and type, when the pool lists several) so a fallback call is not an
    // IdempotentParameterMismatch of the call before it. One type: the market alone, as before pools.
    const variant = this.#severalTypes ? `${market}:${instanceType}` : market;
    return {
      LaunchTemplate: { LaunchTemplateId: this.#o.launchTemplateId, Version: this.#o.launchTemplateVersion },
      MinCount: 1,
      MaxCount: 1,
      ClientToken: idempotencyToken(runnerName, variant),
      ...(instanceType ? { InstanceType: instanceType as RunInstancesCommandInput['InstanceType'] } : {}),
      ...(subnet ? { SubnetId: subnet } : {}),
      ...(market === Market.spot
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
            },
          }
        : {}),
      InstanceInitiatedShutdownBehavior: 'terminate',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        {
          ResourceType: 'volume',
          Tags: tags.filter((t) => t.Key === 'Name' || t.Key === FLEET_TAG || t.Key === POOL_TAG),
        },
      ],
    };
  }

  /** Deterministic per runner name, so a retried call repeats exactly the same parameters. */
  #subnetFor(runnerName: string): string | undefined {
    const subnets = this.#o.subnetIds;
    if (subnets.length === 0) return undefined;
    let h = 0;
    for (const c of runnerName) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return subnets[h % subnets.length];
  }

  /** A live instance of this fleet whose tag `key` is `value` (the runner name, or a warm runner's name). */
  async #findBy(
    key: RunnerEnv,
    value: string,
  ): Promise<{ instance: Instance; ownerId: string | undefined; planned: undefined } | undefined> {
    const out = await withLaunchErrors('ec2:DescribeInstances', () =>
      this.#o.client.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${FLEET_TAG}`, Values: [this.#o.fleet] },
            { Name: `tag:${key}`, Values: [value] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        }),
      ),
    );
    for (const reservation of out.Reservations ?? []) {
      const instance = reservation.Instances?.find((i) => i.InstanceId);
      if (instance) return { instance, ownerId: reservation.OwnerId, planned: undefined };
    }
    return undefined;
  }

  async stop(launchId: string): Promise<void> {
    try {
      await this.#o.client.send(new TerminateInstancesCommand({ InstanceIds: [launchId] }));
    } catch (error) {
      if (awsErrorCode(error) === 'InvalidInstanceID.NotFound') return;
      throw translateLaunchError(error, 'ec2:TerminateInstances');
    }
  }

  async listActive(): Promise<LaunchSummary[]> {
    const active: LaunchSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withLaunchErrors('ec2:DescribeInstances', () =>
        this.#o.client.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: `tag:${FLEET_TAG}`, Values: [this.#o.fleet] },
              { Name: 'instance-state-name', Values: ['pending', 'running'] },
            ],
            MaxResults: 100,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
      );
      for (const instance of page.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
        const runnerName = instance.Tags?.find((t) => t.Key === RunnerEnv.runnerName)?.Value;
        if (!instance.InstanceId || !runnerName) continue;
        active.push({ launchId: instance.InstanceId, runnerName, startedAt: instance.LaunchTime?.getTime() ?? 0 });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return active;
  }
}

/** The partition of a region, as in ARNs (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso`…). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/**
 * The last error of a launch that tried several instance types or markets, its message listing every
 * try (the job's failure reason then says what was tried). Error codes only: no request value.
 */
function withTries(error: unknown, tried: readonly string[]): unknown {
  if (tried.length < 2 || !(error instanceof LauncherError)) return error;
  const Same = error.constructor as new (message: string, options?: { cause?: unknown }) => LauncherError;
  return new Same(`${error.message} (tried ${tried.join(', ')})`, { cause: error.cause });
}
