import {
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
  LaunchCapacityError,
  LaunchConfigError,
  type LaunchRequest,
  type LaunchSummary,
  LaunchTransientError,
  type RegularRunnerRequest,
  type RunnerLauncher,
} from '../../ports/launcher.ts';
import { idempotencyToken } from '../aws/idempotency-token.ts';
import { FLEET_TAG, RunnerEnv, RunnerMode } from '../aws/runner-env.ts';
import { awsErrorCode, translateLaunchError, withLaunchErrors } from '../aws/translate-launch-error.ts';
import type { JitConfigHandoff } from '../ssm/jit-config-handoff.ts';

export interface Ec2LauncherOptions {
  client: EC2Client;
  handoff: JitConfigHandoff;
  /** `EC2_LAUNCH_TEMPLATE_ID`: AMI, instance profile, IMDSv2, encrypted root volume, user data running the bootstrap. */
  launchTemplateId: string;
  /** Launch template version; default `$Latest` (the stack updates the template in place). */
  launchTemplateVersion?: string;
  /** `EC2_SUBNET_IDS`; empty = the template's network settings. */
  subnetIds?: readonly string[];
  /** `EC2_INSTANCE_TYPE`; unset = the template's type. */
  instanceType?: string;
  /** `EC2_USE_SPOT`: try spot first, fall back to on-demand on capacity errors. */
  useSpot?: boolean;
  /** Value of the fleet tag, so two stacks in one account never list or stop each other's runners. */
  fleet: string;
}

type Market = 'spot' | 'on-demand';

/** Launches each runner as one EC2 instance that terminates itself after the job. */
export class Ec2Launcher implements RunnerLauncher {
  readonly kind = 'ec2';
  readonly #o: Required<Omit<Ec2LauncherOptions, 'instanceType'>> & { instanceType: string | undefined };

  constructor(options: Ec2LauncherOptions) {
    this.#o = {
      launchTemplateVersion: '$Latest',
      subnetIds: [],
      useSpot: false,
      ...options,
      instanceType: options.instanceType,
    };
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    const parameter = await this.#o.handoff.put(request.runnerName, request.encodedJitConfig);
    return this.#run(request.runnerName, [
      { Key: RunnerEnv.mode, Value: RunnerMode.jit },
      { Key: RunnerEnv.parameter, Value: parameter },
      { Key: RunnerEnv.runnerVersion, Value: request.runnerVersion },
    ]);
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    const parameter = await this.#o.handoff.put(request.runnerName, request.registrationToken);
    return this.#run(request.runnerName, [
      { Key: RunnerEnv.mode, Value: RunnerMode.regular },
      { Key: RunnerEnv.parameter, Value: parameter },
      { Key: RunnerEnv.runnerVersion, Value: request.runnerVersion },
      { Key: RunnerEnv.url, Value: request.url },
      { Key: RunnerEnv.labels, Value: request.labels.join(',') },
    ]);
  }

  async #run(runnerName: string, tags: Tag[]): Promise<Launch> {
    // Why look first: ClientToken makes an identical retry safe, but a retry after a spot → on-demand
    // fallback would repeat the spot call (a different token) and could start a second instance.
    const existing = await this.#findByRunnerName(runnerName);
    if (existing?.InstanceId) return { launchId: existing.InstanceId };

    const allTags: Tag[] = [
      { Key: 'Name', Value: runnerName },
      { Key: FLEET_TAG, Value: this.#o.fleet },
      { Key: RunnerEnv.runnerName, Value: runnerName },
      ...tags,
    ];
    const subnet = this.#subnetFor(runnerName);
    const markets: Market[] = this.#o.useSpot ? ['spot', 'on-demand'] : ['on-demand'];
    let lastError: unknown;
    for (const market of markets) {
      try {
        const out = await withLaunchErrors('ec2:RunInstances', () =>
          this.#o.client.send(new RunInstancesCommand(this.#input(runnerName, market, subnet, allTags))),
        );
        const id = out.Instances?.[0]?.InstanceId;
        if (!id) throw new LaunchTransientError('ec2:RunInstances answered without an instance id');
        return { launchId: id };
      } catch (error) {
        lastError = error;
        if (market === 'spot' && error instanceof LaunchCapacityError) continue;
        break;
      }
    }
    // Same reasoning as CodeBuild: only drop the hand-off when no instance can have started.
    if (lastError instanceof LaunchConfigError || lastError instanceof LaunchCapacityError) {
      await this.#o.handoff.delete(runnerName).catch(() => undefined);
    }
    throw lastError;
  }

  #input(runnerName: string, market: Market, subnet: string | undefined, tags: Tag[]): RunInstancesCommandInput {
    return {
      LaunchTemplate: { LaunchTemplateId: this.#o.launchTemplateId, Version: this.#o.launchTemplateVersion },
      MinCount: 1,
      MaxCount: 1,
      // Per market so the on-demand fallback is not an IdempotentParameterMismatch of the spot call.
      ClientToken: idempotencyToken(runnerName, market),
      ...(this.#o.instanceType
        ? { InstanceType: this.#o.instanceType as RunInstancesCommandInput['InstanceType'] }
        : {}),
      ...(subnet ? { SubnetId: subnet } : {}),
      ...(market === 'spot'
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
        { ResourceType: 'volume', Tags: tags.filter((t) => t.Key === 'Name' || t.Key === FLEET_TAG) },
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

  async #findByRunnerName(runnerName: string): Promise<Instance | undefined> {
    const out = await withLaunchErrors('ec2:DescribeInstances', () =>
      this.#o.client.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${FLEET_TAG}`, Values: [this.#o.fleet] },
            { Name: `tag:${RunnerEnv.runnerName}`, Values: [runnerName] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        }),
      ),
    );
    return out.Reservations?.flatMap((r) => r.Instances ?? [])[0];
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
