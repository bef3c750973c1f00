import { CreateTagsCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { type JitRunnersPool, resolvePools } from '../../cdk/pool-props.ts';
import { JitConfigHandoff, READER_TAG, RUNNER_TAG } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import { createLambdaLauncher } from '../../functions/composition/lambda-launcher.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';
import { isWarmCapable } from '../../functions/ports/warm-launcher.ts';
import { ACCOUNT, type ContextKeys, REGION, type TemplateIam, templateIam } from '../support/iam-simulation.ts';
import { resourcesOfType, type Synthesized, synthesize } from './synth-helpers.ts';

/**
 * Warm runners on AWS, from the stack's side: the pool props, what each launcher's resources need (the
 * CodeBuild build timeout covers the idle wait plus the job; EC2 instances terminate on shutdown and read
 * their tags from the metadata), the pool list the functions parse, and the IAM a warm hand-off needs,
 * evaluated with @cloud-copilot/iam-simulate: the functions write the hand-off of a warm instance and
 * re-tag it with the job's runner name, nothing more; one warm runner cannot read another's hand-off.
 */

const SUBNET = 'subnet-0123456789abcdef0';
const POOLS: JitRunnersPool[] = [
  {
    name: 'x64',
    labels: ['self-hosted', 'linux', 'x64'],
    maxRunners: 4,
    warm: { size: 2, maxIdleMinutes: 20, schedule: [{ days: 'mon-fri', from: '08:00', to: '18:00', size: 3 }] },
    codebuild: { computeType: 'BUILD_GENERAL1_SMALL' },
  },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    warm: 1,
    ec2: { architecture: 'arm64', subnetIds: [SUBNET], vpcId: 'vpc-0123456789abcdef0' },
  },
  {
    name: 'cold-x64',
    labels: ['self-hosted', 'linux', 'x64', 'cold'],
    ec2: { subnetIds: [SUBNET], vpcId: 'vpc-0123456789abcdef0' },
  },
  { name: 'cold-cb', labels: ['self-hosted', 'linux', 'x64', 'cb'], codebuild: {} },
];
const DEFAULTS = {
  runnerVersion: DEFAULT_RUNNER_VERSION,
  runnerVersionFloor: '2.329.0',
  runnerTimeoutMinutes: 360,
  tarballs: new Set([
    `actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`,
    `actions-runner-linux-arm64-${DEFAULT_RUNNER_VERSION}.tar.gz`,
  ]),
};

let s: Synthesized;
let iam: TemplateIam;
/** The provisioner's environment, resolved as CloudFormation would. */
let provisionerEnv: Record<string, string>;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const fn = (name: 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler') =>
  iam.role(idOf(s.stack.runners.functions[name].role as never));
const pool = (name: string) => {
  const found = s.stack.runners.runners.find((p) => p.name === name);
  if (!found) throw new Error(`no pool ${name}`);
  return found;
};
const launchTemplateId = (name: string) => {
  const launcher = pool(name).launcher as { launchTemplate?: { node: { defaultChild?: unknown } } };
  return iam.refOf(idOf(launcher.launchTemplate as never));
};
const instanceArn = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`;
const parameterArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

beforeAll(() => {
  // Synthesized without the cdk-nag aspect: these specs read the template and simulate its IAM (the nag
  // and Guard specs check the whole stack).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new JitRunnersStack(app, 'Warm', { stackName: 'Warm', config: { appId: 7 }, pools: POOLS });
  const template = Template.fromStack(stack);
  s = { stack, template, json: template.toJSON() as Synthesized['json'] };
  // Launch template ids as EC2 gives them (lt- then hex), which the functions' pool parser requires.
  const templates = resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate').map((t, i) => [
    t.id,
    `lt-0${i}${'f'.repeat(15)}`,
  ]);
  iam = templateIam(s.json, Object.fromEntries(templates));
  const [provisioner] = resourcesOfType(s.json, 'AWS::Lambda::Function').filter((f) =>
    String(iam.resolve((f.Properties as { FunctionName?: unknown }).FunctionName)).endsWith('provisioner'),
  );
  if (!provisioner) throw new Error('no provisioner function');
  provisionerEnv = iam.resolve((provisioner.Properties.Environment as { Variables: unknown }).Variables) as Record<
    string,
    string
  >;
}, 60_000);

describe('warm pool props', () => {
  const one = (extra: Partial<JitRunnersPool>) => () =>
    resolvePools([{ name: 'p', labels: ['self-hosted', 'linux', 'x64'], codebuild: {}, ...extra }], DEFAULTS);

  it('resolves a number to the object form with the default idle bound, and keeps windows', () => {
    const [a, b] = resolvePools(POOLS.slice(0, 2), DEFAULTS);
    expect(b?.warm).toEqual({ size: 1, schedule: [], maxIdleMinutes: 30 });
    expect(a?.warm).toEqual({
      size: 2,
      maxIdleMinutes: 20,
      schedule: [{ days: 'mon-fri', from: '08:00', to: '18:00', size: 3 }],
    });
    expect(resolvePools(POOLS.slice(2, 3), DEFAULTS)[0]?.warm).toBeUndefined();
  });

  it.each([
    [
      'more warm runners than maxRunners',
      { maxRunners: 1, warm: 2 },
      /warm: 2 warm runners is more than maxRunners \(1\)/,
    ],
    [
      'a window larger than maxRunners',
      { maxRunners: 2, warm: { size: 1, schedule: [{ from: '08:00', to: '18:00', size: 3 }] } },
      /3 warm runners is more than maxRunners/,
    ],
    ['a negative size', { warm: -1 }, /warm: must be a whole number of warm runners/],
    [
      'an idle bound beyond a day',
      { warm: { size: 1, maxIdleMinutes: 2000 } },
      /warm.maxIdleMinutes: must be 1 to 1440/,
    ],
    [
      'a window time that is not HH:MM',
      { warm: { size: 1, schedule: [{ from: '8am', to: '18:00', size: 2 }] } },
      /warm.schedule\[0\].from: must be a time HH:MM/,
    ],
    [
      'CodeBuild Lambda compute',
      { warm: 1, codebuild: { computeType: 'BUILD_LAMBDA_2GB' } },
      /cannot keep warm runners; use a BUILD_GENERAL1_\* compute type/,
    ],
    [
      'a build timeout past CodeBuild’s 36 hours',
      { warm: { size: 1, maxIdleMinutes: 600 }, codebuild: { timeoutMinutes: 2000 } },
      /build timeout would be 2600 minutes/,
    ],
  ])('refuses %s, naming the pool and field', (_name, extra, message) => {
    expect(one(extra as Partial<JitRunnersPool>)).toThrow(message);
    expect(one(extra as Partial<JitRunnersPool>)).toThrow(/pool "p"/);
  });
});

describe('what each launcher needs for warm runners', () => {
  it('synthesizes with warm pools with every cdk-nag finding acknowledged (the tag statement names instance/*)', () => {
    expect(() => synthesize({ appId: 7 }, 'WarmNag', POOLS)).not.toThrow();
  }, 60_000);

  it("gives a warm pool's CodeBuild project a timeout of the job's plus the idle bound, and a cold pool the job's", () => {
    const timeouts = Object.fromEntries(
      resourcesOfType(s.json, 'AWS::CodeBuild::Project').map((p) => [p.Properties.Name, p.Properties.TimeoutInMinutes]),
    );
    expect(timeouts).toEqual({ 'Warm-x64': 360 + 20, 'Warm-cold-cb': 360 });
  });

  it('starts EC2 runners that terminate on shutdown and read their JR_* tags (the warm flag too) from the metadata', () => {
    for (const template of resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate')) {
      const data = template.Properties.LaunchTemplateData as Record<string, unknown>;
      expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
      expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', InstanceMetadataTags: 'enabled' });
    }
  });

  it('passes each warm pool to the functions in the shape their parser reads, and no warm for cold pools', () => {
    const env = provisionerEnv;
    const list = JSON.parse(env[EnvName.runnerPools] ?? '[]') as { name: string; warm?: unknown }[];
    expect(list.map((p) => [p.name, p.warm])).toEqual([
      ['x64', { size: 2, maxIdleMinutes: 20, schedule: [{ days: 'mon-fri', from: '08:00', to: '18:00', size: 3 }] }],
      ['arm64', { size: 1, maxIdleMinutes: 30 }],
      ['cold-x64', undefined],
      ['cold-cb', undefined],
    ]);
    const config = parseConfig({ env: { ...env, GITHUB_APP_ID: '7' } }, 'lambda');
    expect(config.pools.map((p) => [p.name, p.warm?.size, p.warm?.maxIdleMs])).toEqual([
      ['x64', 2, 20 * 60_000],
      ['arm64', 1, 30 * 60_000],
      ['cold-x64', undefined, undefined],
      ['cold-cb', undefined, undefined],
    ]);
  });
});

describe('the IAM of a warm hand-off', () => {
  const WARM_A = 'i-0aaaaaaaaaaaaaaaa';
  const WARM_B = 'i-0bbbbbbbbbbbbbbbb';
  const handoffA = () => parameterArn(`${s.stack.runners.handOff.prefix}/jr-warm-arm64-a1-${'a'.repeat(32)}`);
  const handoffB = () => parameterArn(`${s.stack.runners.handOff.prefix}/jr-warm-arm64-b2-${'b'.repeat(32)}`);
  const onInstance = (templateId: string, keys: string[]): ContextKeys => ({
    'aws:ResourceTag/jit-runners:fleet': templateId,
    'aws:TagKeys': keys,
    ...Object.fromEntries(keys.map((k) => [`aws:RequestTag/${k}`, 'jr-42-1'])),
  });

  it("lets the launching functions write a warm instance's hand-off, tagged with its reader, as for a cold launch", async () => {
    for (const name of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
      const context: ContextKeys = {
        [`aws:RequestTag/${READER_TAG}`]: instanceArn(WARM_A),
        [`aws:RequestTag/${RUNNER_TAG}`]: 'jr-42-1',
        'aws:TagKeys': [READER_TAG, RUNNER_TAG],
      };
      expect(await fn(name).can('ssm:PutParameter', handoffA(), context), name).toBe(true);
      expect(await fn(name).can('ssm:AddTagsToResource', handoffA(), context), name).toBe(true);
    }
    expect(
      await fn('webhook').decide('ssm:PutParameter', handoffA(), {
        [`aws:RequestTag/${READER_TAG}`]: instanceArn(WARM_A),
        'aws:TagKeys': [READER_TAG],
      }),
    ).toBe('ImplicitlyDenied');
  });

  it('lets them re-tag an instance of a warm pool with the job runner name (Name, JR_RUNNER_NAME) only', async () => {
    const warm = launchTemplateId('arm64');
    for (const name of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
      const role = fn(name);
      expect(
        await role.can('ec2:CreateTags', instanceArn(WARM_A), onInstance(warm, ['Name', 'JR_RUNNER_NAME'])),
        name,
      ).toBe(true);
      // Not the hand-off name, the fleet or the version: those decide what the instance reads and who may stop it.
      for (const key of ['JR_PARAMETER', 'jit-runners:fleet', 'JR_RUNNER_VERSION']) {
        expect(
          await role.decide('ec2:CreateTags', instanceArn(WARM_A), onInstance(warm, [key])),
          `${name} ${key}`,
        ).toBe('ImplicitlyDenied');
      }
      // Not an instance of a pool without warm runners, nor one of another fleet.
      const cold = launchTemplateId('cold-x64');
      expect(await role.decide('ec2:CreateTags', instanceArn(WARM_B), onInstance(cold, ['JR_RUNNER_NAME']))).toBe(
        'ImplicitlyDenied',
      );
      expect(
        await role.decide('ec2:CreateTags', instanceArn(WARM_B), onInstance('lt-0elsewhere00000', ['JR_RUNNER_NAME'])),
      ).toBe('ImplicitlyDenied');
    }
    expect(
      await fn('webhook').decide('ec2:CreateTags', instanceArn(WARM_A), onInstance(warm, ['JR_RUNNER_NAME'])),
    ).toBe('ImplicitlyDenied');
  });

  it("keeps one warm instance from reading another's hand-off, and lets it read its own", async () => {
    const runner = iam.role(idOf(pool('arm64').launcher.runnerRole as never));
    const as = (self: string, reader: string): ContextKeys => ({
      'ec2:SourceInstanceARN': instanceArn(self),
      [`aws:ResourceTag/${READER_TAG}`]: instanceArn(reader),
    });
    expect(await runner.can('ssm:GetParameter', handoffA(), as(WARM_A, WARM_A))).toBe(true);
    expect(await runner.decide('ssm:GetParameter', handoffB(), as(WARM_A, WARM_B))).toBe('ImplicitlyDenied');
    // Idle, before any hand-off: a parameter without the reader tag (or none at all) is readable by nobody.
    expect(await runner.decide('ssm:GetParameter', handoffA(), { 'ec2:SourceInstanceARN': instanceArn(WARM_A) })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('gives no runner role a way to re-tag an instance (its own included) or to write a hand-off', async () => {
    for (const p of s.stack.runners.runners) {
      const runner = iam.role(idOf(p.launcher.runnerRole as never));
      const warm = p.name === 'arm64' ? launchTemplateId('arm64') : 'lt-0000';
      expect(
        await runner.decide('ec2:CreateTags', instanceArn(WARM_A), {
          ...onInstance(warm, ['JR_PARAMETER']),
          'ec2:SourceInstanceARN': instanceArn(WARM_A),
        }),
        p.name,
      ).toBe('ImplicitlyDenied');
      expect(
        await runner.decide('ssm:PutParameter', handoffA(), {
          [`aws:RequestTag/${READER_TAG}`]: instanceArn(WARM_A),
          'aws:TagKeys': [READER_TAG],
          'ec2:SourceInstanceARN': instanceArn(WARM_A),
        }),
        p.name,
      ).toBe('ImplicitlyDenied');
    }
  });
});

describe('what the functions send for a warm EC2 runner, against the stack IAM', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  afterEach(() => vi.unstubAllEnvs());

  it('boots it, then hands it a job with calls the launching functions are allowed', async () => {
    vi.stubEnv('AWS_REGION', REGION);
    ec2.reset();
    ssm.reset();
    const config = parseConfig({ env: { ...provisionerEnv, GITHUB_APP_ID: '7' } }, 'lambda');
    const handoff = new JitConfigHandoff({
      client: new SSMClient({ region: REGION }),
      prefix: config.aws.jitConfigParameterPrefix,
      nameKey: 'functions-only key',
    });
    const launcher = await createLambdaLauncher(config, handoff);
    if (!isWarmCapable(launcher)) throw new Error('the Lambda launcher keeps no warm runners');
    const id = 'i-0cccccccccccccccc';
    ec2.on(DescribeInstancesCommand).resolvesOnce({ Reservations: [] });
    ec2.on(RunInstancesCommand).resolves({ OwnerId: ACCOUNT, Instances: [{ InstanceId: id }] });
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ec2.on(CreateTagsCommand).resolves({});
    const pool = config.pools.find((p) => p.name === 'arm64');
    const warm = await launcher.bootWarm({
      warmName: 'jr-warm-arm64-c3',
      pool: 'arm64',
      runnerVersion: pool?.runnerVersion ?? '',
      maxIdleMs: pool?.warm?.maxIdleMs ?? 0,
    });
    const tags = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.TagSpecifications?.[0]?.Tags ?? [];
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ OwnerId: ACCOUNT, Instances: [{ InstanceId: id, Tags: tags }] }] });
    await launcher.handOffWarm({
      runnerName: 'jr-42-1',
      jobId: 42,
      attempt: 1,
      scopeKey: 'octo/repo',
      labels: ['self-hosted', 'linux', 'arm64'],
      runnerVersion: pool?.runnerVersion ?? '',
      pool: 'arm64',
      encodedJitConfig: 'SECRET',
      warm,
    });

    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    const putTags = put?.Tags ?? [];
    expect(putTags.find((t) => t.Key === READER_TAG)?.Value).toBe(instanceArn(id));
    const putContext: ContextKeys = {
      'aws:TagKeys': putTags.map((t) => t.Key ?? ''),
      ...Object.fromEntries(putTags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value ?? ''])),
    };
    expect(await fn('provisioner').can('ssm:PutParameter', parameterArn(put?.Name ?? ''), putContext)).toBe(true);

    const tagged = ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input;
    expect(tagged?.Resources).toEqual([id]);
    const fleet = tags.find((t) => t.Key === 'jit-runners:fleet')?.Value ?? '';
    const tagContext: ContextKeys = {
      'aws:ResourceTag/jit-runners:fleet': fleet,
      'aws:TagKeys': (tagged?.Tags ?? []).map((t) => t.Key ?? ''),
      ...Object.fromEntries((tagged?.Tags ?? []).map((t) => [`aws:RequestTag/${t.Key}`, t.Value ?? ''])),
    };
    for (const name of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
      expect(await fn(name).can('ec2:CreateTags', instanceArn(id), tagContext), name).toBe(true);
    }
  });
});
