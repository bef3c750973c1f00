import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { idempotencyToken } from '../../../functions/adapters/aws/idempotency-token.ts';
import { CodeBuildLauncher } from '../../../functions/adapters/codebuild/codebuild-launcher.ts';
import { Ec2Launcher } from '../../../functions/adapters/ec2/ec2-launcher.ts';
import { PoolRouterLauncher } from '../../../functions/composition/pool-launcher.ts';
import { LaunchConfigError, LaunchTransientError, type RunnerLauncher } from '../../../functions/ports/launcher.ts';
import { isWarmCapable, type WarmHandoffRequest, type WarmLaunch } from '../../../functions/ports/warm-launcher.ts';
import { awsError } from './aws-errors.ts';
import { handoff, NOW } from './handoff-fixture.ts';

const ec2 = mockClient(EC2Client);
const codebuild = mockClient(CodeBuildClient);
const ssm = mockClient(SSMClient);

const WARM = 'jr-warm-arm64-7f3a9c';
const WARM_HANDOFF = handoff.plan(WARM);
const INSTANCE = 'i-0123456789abcdef0';
const INSTANCE_ARN = `arn:aws:ec2:eu-west-1:111122223333:instance/${INSTANCE}`;
const UUID = '0b8f5c3e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const BUILD = `JR-x64:${UUID}`;
const BUILD_ARN = `arn:aws:codebuild:eu-west-1:111122223333:build/${BUILD}`;
/** Every command sent, in order. */
let sent: string[] = [];

const boot = { warmName: WARM, pool: 'arm64', runnerVersion: '2.330.0', maxIdleMs: 30 * 60_000 };
const handOffTo = (warm: WarmLaunch, extra: Partial<WarmHandoffRequest> = {}): WarmHandoffRequest => ({
  runnerName: 'jr-42-1',
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/repo',
  labels: ['self-hosted', 'linux', 'arm64'],
  runnerVersion: '2.330.0',
  pool: 'arm64',
  encodedJitConfig: 'SECRET-JIT-CONFIG',
  warm,
  ...extra,
});
/** The DeleteParameter inputs sent, in order. */
const deletes = () => ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input);
const putInput = (readerArn: string) => ({
  Name: WARM_HANDOFF,
  Value: 'SECRET-JIT-CONFIG',
  Type: 'SecureString',
  Tier: 'Advanced',
  Policies: JSON.stringify([
    { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: new Date(NOW + 15 * 60_000).toISOString() } },
  ]),
  Tags: [
    { Key: 'jit-runners:reader', Value: readerArn },
    { Key: 'jit-runners:runner', Value: 'jr-42-1' },
  ],
  Description: 'jit-runners hand-off: one runner reads it; the functions delete it',
});

beforeEach(() => {
  ec2.reset();
  codebuild.reset();
  ssm.reset();
  sent = [];
  ssm.on(PutParameterCommand).callsFake(() => {
    sent.push('PutParameter');
    return { Version: 1 };
  });
  ssm.on(DeleteParameterCommand).callsFake(() => {
    sent.push('DeleteParameter');
    return {};
  });
  ec2.on(CreateTagsCommand).callsFake(() => {
    sent.push('CreateTags');
    return {};
  });
  ec2.on(TerminateInstancesCommand).callsFake(() => {
    sent.push('TerminateInstances');
    return {};
  });
  codebuild.on(StopBuildCommand).callsFake(() => {
    sent.push('StopBuild');
    return {};
  });
});

describe('Ec2Launcher warm runners', () => {
  const launcher = () =>
    new Ec2Launcher({
      client: new EC2Client({ region: 'eu-west-1' }),
      handoff,
      launchTemplateId: 'lt-0abc',
      subnetIds: ['subnet-a'],
      instanceTypes: ['m7g.large'],
      useSpot: true,
      fleet: 'lt-0abc',
      pool: 'arm64',
    });
  const bootTags: Tag[] = [
    { Key: 'Name', Value: WARM },
    { Key: 'jit-runners:fleet', Value: 'lt-0abc' },
    { Key: 'jit-runners:pool', Value: 'arm64' },
    { Key: 'JR_RUNNER_NAME', Value: WARM },
    { Key: 'JR_PARAMETER', Value: WARM_HANDOFF },
    { Key: 'JR_WARM_NAME', Value: WARM },
    { Key: 'JR_MODE', Value: 'jit' },
    { Key: 'JR_WARM_IDLE_SECONDS', Value: '1800' },
    { Key: 'JR_RUNNER_VERSION', Value: '2.330.0' },
  ];
  /** DescribeInstances answers with one live instance carrying `tags` (or none). */
  function describeAnswers(tags: Tag[] | undefined) {
    ec2.on(DescribeInstancesCommand).callsFake(() => {
      sent.push('DescribeInstances');
      return tags === undefined
        ? { Reservations: [] }
        : { Reservations: [{ OwnerId: '111122223333', Instances: [{ InstanceId: INSTANCE, Tags: tags }] }] };
    });
  }

  describe('bootWarm', () => {
    it('runs one spot instance from the pool template, told it is warm and the hand-off planned from its warm name, and writes nothing', async () => {
      describeAnswers(undefined);
      ec2.on(RunInstancesCommand).callsFake(() => {
        sent.push('RunInstances');
        return { OwnerId: '111122223333', Instances: [{ InstanceId: INSTANCE }] };
      });
      expect(await launcher().bootWarm(boot)).toEqual({ launchId: INSTANCE, warmName: WARM });
      expect(sent).toEqual(['DescribeInstances', 'RunInstances']);
      expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
        { Name: 'tag:jit-runners:fleet', Values: ['lt-0abc'] },
        { Name: 'tag:JR_WARM_NAME', Values: [WARM] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ]);
      expect(ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)).toEqual([
        {
          LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '$Latest' },
          MinCount: 1,
          MaxCount: 1,
          ClientToken: idempotencyToken(WARM, 'spot'),
          InstanceType: 'm7g.large',
          SubnetId: 'subnet-a',
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
          },
          InstanceInitiatedShutdownBehavior: 'terminate',
          TagSpecifications: [
            { ResourceType: 'instance', Tags: bootTags },
            { ResourceType: 'volume', Tags: bootTags.slice(0, 3) },
          ],
        },
      ]);
    });

    it('falls back to on-demand on a spot capacity error, with its own ClientToken', async () => {
      describeAnswers(undefined);
      ec2
        .on(RunInstancesCommand)
        .rejectsOnce(awsError('InsufficientInstanceCapacity'))
        .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: INSTANCE }] });
      expect(await launcher().bootWarm(boot)).toEqual({ launchId: INSTANCE, warmName: WARM });
      const runs = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
      expect(runs.map((r) => r.ClientToken)).toEqual([
        idempotencyToken(WARM, 'spot'),
        idempotencyToken(WARM, 'on-demand'),
      ]);
      expect(runs[1]).not.toHaveProperty('InstanceMarketOptions');
    });

    it('answers a retried boot with the instance already running under the warm name, without a second RunInstances', async () => {
      describeAnswers(bootTags);
      expect(await launcher().bootWarm(boot)).toEqual({ launchId: INSTANCE, warmName: WARM });
      expect(sent).toEqual(['DescribeInstances']);
    });

    it('rounds the idle bound up to whole seconds, at least one', async () => {
      describeAnswers(undefined);
      ec2.on(RunInstancesCommand).resolves({ OwnerId: '1', Instances: [{ InstanceId: INSTANCE }] });
      await launcher().bootWarm({ ...boot, maxIdleMs: 1_500 });
      await launcher().bootWarm({ ...boot, warmName: `${WARM}b`, maxIdleMs: 10 });
      const idle = ec2
        .commandCalls(RunInstancesCommand)
        .map((c) => c.args[0].input.TagSpecifications?.[0]?.Tags?.find((t) => t.Key === 'JR_WARM_IDLE_SECONDS')?.Value);
      expect(idle).toEqual(['2', '1']);
    });
  });

  describe('handOffWarm', () => {
    const warm: WarmLaunch = { launchId: INSTANCE, warmName: WARM };

    it("writes the job's JIT config to the name the instance was told, readable by that instance only, then tags it with the job's runner name", async () => {
      describeAnswers(bootTags);
      await launcher().handOffWarm(handOffTo(warm));
      expect(sent).toEqual(['DescribeInstances', 'PutParameter', 'CreateTags']);
      expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
        { Name: 'instance-id', Values: [INSTANCE] },
        { Name: 'tag:jit-runners:fleet', Values: ['lt-0abc'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ]);
      const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
      expect(put).toEqual(putInput(INSTANCE_ARN));
      expect(put).not.toHaveProperty('Overwrite');
      expect(ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
        Resources: [INSTANCE],
        Tags: [
          { Key: 'Name', Value: 'jr-42-1' },
          { Key: 'JR_RUNNER_NAME', Value: 'jr-42-1' },
        ],
      });
      expect(JSON.stringify(ec2.calls().map((c) => c.args[0].input))).not.toContain('SECRET-JIT-CONFIG');
    });

    it('lists the claimed instance under the job runner name once tagged', async () => {
      const tagged = bootTags.map((t) => (t.Key === 'JR_RUNNER_NAME' ? { ...t, Value: 'jr-42-1' } : t));
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [{ Instances: [{ InstanceId: INSTANCE, Tags: tagged, LaunchTime: new Date(NOW) }] }],
      });
      expect(await launcher().listActive()).toEqual([{ launchId: INSTANCE, runnerName: 'jr-42-1', startedAt: NOW }]);
    });

    it('is idempotent: a retry after the write (ParameterAlreadyExists, the tag already set) succeeds and terminates nothing', async () => {
      describeAnswers(bootTags.map((t) => (t.Key === 'JR_RUNNER_NAME' ? { ...t, Value: 'jr-42-1' } : t)));
      ssm.on(PutParameterCommand).rejects(awsError('ParameterAlreadyExists'));
      await launcher().handOffWarm(handOffTo(warm));
      expect(sent).toEqual(['DescribeInstances', 'CreateTags']);
    });

    it('throws LaunchTransientError and writes nothing when the instance is gone, so the job launches cold', async () => {
      describeAnswers(undefined);
      await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toBeInstanceOf(LaunchTransientError);
      await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toThrow(
        `warm runner ${WARM} (${INSTANCE}) is gone`,
      );
      expect(sent.filter((c) => c !== 'DescribeInstances')).toEqual([]);
    });

    it.each([
      ['already handed to another runner', 'JR_RUNNER_NAME', 'jr-41-1', /already handed to jr-41-1/],
      ['another warm runner', 'JR_WARM_NAME', 'jr-warm-arm64-other', /is not the warm runner/],
      ['on another runner version', 'JR_RUNNER_VERSION', '2.331.0', /runs 2\.331\.0, the job wants 2\.330\.0/],
    ])(
      'refuses an instance %s with LaunchTransientError, writing and stopping nothing',
      async (_n, key, value, why) => {
        describeAnswers(bootTags.map((t) => (t.Key === key ? { ...t, Value: value } : t)));
        const error = await launcher()
          .handOffWarm(handOffTo(warm))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LaunchTransientError);
        expect(String(error)).toMatch(why);
        expect(sent).toEqual(['DescribeInstances']);
      },
    );

    it.each([
      ['the write', () => ssm.on(PutParameterCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'))],
      ['the tag', () => ec2.on(CreateTagsCommand).rejects(awsError('RequestLimitExceeded'))],
    ])('terminates the instance when %s fails, so it never runs a config it half got', async (_n, fail) => {
      describeAnswers(bootTags);
      fail();
      await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toBeInstanceOf(LaunchTransientError);
      expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: [INSTANCE] });
    });
  });

  describe('dropHandoff of a job served warm', () => {
    const warm: WarmLaunch = { launchId: INSTANCE, warmName: WARM };

    it('deletes by the warm name exactly the parameter the instance was told and the hand-off wrote, with no EC2 call', async () => {
      describeAnswers(bootTags);
      await launcher().handOffWarm(handOffTo(warm));
      sent = [];
      await launcher().dropHandoff(WARM);
      expect(sent).toEqual(['DeleteParameter']);
      expect(deletes()).toEqual([{ Name: WARM_HANDOFF }]);
      expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Name).toBe(WARM_HANDOFF);
      // The job runner's name plans another parameter: deleting by it would miss this one.
      expect(handoff.plan('jr-42-1')).not.toBe(WARM_HANDOFF);
    });

    it('takes a warm hand-off already gone (expired, swept, deleted on in_progress) as deleted', async () => {
      ssm.on(DeleteParameterCommand).rejects(awsError('ParameterNotFound'));
      await expect(launcher().dropHandoff(WARM)).resolves.toBeUndefined();
      expect(deletes()).toEqual([{ Name: WARM_HANDOFF }]);
    });
  });
});

describe('CodeBuildLauncher warm runners', () => {
  const launcher = () =>
    new CodeBuildLauncher({ client: new CodeBuildClient({ region: 'eu-west-1' }), handoff, projectName: 'JR-x64' });
  const plain = (name: string, value: string) => ({ name, value, type: 'PLAINTEXT' });
  const bootEnv = [
    plain('JR_MODE', 'jit'),
    plain('JR_PARAMETER', WARM_HANDOFF),
    plain('JR_RUNNER_NAME', WARM),
    plain('JR_WARM_NAME', WARM),
    plain('JR_WARM_IDLE_SECONDS', '1800'),
    plain('JR_RUNNER_VERSION', '2.330.0'),
  ];
  const warm: WarmLaunch = { launchId: BUILD, warmName: WARM };
  function buildAnswers(status: string | undefined, env = bootEnv) {
    codebuild.on(BatchGetBuildsCommand).callsFake(() => {
      sent.push('BatchGetBuilds');
      return status === undefined
        ? { builds: [], buildsNotFound: [BUILD] }
        : {
            builds: [{ id: BUILD, arn: BUILD_ARN, buildStatus: status, environment: { environmentVariables: env } }],
          };
    });
  }

  it('boots a build of the pool project that is told it is warm and the hand-off planned from its warm name', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: BUILD, arn: BUILD_ARN } });
    const digest = 'a'.repeat(64);
    expect(await launcher().bootWarm({ ...boot, runnerSha256: { 'linux-x64': digest } })).toEqual({
      launchId: BUILD,
      warmName: WARM,
    });
    expect(codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input)).toEqual([
      {
        projectName: 'JR-x64',
        idempotencyToken: idempotencyToken(WARM),
        environmentVariablesOverride: [...bootEnv, plain('JR_RUNNER_SHA256_X64', digest)],
      },
    ]);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('is idempotent per warm name: a retried boot repeats the same StartBuild (CodeBuild answers with the first build)', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: BUILD, arn: BUILD_ARN } });
    await launcher().bootWarm(boot);
    await launcher().bootWarm(boot);
    const [first, second] = codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input);
    expect(second).toEqual(first);
  });

  it("writes the job's JIT config to the name the build was told, readable by that build only", async () => {
    buildAnswers('IN_PROGRESS');
    await launcher().handOffWarm(handOffTo(warm));
    expect(sent).toEqual(['BatchGetBuilds', 'PutParameter']);
    expect(codebuild.commandCalls(BatchGetBuildsCommand)[0]?.args[0].input).toEqual({ ids: [BUILD] });
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual(putInput(BUILD_ARN));
  });

  it('treats a retried hand-off whose parameter exists as written', async () => {
    buildAnswers('IN_PROGRESS');
    ssm.on(PutParameterCommand).rejects(awsError('ParameterAlreadyExists'));
    await launcher().handOffWarm(handOffTo(warm));
    expect(sent).toEqual(['BatchGetBuilds']);
  });

  it.each([
    ['unknown to CodeBuild', undefined],
    ['ended', 'SUCCEEDED'],
    ['stopped', 'STOPPED'],
  ])('throws LaunchTransientError and writes nothing when the build is %s', async (_n, status) => {
    buildAnswers(status);
    await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toBeInstanceOf(LaunchTransientError);
    expect(sent).toEqual(['BatchGetBuilds']);
  });

  it('refuses a build on another runner version', async () => {
    buildAnswers(
      'IN_PROGRESS',
      bootEnv.map((v) => (v.name === 'JR_RUNNER_VERSION' ? { ...v, value: '2.331.0' } : v)),
    );
    await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toThrow(/runs 2\.331\.0/);
    expect(sent).toEqual(['BatchGetBuilds']);
  });

  it('stops the build when the write fails', async () => {
    buildAnswers('IN_PROGRESS');
    ssm.on(PutParameterCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(launcher().handOffWarm(handOffTo(warm))).rejects.toBeInstanceOf(LaunchTransientError);
    expect(codebuild.commandCalls(StopBuildCommand)[0]?.args[0].input).toEqual({ id: BUILD });
  });

  it('deletes a served warm build’s hand-off by its warm name: the parameter the build was told, one DeleteParameter', async () => {
    buildAnswers('IN_PROGRESS');
    await launcher().handOffWarm(handOffTo(warm));
    sent = [];
    ssm.on(DeleteParameterCommand).resolvesOnce({}).rejectsOnce(awsError('ParameterNotFound'));
    await launcher().dropHandoff(WARM);
    // A second delete (completed after in_progress, then the build's end) finds it gone: success.
    await launcher().dropHandoff(WARM);
    expect(deletes()).toEqual([{ Name: WARM_HANDOFF }, { Name: WARM_HANDOFF }]);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Name).toBe(WARM_HANDOFF);
    expect(codebuild.calls()).toHaveLength(1);
  });
});

describe('PoolRouterLauncher warm runners', () => {
  const cold: RunnerLauncher = {
    kind: 'local',
    launch: async () => ({ launchId: 'x' }),
    launchRegular: async () => ({ launchId: 'x' }),
    stop: async () => undefined,
    listActive: async () => [],
  };
  const router = () =>
    new PoolRouterLauncher([
      {
        platform: { kind: 'codebuild', pool: 'x64', projectName: 'JR-x64' },
        launcher: new CodeBuildLauncher({
          client: new CodeBuildClient({ region: 'eu-west-1' }),
          handoff,
          projectName: 'JR-x64',
        }),
      },
      { platform: { kind: 'codebuild', pool: 'cold', projectName: 'JR-cold' }, launcher: cold },
    ]);

  it('is warm-capable and boots a warm runner with the launcher of its pool', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: BUILD, arn: BUILD_ARN } });
    expect(isWarmCapable(router())).toBe(true);
    expect(await router().bootWarm({ ...boot, pool: 'x64' })).toEqual({ launchId: BUILD, warmName: WARM });
    expect(codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input.projectName).toBe('JR-x64');
  });

  it('refuses a warm boot in a pool whose launcher keeps no warm runners', async () => {
    await expect(router().bootWarm({ ...boot, pool: 'cold' })).rejects.toBeInstanceOf(LaunchConfigError);
  });

  it('deletes a warm hand-off through the pool launcher that hands off, whatever pool the warm runner was in', async () => {
    await router().dropHandoff(WARM);
    expect(deletes()).toEqual([{ Name: WARM_HANDOFF }]);
  });
});
