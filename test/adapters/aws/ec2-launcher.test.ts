import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { idempotencyToken } from '../../../functions/adapters/aws/idempotency-token.ts';
import { Ec2Launcher, type Ec2LauncherOptions } from '../../../functions/adapters/ec2/ec2-launcher.ts';
import {
  LaunchCapacityError,
  LaunchConfigError,
  type LaunchRequest,
  LaunchTransientError,
} from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';
import { handoff, NOW } from './handoff-fixture.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

const HANDOFF = handoff.plan('jr-42-1');
const INSTANCE_ARN = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1';
/** Every command sent to either client, in order: the hand-off must follow the launch. */
let sent: string[] = [];

const launcher = (options: Partial<Ec2LauncherOptions> = {}) =>
  new Ec2Launcher({
    client: new EC2Client({ region: 'eu-west-1' }),
    handoff,
    launchTemplateId: 'lt-0abc',
    subnetIds: ['subnet-a'],
    instanceType: 'm7g.large',
    fleet: 'JitRunners',
    ...options,
  });

const request: LaunchRequest = {
  runnerName: 'jr-42-1',
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/repo',
  labels: ['self-hosted', 'linux', 'arm64'],
  runnerVersion: '2.330.0',
  encodedJitConfig: 'SECRET-JIT-CONFIG',
};

const tags = [
  { Key: 'Name', Value: 'jr-42-1' },
  { Key: 'jit-runners:fleet', Value: 'JitRunners' },
  { Key: 'JR_RUNNER_NAME', Value: 'jr-42-1' },
  { Key: 'JR_PARAMETER', Value: HANDOFF },
  { Key: 'JR_MODE', Value: 'jit' },
  { Key: 'JR_RUNNER_VERSION', Value: '2.330.0' },
];

const onDemandInput = {
  LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '$Latest' },
  MinCount: 1,
  MaxCount: 1,
  ClientToken: idempotencyToken('jr-42-1', 'on-demand'),
  InstanceType: 'm7g.large',
  SubnetId: 'subnet-a',
  InstanceInitiatedShutdownBehavior: 'terminate',
  TagSpecifications: [
    { ResourceType: 'instance', Tags: tags },
    { ResourceType: 'volume', Tags: tags.slice(0, 2) },
  ],
};

describe('Ec2Launcher', () => {
  beforeEach(() => {
    ec2.reset();
    ssm.reset();
    sent = [];
    ssm.on(PutParameterCommand).callsFake(() => {
      sent.push('PutParameter');
      return { Version: 1 };
    });
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      sent.push('DescribeInstances');
      return { Reservations: [] };
    });
    ec2.on(TerminateInstancesCommand).callsFake(() => {
      sent.push('TerminateInstances');
      return {};
    });
  });

  /** RunInstances answers like EC2: the reservation's owner and the instance with its tags. */
  function runInstancesAnswers(id = 'i-1') {
    ec2.on(RunInstancesCommand).callsFake((input: { TagSpecifications?: { Tags?: unknown[] }[] }) => {
      sent.push('RunInstances');
      return { OwnerId: '111122223333', Instances: [{ InstanceId: id, Tags: input.TagSpecifications?.[0]?.Tags }] };
    });
  }

  it('runs one on-demand instance from the launch template first, then writes the hand-off tagged with its instance ARN', async () => {
    runInstancesAnswers();
    expect(await launcher().launch(request)).toEqual({ launchId: 'i-1' });
    expect(sent).toEqual(['DescribeInstances', 'RunInstances', 'PutParameter']);
    const runs = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(runs).toEqual([onDemandInput]);
    expect(HANDOFF).toMatch(/^\/jr\/jit\/jr-42-1-[0-9a-f]{32}$/);
    expect(JSON.stringify(runs)).not.toContain('SECRET-JIT-CONFIG');
    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put).toEqual({
      Name: HANDOFF,
      Value: 'SECRET-JIT-CONFIG',
      Type: 'SecureString',
      Tier: 'Advanced',
      Policies: JSON.stringify([
        { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: new Date(NOW + 15 * 60_000).toISOString() } },
      ]),
      Tags: [
        { Key: 'jit-runners:reader', Value: INSTANCE_ARN },
        { Key: 'jit-runners:runner', Value: 'jr-42-1' },
      ],
      Description: 'jit-runners hand-off: one runner reads it; the functions delete it',
    });
    expect(put).not.toHaveProperty('Overwrite');
  });

  it("tags the instance with the adopted version's tarball digests for the bootstrap to read", async () => {
    runInstancesAnswers();
    const x64 = 'a'.repeat(64);
    const arm64 = 'b'.repeat(64);
    await launcher().launch({
      ...request,
      runnerVersion: '2.331.0',
      runnerSha256: { 'linux-x64': x64, 'linux-arm64': arm64 },
    });
    const withDigests = [
      ...tags.slice(0, 5),
      { Key: 'JR_RUNNER_VERSION', Value: '2.331.0' },
      { Key: 'JR_RUNNER_SHA256_X64', Value: x64 },
      { Key: 'JR_RUNNER_SHA256_ARM64', Value: arm64 },
    ];
    expect(ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)).toEqual([
      {
        ...onDemandInput,
        TagSpecifications: [
          { ResourceType: 'instance', Tags: withDigests },
          { ResourceType: 'volume', Tags: tags.slice(0, 2) },
        ],
      },
    ]);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe('SECRET-JIT-CONFIG');
  });

  it('names the instance ARN in the partition of its region', async () => {
    runInstancesAnswers('i-cn');
    await launcher({ client: new EC2Client({ region: 'cn-north-1' }) }).launch(request);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Tags?.[0]).toEqual({
      Key: 'jit-runners:reader',
      Value: 'arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-cn',
    });
  });

  it.each([
    ['AccessDeniedException', LaunchConfigError],
    ['ThrottlingException', LaunchTransientError],
    ['SomethingNewException', LaunchTransientError],
  ])(
    'terminates the instance when the hand-off cannot be written after it (%s), so no runner waits for it',
    async (code, type) => {
      runInstancesAnswers();
      ssm.on(PutParameterCommand).callsFake(() => {
        sent.push('PutParameter');
        throw awsError(code, 'echoing SECRET-JIT-CONFIG');
      });
      const error = await launcher()
        .launch(request)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(String((error as Error).message)).not.toContain('SECRET-JIT-CONFIG');
      expect(sent).toEqual(['DescribeInstances', 'RunInstances', 'PutParameter', 'TerminateInstances']);
      expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: ['i-1'] });
    },
  );

  it("deletes the runner's hand-off by its name, and takes one already gone as deleted", async () => {
    ssm.on(DeleteParameterCommand).resolvesOnce({}).rejectsOnce(awsError('ParameterNotFound'));
    await launcher().dropHandoff('jr-42-1');
    await launcher().dropHandoff('jr-42-1');
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: HANDOFF },
      { Name: HANDOFF },
    ]);
  });

  it('finds the instance of an earlier try and writes the hand-off it was told, taking ParameterAlreadyExists as written', async () => {
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      sent.push('DescribeInstances');
      return {
        Reservations: [
          {
            OwnerId: '111122223333',
            Instances: [{ InstanceId: 'i-first', Tags: [{ Key: 'JR_PARAMETER', Value: HANDOFF }] }],
          },
        ],
      };
    });
    ssm.on(PutParameterCommand).callsFake(() => {
      sent.push('PutParameter');
      throw awsError('ParameterAlreadyExists');
    });
    expect(await launcher().launch(request)).toEqual({ launchId: 'i-first' });
    expect(sent).toEqual(['DescribeInstances', 'PutParameter']);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: HANDOFF,
      Tags: [
        { Key: 'jit-runners:reader', Value: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-first' },
        { Key: 'jit-runners:runner', Value: 'jr-42-1' },
      ],
    });
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [
        { Name: 'tag:jit-runners:fleet', Values: ['JitRunners'] },
        { Name: 'tag:JR_RUNNER_NAME', Values: ['jr-42-1'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ],
    });
  });

  it('asks for a one-time spot instance first when spot is on', async () => {
    ec2.on(RunInstancesCommand).resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-spot' }] });
    expect(await launcher({ useSpot: true }).launch(request)).toEqual({ launchId: 'i-spot' });
    expect(ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)).toEqual([
      {
        ...onDemandInput,
        ClientToken: idempotencyToken('jr-42-1', 'spot'),
        InstanceMarketOptions: {
          MarketType: 'spot',
          SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
        },
      },
    ]);
  });

  it('falls back to on-demand, with its own ClientToken, when spot has no capacity', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity'))
      .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-od' }] });
    expect(await launcher({ useSpot: true }).launch(request)).toEqual({ launchId: 'i-od' });
    const runs = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(runs).toHaveLength(2);
    expect(runs[0]?.InstanceMarketOptions?.MarketType).toBe('spot');
    expect(runs[1]).toEqual(onDemandInput);
    expect(runs[0]?.ClientToken).not.toBe(runs[1]?.ClientToken);
  });

  it('does not fall back to on-demand when spot fails for another reason', async () => {
    ec2.on(RunInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    await expect(launcher({ useSpot: true }).launch(request)).rejects.toBeInstanceOf(LaunchConfigError);
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it.each([
    ['RequestLimitExceeded', LaunchTransientError],
    ['InstanceLimitExceeded', LaunchCapacityError],
    ['InsufficientInstanceCapacity', LaunchCapacityError],
    ['UnauthorizedOperation', LaunchConfigError],
    ['InvalidLaunchTemplateId.NotFound', LaunchConfigError],
  ])('translates RunInstances %s and writes no hand-off', async (code, type) => {
    ec2.on(RunInstancesCommand).rejects(awsError(code));
    await expect(launcher().launch(request)).rejects.toBeInstanceOf(type);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('tags a regular runner with url and labels and keeps the registration token in its hand-off', async () => {
    runInstancesAnswers('i-reg');
    await launcher({ subnetIds: [] }).launchRegular({
      runnerName: 'jr-baseline-octo-repo-ab12',
      scopeKey: 'octo/repo',
      url: 'https://github.com/octo/repo',
      registrationToken: 'SECRET-REG-TOKEN',
      labels: ['jit-runners-baseline-ab12'],
      runnerVersion: '2.330.0',
    });
    const input = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input?.SubnetId).toBeUndefined();
    expect(input?.TagSpecifications?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'JR_MODE', Value: 'regular' },
        { Key: 'JR_URL', Value: 'https://github.com/octo/repo' },
        { Key: 'JR_LABELS', Value: 'jit-runners-baseline-ab12' },
        { Key: 'JR_PARAMETER', Value: handoff.plan('jr-baseline-octo-repo-ab12') },
      ]),
    );
    expect(JSON.stringify(input)).not.toContain('SECRET-REG-TOKEN');
    expect(sent).toEqual(['DescribeInstances', 'RunInstances', 'PutParameter']);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: handoff.plan('jr-baseline-octo-repo-ab12'),
      Value: 'SECRET-REG-TOKEN',
      Tags: [
        { Key: 'jit-runners:reader', Value: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-reg' },
        { Key: 'jit-runners:runner', Value: 'jr-baseline-octo-repo-ab12' },
      ],
    });
  });

  it('picks the same subnet for the same runner name every time', async () => {
    runInstancesAnswers();
    const l = launcher({ subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'] });
    await l.launch(request);
    await l.launch(request);
    const subnets = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.SubnetId);
    expect(subnets[0]).toBe(subnets[1]);
    expect(['subnet-a', 'subnet-b', 'subnet-c']).toContain(subnets[0]);
  });

  it('terminates an instance and treats an unknown one as gone', async () => {
    ec2.reset();
    ec2.on(TerminateInstancesCommand).resolvesOnce({}).rejectsOnce(awsError('InvalidInstanceID.NotFound'));
    await launcher().stop('i-1');
    await launcher().stop('i-gone');
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: ['i-1'] },
      { InstanceIds: ['i-gone'] },
    ]);
  });

  it('lists pending and running instances of its fleet, across pages', async () => {
    ec2.reset();
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: 'i-1',
                LaunchTime: new Date(1000),
                Tags: [{ Key: 'JR_RUNNER_NAME', Value: 'jr-1-1' }],
              },
              { InstanceId: 'i-untagged', LaunchTime: new Date(1000), Tags: [] },
            ],
          },
        ],
        NextToken: 'n2',
      })
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-2', LaunchTime: new Date(2000), Tags: [{ Key: 'JR_RUNNER_NAME', Value: 'jr-2-1' }] },
            ],
          },
        ],
      });
    expect(await launcher().listActive()).toEqual([
      { launchId: 'i-1', runnerName: 'jr-1-1', startedAt: 1000 },
      { launchId: 'i-2', runnerName: 'jr-2-1', startedAt: 2000 },
    ]);
    const calls = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      Filters: [
        { Name: 'tag:jit-runners:fleet', Values: ['JitRunners'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ],
      MaxResults: 100,
    });
    expect(calls[1]?.NextToken).toBe('n2');
  });
});
