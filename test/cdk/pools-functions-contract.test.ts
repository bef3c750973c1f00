import { createHash } from 'node:crypto';
import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JitRunners } from '../../cdk/jit-runners.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';
import { JitConfigHandoff } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import { loadLambdaConfig } from '../../functions/composition/lambda-config.ts';
import { createLambdaLauncher } from '../../functions/composition/lambda-launcher.ts';
import { type Config, parseConfig } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { resourcesOfType, type Statement, type Synthesized, synthesize } from './synth-helpers.ts';

/**
 * The contract between the construct and the functions: the environment the construct synthesizes for
 * a stack with pools, with its references resolved the way CloudFormation resolves them, is what the
 * functions parse (parseConfig, in Lambda) into the same pools with the resources the stack made, and
 * what the functions then send matches what the stack's IAM statements allow.
 */

const codebuild = mockClient(CodeBuildClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const POOLS: JitRunnersPool[] = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 3, codebuild: {} },
  {
    name: 'arm64-large',
    labels: ['self-hosted', 'linux', 'arm64', 'large'],
    runnerVersion: '2.330.0',
    ec2: {
      architecture: 'arm64',
      instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
      spot: true,
      subnetIds: SUBNETS,
      vpcId: 'vpc-0123456789abcdef0',
    },
  },
];

type Json = Synthesized['json'];
/** A launch template id as EC2 would give one, stable per logical id. */
const templateIdOf = (logicalId: string) => `lt-0${createHash('sha256').update(logicalId).digest('hex').slice(0, 16)}`;

/** Resolves Ref, Fn::GetAtt and Fn::Join as CloudFormation would for the resources the functions name. */
function resolve(value: unknown, json: Json): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, json)).join(separator);
  }
  if ('Ref' in v) {
    const id = String(v.Ref);
    const pseudo: Record<string, string> = {
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (pseudo[id]) return pseudo[id];
    const resource = json.Resources[id];
    switch (resource?.Type) {
      case 'AWS::CodeBuild::Project':
      case 'AWS::SSM::Parameter':
        return resolve(resource.Properties.Name, json);
      case 'AWS::EC2::LaunchTemplate':
        return templateIdOf(id);
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}`;
      default:
        return id;
    }
  }
  if ('Fn::GetAtt' in v) {
    const [id, attribute] = v['Fn::GetAtt'] as [string, string];
    const resource = json.Resources[id];
    if (resource?.Type === 'AWS::CodeBuild::Project' && attribute === 'Arn') {
      return `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${resolve(resource.Properties.Name, json)}`;
    }
    return `arn:aws:unresolved:${REGION}:${ACCOUNT}:${id}/${attribute}`;
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** Every function's environment, resolved. */
function environments(json: Json): Record<string, string>[] {
  return resourcesOfType(json, 'AWS::Lambda::Function').map((fn) => {
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v, json)]));
  });
}

const statements = (json: Json, sid: string): Statement[] =>
  resourcesOfType(json, 'AWS::IAM::Policy')
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((s) => s.Sid === sid);

const projectName = (json: Json) => resolve(resourcesOfType(json, 'AWS::CodeBuild::Project')[0]?.Properties.Name, json);
const templateId = (json: Json) => templateIdOf(resourcesOfType(json, 'AWS::EC2::LaunchTemplate')[0]?.id ?? '');

describe('the environment the construct synthesizes for two pools', () => {
  let s: Synthesized;
  let envs: Record<string, string>[];
  let config: Config;
  beforeAll(() => {
    s = synthesize({ appId: 1 }, 'JitRunners', POOLS);
    envs = environments(s.json);
    config = parseConfig({ env: envs[0] ?? {} }, 'lambda');
  }, 60_000);

  it('parses, in every function, into the two pools with the project and launch template the stack made', () => {
    expect(envs).toHaveLength(4);
    const expected = [
      {
        name: 'x64',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'codebuild',
        maxRunners: 3,
        runnerVersion: '2.330.0',
        codebuild: { projectName: projectName(s.json) },
      },
      {
        name: 'arm64-large',
        labels: ['self-hosted', 'linux', 'arm64', 'large'],
        launcher: 'ec2',
        runnerVersion: '2.330.0',
        ec2: {
          launchTemplateId: templateId(s.json),
          instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
          subnetIds: SUBNETS,
          spot: true,
        },
      },
    ];
    for (const env of envs) expect(parseConfig({ env }, 'lambda').pools).toEqual(expected);
    expect(projectName(s.json)).toBe('JitRunners-x64');
    expect(config.notices).toEqual([]);
  });

  describe('what the functions then send', () => {
    // The Lambda runtime sets the region; the EC2 launcher names instance ARNs in it.
    afterEach(() => vi.unstubAllEnvs());
    beforeEach(() => {
      vi.stubEnv('AWS_REGION', REGION);
      codebuild.reset();
      ec2.reset();
      ssm.reset();
      ssm.on(PutParameterCommand).resolves({ Version: 1 });
      codebuild.on(StartBuildCommand).resolves({
        build: {
          id: `JitRunners-x64:${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`,
          arn: `arn:aws:codebuild:${REGION}:111122223333:build/JitRunners-x64:${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`,
        },
      });
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      ec2
        .on(RunInstancesCommand)
        .resolves({ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0123456789abcdef0' }] });
    });

    const launch = async (pool: string) => {
      const handoff = new JitConfigHandoff({
        client: new SSMClient({ region: REGION }),
        prefix: config.aws.jitConfigParameterPrefix,
        nameKey: 'functions-only key',
      });
      await (await createLambdaLauncher(config, handoff)).launch({
        runnerName: 'jr-42-1',
        jobId: 42,
        attempt: 1,
        scopeKey: 'octo/repo',
        labels: ['self-hosted'],
        runnerVersion: '2.330.0',
        pool,
        encodedJitConfig: 'SECRET',
      });
    };

    it("starts builds of a project the functions' RunnerBuilds statement allows", async () => {
      await launch('x64');
      const [start] = codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input);
      const [allowed] = statements(s.json, 'RunnerBuilds');
      const resources = [allowed?.Resource].flat().map((r) => resolve(r, s.json));
      expect(resources).toContain(`arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${start?.projectName}`);
    });

    it('runs instances from the launch template the RunInstances statement names, tagged with the fleet value TerminateInstances conditions on', async () => {
      await launch('arm64-large');
      const [run] = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
      const template = run?.LaunchTemplate?.LaunchTemplateId ?? '';
      const [runStatement] = statements(s.json, 'RunRunnerFromTemplate');
      const runResources = [runStatement?.Resource].flat().map((r) => resolve(r, s.json));
      expect(runResources).toContain(`arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/${template}`);
      expect(runResources).toContain(`arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${run?.SubnetId}`);

      const tags = Object.fromEntries((run?.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags['jit-runners:pool']).toBe('arm64-large');
      const [terminate] = statements(s.json, 'TerminateOwnRunners');
      const condition = (terminate?.Condition?.StringEquals ?? {}) as Record<string, unknown>;
      const fleetKeys = Object.keys(condition);
      expect(fleetKeys).toEqual(['aws:ResourceTag/jit-runners:fleet']);
      const allowedFleets = [condition[fleetKeys[0] as string]].flat().map((v) => resolve(v, s.json));
      expect(allowedFleets).toContain(tags['jit-runners:fleet']);
      expect(tags['jit-runners:fleet']).toBe(template);
    });
  });
});

describe('the pool list the construct stores in SSM (beyond the environment budget)', () => {
  it('is read at cold start and parses into every pool with its project', async () => {
    const many: JitRunnersPool[] = Array.from({ length: 14 }, (_, i) => ({
      name: `pool-${i}`,
      labels: ['self-hosted', 'linux', 'x64', `team-${i}-with-a-rather-long-label`],
      codebuild: {},
    }));
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Big');
    new JitRunners(stack, 'Runners', { config: { appId: 1 }, pools: many });
    const json = Template.fromStack(stack).toJSON() as Json;
    const [parameter] = resourcesOfType(json, 'AWS::SSM::Parameter');
    const name = resolve(parameter?.Properties.Name, json);
    const value = resolve(parameter?.Properties.Value, json);

    ssm.reset();
    ssm.on(GetParameterCommand, { Name: name }).resolves({ Parameter: { Name: name, Type: 'String', Value: value } });
    for (const env of environments(json)) {
      expect(env[EnvName.runnerPoolsParameter]).toBe(name);
      const config = await loadLambdaConfig(env, () => new SSMClient({ region: REGION }));
      expect(config.pools.map((p) => [p.name, p.codebuild?.projectName])).toEqual(
        many.map((p) => [p.name, `Big-${p.name}`]),
      );
    }
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(4);
  }, 60_000);
});
