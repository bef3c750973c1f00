import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { idempotencyToken } from '../../../functions/adapters/aws/idempotency-token.ts';
import { Ec2Launcher, type Ec2LauncherOptions } from '../../../functions/adapters/ec2/ec2-launcher.ts';
import { FallbackStep, fallbackStep, launchTries, nextTry } from '../../../functions/adapters/ec2/launch-tries.ts';
import { JitConfigHandoff } from '../../../functions/adapters/ssm/jit-config-handoff.ts';
import {
  LaunchCapacityError,
  LaunchConfigError,
  type LaunchRequest,
  LaunchTransientError,
} from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

const TEMPLATE = 'lt-0123456789abcdef0';
const launcher = (options: Partial<Ec2LauncherOptions> = {}) =>
  new Ec2Launcher({
    client: new EC2Client({ region: 'eu-west-1' }),
    handoff: new JitConfigHandoff({
      client: new SSMClient({ region: 'eu-west-1' }),
      prefix: '/jr/jit',
      nameKey: 'functions-only key',
    }),
    launchTemplateId: TEMPLATE,
    subnetIds: ['subnet-a'],
    instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
    useSpot: true,
    fleet: TEMPLATE,
    pool: 'arm64-large',
    ...options,
  });

const request: LaunchRequest = {
  runnerName: 'jr-42-1',
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/repo',
  labels: ['self-hosted', 'linux', 'arm64', 'large'],
  runnerVersion: '2.330.0',
  pool: 'arm64-large',
  encodedJitConfig: 'SECRET-JIT-CONFIG',
};

const SPOT = {
  MarketType: 'spot',
  SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
};
const runs = () => ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
/** Each RunInstances call as `<market> <type>`. */
const order = () =>
  runs().map((input) => `${input.InstanceMarketOptions ? 'spot' : 'on-demand'} ${input.InstanceType ?? 'template'}`);

describe('launchTries', () => {
  it('tries spot across every type in order, then on-demand across the same list', () => {
    expect(launchTries(['a.large', 'b.large'], true)).toEqual([
      { market: 'spot', instanceType: 'a.large' },
      { market: 'spot', instanceType: 'b.large' },
      { market: 'on-demand', instanceType: 'a.large' },
      { market: 'on-demand', instanceType: 'b.large' },
    ]);
  });

  it('tries only on-demand without spot, and the template type when the pool lists none', () => {
    expect(launchTries(['a.large'], false)).toEqual([{ market: 'on-demand', instanceType: 'a.large' }]);
    expect(launchTries([], true)).toEqual([
      { market: 'spot', instanceType: undefined },
      { market: 'on-demand', instanceType: undefined },
    ]);
  });
});

describe('fallbackStep', () => {
  it.each([
    ['InsufficientInstanceCapacity', true, 'spot', FallbackStep.nextType],
    ['InsufficientInstanceCapacity', true, 'on-demand', FallbackStep.nextType],
    ['Unsupported', false, 'on-demand', FallbackStep.nextType],
    ['SpotMaxPriceTooLow', true, 'spot', FallbackStep.nextType],
    ['MaxSpotInstanceCountExceeded', true, 'spot', FallbackStep.nextMarket],
    ['VcpuLimitExceeded', true, 'spot', FallbackStep.nextMarket],
    ['VcpuLimitExceeded', true, 'on-demand', FallbackStep.stop],
    ['RequestLimitExceeded', false, 'spot', FallbackStep.stop],
    ['UnauthorizedOperation', false, 'spot', FallbackStep.stop],
    ['InvalidLaunchTemplateId.NotFound', false, 'on-demand', FallbackStep.stop],
  ] as const)('%s (capacity: %s) in %s: %s', (code, capacity, market, step) => {
    expect(fallbackStep(code, capacity, market)).toBe(step);
  });

  it('skips the rest of the market on next-market and ends after the last try', () => {
    const tries = launchTries(['a.large', 'b.large', 'c.large'], true);
    expect(nextTry(tries, 0, FallbackStep.nextMarket)).toBe(3);
    expect(nextTry(tries, 0, FallbackStep.nextType)).toBe(1);
    expect(nextTry(tries, 5, FallbackStep.nextType)).toBeUndefined();
    expect(nextTry(tries, 3, FallbackStep.nextMarket)).toBeUndefined();
    expect(nextTry(tries, 0, FallbackStep.stop)).toBeUndefined();
  });
});

describe('Ec2Launcher with a pool of several instance types', () => {
  beforeEach(() => {
    ec2.reset();
    ssm.reset();
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  });

  it('asks for the first type on spot from the pool template, tagged with the pool and the template as fleet', async () => {
    ec2.on(RunInstancesCommand).resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0aaa' }] });
    expect(await launcher().launch(request)).toEqual({ launchId: 'i-0aaa' });
    const tags = [
      { Key: 'Name', Value: 'jr-42-1' },
      { Key: 'jit-runners:fleet', Value: TEMPLATE },
      { Key: 'jit-runners:pool', Value: 'arm64-large' },
      { Key: 'JR_RUNNER_NAME', Value: 'jr-42-1' },
      { Key: 'JR_PARAMETER', Value: expect.stringMatching(/^\/jr\/jit\/jr-42-1-[0-9a-f]{32}$/) },
      { Key: 'JR_MODE', Value: 'jit' },
      { Key: 'JR_RUNNER_VERSION', Value: '2.330.0' },
    ];
    expect(runs()).toEqual([
      {
        LaunchTemplate: { LaunchTemplateId: TEMPLATE, Version: '$Latest' },
        MinCount: 1,
        MaxCount: 1,
        ClientToken: idempotencyToken('jr-42-1', 'spot:m7g.xlarge'),
        InstanceType: 'm7g.xlarge',
        SubnetId: 'subnet-a',
        InstanceMarketOptions: SPOT,
        InstanceInitiatedShutdownBehavior: 'terminate',
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags.slice(0, 3) },
        ],
      },
    ]);
    // The instance is looked up by the pool's fleet tag before any launch (a retry after a fallback).
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters?.[0]).toEqual({
      Name: 'tag:jit-runners:fleet',
      Values: [TEMPLATE],
    });
  });

  it('on capacity errors tries spot across the list, then on-demand across it, each call with its own ClientToken', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity'))
      .rejectsOnce(awsError('SpotMaxPriceTooLow'))
      .rejectsOnce(awsError('InsufficientInstanceCapacity'))
      .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0ddd' }] });
    expect(await launcher().launch(request)).toEqual({ launchId: 'i-0ddd' });
    expect(order()).toEqual(['spot m7g.xlarge', 'spot m6g.xlarge', 'on-demand m7g.xlarge', 'on-demand m6g.xlarge']);
    expect(runs().map((r) => r.ClientToken)).toEqual([
      idempotencyToken('jr-42-1', 'spot:m7g.xlarge'),
      idempotencyToken('jr-42-1', 'spot:m6g.xlarge'),
      idempotencyToken('jr-42-1', 'on-demand:m7g.xlarge'),
      idempotencyToken('jr-42-1', 'on-demand:m6g.xlarge'),
    ]);
    expect(new Set(runs().map((r) => r.LaunchTemplate?.LaunchTemplateId))).toEqual(new Set([TEMPLATE]));
    expect(new Set(runs().map((r) => r.SubnetId))).toEqual(new Set(['subnet-a']));
  });

  it('tries the next type when a type is not offered in the zone (Unsupported)', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('Unsupported'))
      .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0bbb' }] });
    expect(await launcher({ useSpot: false }).launch(request)).toEqual({ launchId: 'i-0bbb' });
    expect(order()).toEqual(['on-demand m7g.xlarge', 'on-demand m6g.xlarge']);
  });

  it('goes straight to on-demand when the spot quota is used up', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('MaxSpotInstanceCountExceeded'))
      .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0ccc' }] });
    expect(await launcher().launch(request)).toEqual({ launchId: 'i-0ccc' });
    expect(order()).toEqual(['spot m7g.xlarge', 'on-demand m7g.xlarge']);
  });

  it.each([
    ['UnauthorizedOperation', LaunchConfigError],
    ['RequestLimitExceeded', LaunchTransientError],
    ['InvalidLaunchTemplateId.NotFound', LaunchConfigError],
  ])('does not retry %s across types or markets', async (code, type) => {
    ec2.on(RunInstancesCommand).rejects(awsError(code));
    const error = await launcher()
      .launch(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(`ec2:RunInstances failed: ${code}`);
    expect(order()).toEqual(['spot m7g.xlarge']);
  });

  it('fails as capacity, naming every try, when no type has room in either market, and writes no hand-off', async () => {
    ec2.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity'));
    const error = await launcher()
      .launch(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchCapacityError);
    expect((error as Error).message).toBe(
      'ec2:RunInstances failed: InsufficientInstanceCapacity (tried spot m7g.xlarge: InsufficientInstanceCapacity, spot m6g.xlarge: InsufficientInstanceCapacity, on-demand m7g.xlarge: InsufficientInstanceCapacity, on-demand m6g.xlarge: InsufficientInstanceCapacity)',
    );
    expect(order()).toHaveLength(4);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(JSON.stringify((error as Error).message)).not.toContain('SECRET');
  });

  it('stops on-demand at an account quota: another type counts against the same quota', async () => {
    ec2.on(RunInstancesCommand).rejects(awsError('VcpuLimitExceeded'));
    await expect(launcher({ useSpot: false }).launch(request)).rejects.toBeInstanceOf(LaunchCapacityError);
    expect(order()).toEqual(['on-demand m7g.xlarge']);
  });

  it("uses the template's type when the pool lists none", async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity'))
      .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0eee' }] });
    await launcher({ instanceTypes: [] }).launch(request);
    expect(order()).toEqual(['spot template', 'on-demand template']);
    expect(runs().map((r) => r.ClientToken)).toEqual([
      idempotencyToken('jr-42-1', 'spot'),
      idempotencyToken('jr-42-1', 'on-demand'),
    ]);
  });
});
