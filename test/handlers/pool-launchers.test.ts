import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idempotencyToken } from '../../functions/adapters/aws/idempotency-token.ts';
import { CodeBuildLauncher } from '../../functions/adapters/codebuild/codebuild-launcher.ts';
import { JitConfigHandoff } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import { createLambdaLauncher } from '../../functions/composition/lambda-launcher.ts';
import { codebuildProjects, PoolRouterLauncher } from '../../functions/composition/pool-launcher.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { LaunchConfigError, type LaunchRequest } from '../../functions/ports/launcher.ts';
import { awsError } from '../adapters/aws/aws-errors.ts';

const codebuild = mockClient(CodeBuildClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

const UUID = '0b8f5c3e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const T1 = 'lt-0aaaaaaaaaaaaaaa1';
const T2 = 'lt-0bbbbbbbbbbbbbbb2';
const POOLS = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], launcher: 'codebuild', codebuild: { projectName: 'JR-x64' } },
  {
    name: 'docker',
    labels: ['self-hosted', 'linux', 'x64', 'docker'],
    launcher: 'codebuild',
    codebuild: { projectName: 'JR-docker' },
  },
  {
    name: 'arm64-large',
    labels: ['self-hosted', 'linux', 'arm64', 'large'],
    launcher: 'ec2',
    ec2: { launchTemplateId: T1, instanceTypes: ['m7g.xlarge', 'm6g.xlarge'], subnetIds: ['subnet-0a1'], spot: true },
  },
  {
    name: 'x64-ec2',
    labels: ['self-hosted', 'linux', 'x64', 'ec2'],
    launcher: 'ec2',
    ec2: { launchTemplateId: T2, instanceTypes: [], subnetIds: ['subnet-0b2'], spot: false },
  },
];
const baseEnv = {
  GITHUB_APP_ID: '1',
  GITHUB_APP_PRIVATE_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:key',
  GITHUB_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:hook',
  LAUNCHER: 'codebuild',
};
const configOf = (pools: unknown[], env: Record<string, string> = {}) =>
  parseConfig({ env: { ...baseEnv, ...env, RUNNER_POOLS: JSON.stringify(pools) } }, 'lambda');
const handoff = new JitConfigHandoff({
  client: new SSMClient({ region: 'eu-west-1' }),
  prefix: '/JR/jit-config',
  nameKey: 'functions-only key',
});
const router = () => createLambdaLauncher(configOf(POOLS), handoff);

const request = (pool: string | undefined, runnerName = 'jr-42-1'): LaunchRequest => ({
  runnerName,
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/repo',
  labels: ['self-hosted'],
  runnerVersion: '2.330.0',
  ...(pool === undefined ? {} : { pool }),
  encodedJitConfig: 'SECRET-JIT-CONFIG',
});
const starts = () => codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input);
const runs = () => ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);

beforeEach(() => {
  // The Lambda runtime sets the region; the EC2 launcher names instance ARNs in it.
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  codebuild.reset();
  ec2.reset();
  ssm.reset();
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  ssm.on(DeleteParameterCommand).resolves({});
  codebuild.on(StartBuildCommand).callsFake((input: { projectName: string }) => ({
    build: {
      id: `${input.projectName}:${UUID}`,
      arn: `arn:aws:codebuild:eu-west-1:1:build/${input.projectName}:${UUID}`,
    },
  }));
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(RunInstancesCommand).resolves({ OwnerId: '1', Instances: [{ InstanceId: 'i-0123456789abcdef0' }] });
});
afterEach(() => {
  globalThis.JR_BUNDLED_LAUNCHER = undefined;
  vi.unstubAllEnvs();
});

describe('the Lambda launcher of a deployment with pools', () => {
  it('is a router with one launcher per pool', async () => {
    expect(await router()).toBeInstanceOf(PoolRouterLauncher);
  });

  it('keeps warm runners for the pools it routes, and for no pool it does not know', async () => {
    const launcher = (await router()) as PoolRouterLauncher;
    expect(launcher.keepsWarm('x64')).toBe(true);
    expect(launcher.keepsWarm('nope')).toBe(false);
  });

  it("starts a codebuild pool's runner as a build of that pool's project", async () => {
    const launcher = await router();
    expect(await launcher.launch(request('x64', 'jr-1-1'))).toEqual({ launchId: `JR-x64:${UUID}` });
    expect(await launcher.launch(request('docker', 'jr-2-1'))).toEqual({ launchId: `JR-docker:${UUID}` });
    expect(starts()).toEqual([
      {
        projectName: 'JR-x64',
        idempotencyToken: idempotencyToken('jr-1-1'),
        environmentVariablesOverride: [
          { name: 'JR_MODE', value: 'jit', type: 'PLAINTEXT' },
          { name: 'JR_PARAMETER', value: handoff.plan('jr-1-1'), type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_NAME', value: 'jr-1-1', type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_VERSION', value: '2.330.0', type: 'PLAINTEXT' },
        ],
      },
      {
        projectName: 'JR-docker',
        idempotencyToken: idempotencyToken('jr-2-1'),
        environmentVariablesOverride: [
          { name: 'JR_MODE', value: 'jit', type: 'PLAINTEXT' },
          { name: 'JR_PARAMETER', value: handoff.plan('jr-2-1'), type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_NAME', value: 'jr-2-1', type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_VERSION', value: '2.330.0', type: 'PLAINTEXT' },
        ],
      },
    ]);
    expect(runs()).toEqual([]);
  });

  it("starts an ec2 pool's runner from that pool's launch template, types, subnets and market, tagged with the pool", async () => {
    const launcher = await router();
    await launcher.launch(request('arm64-large', 'jr-3-1'));
    await launcher.launch(request('x64-ec2', 'jr-4-1'));
    const [arm, x64] = runs();
    expect(arm).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: T1, Version: '$Latest' },
      InstanceType: 'm7g.xlarge',
      SubnetId: 'subnet-0a1',
      InstanceMarketOptions: { MarketType: 'spot' },
      ClientToken: idempotencyToken('jr-3-1', 'spot:m7g.xlarge'),
    });
    expect(arm?.TagSpecifications?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'jit-runners:fleet', Value: T1 },
        { Key: 'jit-runners:pool', Value: 'arm64-large' },
      ]),
    );
    expect(x64).toMatchObject({ LaunchTemplate: { LaunchTemplateId: T2 }, SubnetId: 'subnet-0b2' });
    expect(x64?.InstanceType).toBeUndefined();
    expect(x64?.InstanceMarketOptions).toBeUndefined();
    expect(x64?.TagSpecifications?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'jit-runners:fleet', Value: T2 },
        { Key: 'jit-runners:pool', Value: 'x64-ec2' },
      ]),
    );
    expect(starts()).toEqual([]);
  });

  it("starts the regular-runner workaround in the job's pool", async () => {
    await (await router()).launchRegular({
      runnerName: 'jr-baseline-octo-repo-ab12',
      scopeKey: 'octo/repo',
      url: 'https://github.com/octo/repo',
      registrationToken: 'SECRET-REG-TOKEN',
      labels: ['jit-runners-baseline-ab12'],
      runnerVersion: '2.330.0',
      pool: 'docker',
    });
    expect(starts().map((s) => s.projectName)).toEqual(['JR-docker']);
  });

  it('starts a request that names no pool (recorded before pools) in the first pool', async () => {
    await (await router()).launch(request(undefined));
    expect(starts().map((s) => s.projectName)).toEqual(['JR-x64']);
  });

  it('refuses a pool it does not have, without calling AWS', async () => {
    const error = await (await router()).launch(request('gpu')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchConfigError);
    expect((error as Error).message).toBe(
      'no pool named "gpu" in this deployment (pools: x64, docker, arm64-large, x64-ec2)',
    );
    expect(starts()).toEqual([]);
    expect(ssm.commandCalls(PutParameterCommand)).toEqual([]);
  });

  it('stops a build through CodeBuild and an instance through EC2, by the launch id', async () => {
    codebuild.on(StopBuildCommand).resolves({});
    ec2.on(TerminateInstancesCommand).resolves({});
    const launcher = await router();
    await launcher.stop(`JR-docker:${UUID}`);
    await launcher.stop('i-0123456789abcdef0');
    expect(codebuild.commandCalls(StopBuildCommand).map((c) => c.args[0].input)).toEqual([{ id: `JR-docker:${UUID}` }]);
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: ['i-0123456789abcdef0'] },
    ]);
    await expect(launcher.stop('12345')).rejects.toBeInstanceOf(LaunchConfigError);
  });

  it("lists the active launches of every pool's project and template, once each", async () => {
    codebuild.on(ListBuildsForProjectCommand).callsFake((input: { projectName: string }) => ({
      ids: [`${input.projectName}:${UUID}`],
    }));
    codebuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => ({
      builds: input.ids.map((id) => ({
        id,
        buildStatus: 'IN_PROGRESS',
        startTime: new Date(),
        environment: { environmentVariables: [{ name: 'JR_RUNNER_NAME', value: `runner-of-${id.split(':')[0]}` }] },
      })),
    }));
    ec2.on(DescribeInstancesCommand).callsFake((input: { Filters: { Name: string; Values: string[] }[] }) => {
      const fleet = input.Filters[0]?.Values[0];
      return {
        Reservations: [
          {
            Instances: [
              {
                InstanceId: fleet === T1 ? 'i-0aaa' : 'i-0bbb',
                LaunchTime: new Date(1000),
                Tags: [{ Key: 'JR_RUNNER_NAME', Value: `runner-of-${fleet}` }],
              },
            ],
          },
        ],
      };
    });
    const active = await (await router()).listActive();
    expect(active.map((a) => [a.launchId, a.runnerName])).toEqual([
      [`JR-x64:${UUID}`, 'runner-of-JR-x64'],
      [`JR-docker:${UUID}`, 'runner-of-JR-docker'],
      ['i-0aaa', `runner-of-${T1}`],
      ['i-0bbb', `runner-of-${T2}`],
    ]);
    expect(codebuild.commandCalls(ListBuildsForProjectCommand).map((c) => c.args[0].input.projectName)).toEqual([
      'JR-x64',
      'JR-docker',
    ]);
    expect(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters?.[0])).toEqual([
      { Name: 'tag:jit-runners:fleet', Values: [T1] },
      { Name: 'tag:jit-runners:fleet', Values: [T2] },
    ]);
  });

  it('fails the whole listing when one pool cannot be listed (a partial list would look like ended runners)', async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    await expect((await router()).listActive()).rejects.toBeInstanceOf(LaunchConfigError);
  });

  it('lists a project or template two pools share once (both fall back to the single-launcher variables)', async () => {
    const shared = [
      { name: 'a', labels: ['a'], launcher: 'codebuild' },
      { name: 'b', labels: ['b'], launcher: 'codebuild' },
    ];
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const launcher = await createLambdaLauncher(configOf(shared, { CODEBUILD_PROJECT_NAME: 'JR-runner' }), handoff);
    expect(await launcher.listActive()).toEqual([]);
    expect(codebuild.commandCalls(ListBuildsForProjectCommand)).toHaveLength(1);
    await launcher.launch(request('b'));
    expect(starts().map((s) => s.projectName)).toEqual(['JR-runner']);
  });

  it('starts an ec2 pool without its own template from EC2_LAUNCH_TEMPLATE_ID, EC2_INSTANCE_TYPE and EC2_SUBNET_IDS', async () => {
    const pools = [POOLS[0], { name: 'old-ec2', labels: ['ec2'], launcher: 'ec2' }];
    const env = {
      EC2_LAUNCH_TEMPLATE_ID: 'lt-0ccccccccccccccc3',
      EC2_INSTANCE_TYPE: 'm7i.large',
      EC2_SUBNET_IDS: 'subnet-0c3',
      EC2_USE_SPOT: 'true',
    };
    await (await createLambdaLauncher(configOf(pools, env), handoff)).launch(request('old-ec2'));
    expect(runs()[0]).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: 'lt-0ccccccccccccccc3' },
      InstanceType: 'm7i.large',
      SubnetId: 'subnet-0c3',
      InstanceMarketOptions: { MarketType: 'spot' },
      ClientToken: idempotencyToken('jr-42-1', 'spot'),
    });
  });

  it("is the pool's own launcher when the list has one pool", async () => {
    const launcher = await createLambdaLauncher(configOf([POOLS[1]]), handoff);
    expect(launcher).toBeInstanceOf(CodeBuildLauncher);
    await launcher.launch(request('docker'));
    expect(starts().map((s) => s.projectName)).toEqual(['JR-docker']);
  });

  it('names the CodeBuild project of every codebuild pool for the runner-events handler', () => {
    expect(codebuildProjects(configOf(POOLS))).toEqual(['JR-x64', 'JR-docker']);
  });
});

describe('the bundled launchers of a deployment with pools', () => {
  it('builds both launchers in a bundle built for codebuild,ec2', async () => {
    globalThis.JR_BUNDLED_LAUNCHER = 'codebuild,ec2';
    const launcher = await router();
    await launcher.launch(request('x64'));
    await launcher.launch(request('arm64-large'));
    expect(starts()).toHaveLength(1);
    expect(runs()).toHaveLength(1);
  });

  it('refuses at cold start a pool whose launcher the bundle does not carry, naming the pool', async () => {
    globalThis.JR_BUNDLED_LAUNCHER = 'codebuild';
    const error = await router().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'LAUNCHER: pool "arm64-large": is ec2, but this function was bundled for codebuild: deploy the stack with that launcher',
    );
  });
});
