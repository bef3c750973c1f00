import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CodeBuildRunner } from '../../cdk/constructs/codebuild-runner.ts';
import { ENVIRONMENT_BUDGET_BYTES, JitRunners, RUNNER_POOLS_PARAMETER_ENV } from '../../cdk/jit-runners.ts';
import { addNagChecks } from '../../cdk/nag.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import {
  actionsOf,
  logicalId,
  resourcesOfType,
  type Statement,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './synth-helpers.ts';

const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

const POOLS: JitRunnersPool[] = [
  {
    name: 'x64',
    labels: ['self-hosted', 'linux', 'x64'],
    maxRunners: 20,
    codebuild: { computeType: 'BUILD_GENERAL1_SMALL' },
  },
  {
    name: 'docker',
    labels: ['self-hosted', 'linux', 'x64', 'docker'],
    codebuild: {
      docker: true,
      image: 'ubuntu',
      vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: SUBNETS },
    },
    tags: { team: 'platform' },
  },
  {
    name: 'arm64-large',
    labels: ['self-hosted', 'linux', 'arm64', 'large'],
    maxRunners: 10,
    runnerVersion: '2.330.0',
    ec2: {
      architecture: 'arm64',
      instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
      spot: true,
      docker: true,
      rootVolumeGiB: 60,
      subnetIds: SUBNETS,
      vpcId: 'vpc-0123456789abcdef0',
    },
    tags: { team: 'ml', 'cost-center': '42' },
    runnerPolicies: [READ_ONLY],
  },
  {
    name: 'x64-ec2',
    labels: ['self-hosted', 'linux', 'x64', 'ec2'],
    ec2: {
      ami: { ssmParameterName: '/golden/al2023' },
      subnetIds: [SUBNETS[0] as string],
      securityGroupIds: ['sg-0123456789abcdef0'],
    },
  },
];

let s: Synthesized;
function pool(name: string) {
  const found = s.stack.runners.runners.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no pool ${name}`);
  return found;
}
const projectOf = (name: string) => (pool(name).launcher as CodeBuildRunner).project;
const poolRole = (name: string) => logicalId(s.stack, pool(name).launcher.runnerRole as never);
function fnEnv(): Record<string, unknown> {
  const [fn] = resourcesOfType(s.json, 'AWS::Lambda::Function');
  return (fn?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
}

describe('JitRunners with pools (two CodeBuild, two EC2)', () => {
  beforeAll(() => {
    s = synthesize({ appId: 7 }, 'Pools', POOLS);
  });

  it('passes the cdk-nag AwsSolutions checks with only reasoned acknowledgements', () => {
    expect(s.json.Resources).toBeDefined();
  });

  describe('CodeBuild pools', () => {
    it('get one project each, named after the pool', () => {
      expect(resourcesOfType(s.json, 'AWS::CodeBuild::Project').map((p) => p.Properties.Name)).toEqual([
        'Pools-x64',
        'Pools-docker',
      ]);
    });

    it('run privileged only for the pool that asked for Docker', () => {
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'Pools-x64',
        Environment: Match.objectLike({ PrivilegedMode: false, ComputeType: 'BUILD_GENERAL1_SMALL' }),
      });
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'Pools-docker',
        Environment: Match.objectLike({ PrivilegedMode: true, Image: 'aws/codebuild/standard:7.0' }),
      });
    });

    it('start the Docker daemon before the bootstrap only with Docker', () => {
      const specs = Object.fromEntries(
        resourcesOfType(s.json, 'AWS::CodeBuild::Project').map((p) => [
          p.Properties.Name,
          String((p.Properties.Source as { BuildSpec: string }).BuildSpec),
        ]),
      );
      expect(specs['Pools-docker']).toContain('dockerd');
      expect(specs['Pools-x64']).not.toContain('dockerd');
    });

    it('put the VPC pool in its subnets with an outbound-only security group', () => {
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'Pools-docker',
        VpcConfig: Match.objectLike({ VpcId: 'vpc-0123456789abcdef0', Subnets: SUBNETS }),
      });
      s.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('CodeBuild runners'),
        VpcId: 'vpc-0123456789abcdef0',
        SecurityGroupEgress: [
          Match.objectLike({ FromPort: 443, ToPort: 443 }),
          Match.objectLike({ FromPort: 80, ToPort: 80 }),
        ],
      });
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'Pools-x64',
        VpcConfig: Match.absent(),
      });
    });

    it('carry the pool tags on the project', () => {
      s.template.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'Pools-docker',
        Tags: Match.arrayWith([
          { Key: 'jit-runners:pool', Value: 'docker' },
          { Key: 'team', Value: 'platform' },
        ]),
      });
    });
  });

  describe('EC2 pools', () => {
    const template = (name: string) =>
      resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate').find((t) => t.Properties.LaunchTemplateName === name);
    const data = (name: string) => template(name)?.Properties.LaunchTemplateData as Record<string, unknown>;

    it('get one launch template each with IMDSv2 required and the first instance type', () => {
      expect(resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate')).toHaveLength(2);
      for (const [name, type] of [
        ['Pools-arm64-large', 'm7g.xlarge'],
        ['Pools-x64-ec2', 'm7i.large'],
      ] as const) {
        expect(data(name)).toMatchObject({
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
          InstanceType: type,
          InstanceInitiatedShutdownBehavior: 'terminate',
        });
      }
    });

    it('encrypt the root volume at the pool size', () => {
      expect(data('Pools-arm64-large').BlockDeviceMappings).toEqual([
        {
          DeviceName: '/dev/xvda',
          Ebs: { Encrypted: true, VolumeSize: 60, VolumeType: 'gp3', DeleteOnTermination: true },
        },
      ]);
    });

    it('install Docker in user data only for the pool that asked for it', () => {
      const userData = (name: string) => JSON.stringify(data(name).UserData);
      expect(userData('Pools-arm64-large')).toContain('dnf install -y -q docker');
      expect(userData('Pools-arm64-large')).toContain('systemctl enable --now docker');
      expect(userData('Pools-x64-ec2')).not.toContain('docker');
    });

    it('take the AMI from the SSM parameter, or the latest Amazon Linux 2023 of the architecture', () => {
      const parameters = JSON.stringify(s.json.Parameters);
      expect(parameters).toContain('/golden/al2023');
      expect(parameters).toContain('al2023-ami-kernel-6.1-arm64');
    });

    it('use the given security groups, or create an outbound-only one in the VPC', () => {
      expect(data('Pools-x64-ec2').SecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
      expect(JSON.stringify(data('Pools-arm64-large').SecurityGroupIds)).toContain('SecurityGroup');
    });

    it('tag the template, its instances and volumes with the pool tags', () => {
      const specs = data('Pools-arm64-large').TagSpecifications as Array<{ ResourceType: string; Tags: unknown[] }>;
      for (const type of ['instance', 'volume']) {
        expect(specs.find((t) => t.ResourceType === type)?.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'team', Value: 'ml' },
            { Key: 'cost-center', Value: '42' },
            { Key: 'jit-runners:pool', Value: 'arm64-large' },
          ]),
        );
      }
    });

    it('give jobs the instance credentials only in the pool with runner policies', () => {
      expect(JSON.stringify(data('Pools-arm64-large').UserData)).toContain('JR_WORKFLOW_AWS=1');
      expect(JSON.stringify(data('Pools-x64-ec2').UserData)).not.toContain('JR_WORKFLOW_AWS');
    });
  });

  describe('runner roles', () => {
    it('are one per pool', () => {
      const roles = new Set(POOLS.map((p) => poolRole(p.name)));
      expect(roles.size).toBe(POOLS.length);
    });

    it('attach the extra policies only to the pool that listed them', () => {
      const role = (name: string) => s.json.Resources[poolRole(name)]?.Properties as Record<string, unknown>;
      expect(JSON.stringify(role('arm64-large').ManagedPolicyArns)).toContain('ReadOnlyAccess');
      for (const name of ['x64', 'docker', 'x64-ec2']) expect(role(name).ManagedPolicyArns).toBeUndefined();
    });

    it('write only their own pool log group', () => {
      for (const name of ['arm64-large', 'x64', 'docker']) {
        const own = logicalId(s.stack, pool(name).logGroup as never);
        const statements = JSON.stringify(
          statementsOfRole(s.json, poolRole(name)).filter((st) => actionsOf(st).includes('logs:PutLogEvents')),
        );
        expect(statements).toContain(own);
        for (const other of POOLS.filter((p) => p.name !== name)) {
          expect(statements).not.toContain(logicalId(s.stack, pool(other.name).logGroup as never));
        }
      }
    });

    it('read hand-offs and write logs, but never the table or the App secrets', () => {
      for (const p of POOLS) {
        const statements = statementsOfRole(s.json, poolRole(p.name));
        expect(statements.flatMap(actionsOf).some((a) => /^(dynamodb|secretsmanager|lambda):/.test(a))).toBe(false);
        expect(JSON.stringify(statements)).not.toMatch(/AppPrivateKey|WebhookSecret|StateTable/);
      }
    });
  });

  describe('functions', () => {
    const provisioner = () => statementsOfRole(s.json, logicalId(s.stack, s.stack.functions.provisioner.role));

    it('start builds of exactly the pools’ projects', () => {
      const builds = provisioner().find((st) => st.Sid === 'RunnerBuilds') as Statement;
      expect(JSON.stringify(builds.Resource)).toContain(logicalId(s.stack, projectOf('x64')));
      expect(builds.Resource).toHaveLength(2);
    });

    it('launch from exactly the pools’ launch templates, subnets and security groups, and terminate only their instances', () => {
      const run = provisioner().find((st) => st.Sid === 'RunRunnerFromTemplate') as Statement;
      const resources = JSON.stringify(run.Resource);
      expect((resources.match(/launch-template\//g) ?? []).length).toBe(2);
      for (const subnet of SUBNETS) expect((resources.match(new RegExp(`subnet/${subnet}`, 'g')) ?? []).length).toBe(1);
      expect(resources).toContain('security-group/sg-0123456789abcdef0');
      expect(resources).not.toContain('subnet/*');
      const terminate = provisioner().find((st) => st.Sid === 'TerminateOwnRunners') as Statement;
      const fleet = (terminate.Condition as { StringEquals: Record<string, unknown> }).StringEquals[
        'aws:ResourceTag/jit-runners:fleet'
      ];
      expect(fleet).toHaveLength(2);
      const pass = provisioner().find((st) => st.Sid === 'PassRunnerRole') as Statement;
      expect(pass.Resource).toHaveLength(2);
    });

    it('give the webhook no launch permission', () => {
      const webhook = statementsOfRole(s.json, logicalId(s.stack, s.stack.functions.webhook.role));
      expect(webhook.flatMap(actionsOf).some((a) => /^(codebuild|ec2):/.test(a))).toBe(false);
    });

    it('get the pool list in RUNNER_POOLS, with each pool’s resources, and no single-pool variables', () => {
      const env = fnEnv();
      expect(env[EnvName.runnerLabels]).toBeUndefined();
      expect(env[EnvName.codebuildProjectName]).toBeUndefined();
      expect(env[EnvName.ec2LaunchTemplateId]).toBeUndefined();
      expect(env[EnvName.launcher]).toBe('codebuild');
      const pools = JSON.parse(resolvedPools(env[EnvName.runnerPools])) as Array<Record<string, unknown>>;
      expect(pools.map((p) => [p.name, p.launcher])).toEqual([
        ['x64', 'codebuild'],
        ['docker', 'codebuild'],
        ['arm64-large', 'ec2'],
        ['x64-ec2', 'ec2'],
      ]);
      expect(pools[0]).toEqual({
        name: 'x64',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'codebuild',
        maxRunners: 20,
        codebuild: { projectName: '<token>' },
      });
      expect(pools[2]).toEqual({
        name: 'arm64-large',
        labels: ['self-hosted', 'linux', 'arm64', 'large'],
        launcher: 'ec2',
        maxRunners: 10,
        runnerVersion: '2.330.0',
        ec2: {
          launchTemplateId: '<token>',
          instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
          subnetIds: SUBNETS,
          spot: true,
        },
      });
    });

    it('feed runner-events from every pool log group and both platforms’ state changes', () => {
      expect(resourcesOfType(s.json, 'AWS::Logs::SubscriptionFilter')).toHaveLength(POOLS.length);
      const projects = ['x64', 'docker'].map((name) => ({
        Ref: logicalId(s.stack, projectOf(name)),
      }));
      s.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ detail: { 'project-name': projects } }),
      });
      s.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ source: ['aws.ec2'] }),
      });
    });

    it('count metadata-missing lines of every pool log group', () => {
      const filters = resourcesOfType(s.json, 'AWS::Logs::MetricFilter').filter((f) =>
        JSON.stringify(f.Properties.MetricTransformations).includes('RunnerMetadataMissingLines'),
      );
      expect(filters).toHaveLength(POOLS.length);
    });
  });
});

/** The RUNNER_POOLS value of the template (a Fn::Join of literals and refs) with every ref as `<token>`. */
function resolvedPools(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : '<token>')).join(join[0]);
}

describe('JitRunners pools beyond the environment budget', () => {
  it.each([
    [14, 'Standard'],
    [22, 'Advanced'],
  ])('stores a list of %i pools in one SSM parameter (%s tier) that every function may read', (count, tier) => {
    const many: JitRunnersPool[] = Array.from({ length: count }, (_, i) => ({
      name: `pool-${i}`,
      labels: ['self-hosted', 'linux', 'x64', `team-${i}-with-a-rather-long-label`],
      codebuild: {},
    }));
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Big');
    const runners = new JitRunners(stack, 'Runners', { config: { appId: 1 }, pools: many });
    addNagChecks(app);
    app.synth();
    const json = Template.fromStack(stack).toJSON() as Synthesized['json'];
    const [parameter] = resourcesOfType(json, 'AWS::SSM::Parameter');
    expect(parameter?.Properties).toMatchObject({ Name: '/Big/runner-pools', Type: 'String', Tier: tier });
    for (const fn of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env[RUNNER_POOLS_PARAMETER_ENV]).toEqual({
        Ref: stack.getLogicalId(runners.poolsParameter?.node.defaultChild as never),
      });
      expect(env[EnvName.runnerPools]).toBeUndefined();
    }
    for (const fn of Object.values(runners.functions)) {
      const statements = statementsOfRole(json, stack.getLogicalId(fn.role.node.defaultChild as never));
      const read = statements.find((st) => st.Sid === 'ReadRunnerPools');
      expect(read?.Action, fn.fn.node.path).toBe('ssm:GetParameter');
      expect(JSON.stringify(read?.Resource)).toContain(
        stack.getLogicalId(runners.poolsParameter?.node.defaultChild as never),
      );
    }
    expect(ENVIRONMENT_BUDGET_BYTES).toBeLessThan(4096);
  });
});

describe('JitRunners embedded in an existing stack', () => {
  it('prefixes physical names with the stack name and accepts statements as runner policies', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Platform');
    new JitRunners(stack, 'Runners', {
      config: { appId: 1 },
      pools: [
        {
          name: 'deploy',
          labels: ['self-hosted', 'deploy'],
          codebuild: {},
          runnerPolicies: [
            new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::artifacts/x'] }),
          ],
        },
      ],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: 'Platform-deploy',
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([{ Name: 'JR_WORKFLOW_AWS', Type: 'PLAINTEXT', Value: '1' }]),
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'Platform-webhook' });
    expect(JSON.stringify(template.toJSON())).toContain('s3:PutObject');
  });
});
