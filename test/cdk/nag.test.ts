import { App, CfnParameter } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { addNagChecks } from '../../cdk/nag.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';

let failure: unknown;
let stack: JitRunnersStack;

describe('cdk-nag on the stack (the single default pool)', () => {
  beforeAll(() => {
    // The real stack plus one unacknowledged wildcard grant: the synth must fail on it.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new JitRunnersStack(app, 'NagProbe', { stackName: 'NagProbe' });
    stack.functions.webhook.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: [stack.table.table.tableArn] }),
    );
    addNagChecks(app);
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
  });

  it('fails the synth on an unacknowledged finding and names it', () => {
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure)).toContain('AwsSolutions-IAM5[Action::dynamodb:*]');
    // The construct's id `Default` shows in construct paths (not in logical ids).
    expect(String(failure)).toContain('NagProbe/Default/Webhook/Role');
  });

  it('reports nothing else: every other finding of the stack is acknowledged', () => {
    const findings = String(failure)
      .split('\n')
      .filter((l) => l.includes('Acknowledge with'));
    expect(findings).toEqual([expect.stringContaining('AwsSolutions-IAM5[Action::dynamodb:*]')]);
  });

  it('takes the App id as a CloudFormation parameter when it is not given at synth time', () => {
    const parameter = stack.runners.node.tryFindChild('GitHubAppId');
    expect(parameter).toBeInstanceOf(CfnParameter);
    expect((parameter as CfnParameter).type).toBe('Number');
  });
});

const TWO_POOLS: JitRunnersPool[] = [
  {
    name: 'docker',
    labels: ['self-hosted', 'linux', 'x64', 'docker'],
    codebuild: {
      docker: true,
      vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] },
    },
    tags: { team: 'platform' },
  },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    ec2: {
      architecture: 'arm64',
      instanceTypes: ['m7g.large', 'm6g.large'],
      spot: true,
      docker: true,
      subnetIds: ['subnet-0123456789abcdef0'],
      vpcId: 'vpc-0123456789abcdef0',
    },
    runnerPolicies: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
  },
];

/** Synthesizes a two-pool stack with the checks; the error app.synth() throws, if any. */
function synthPools(pools: JitRunnersPool[]): unknown {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  new JitRunnersStack(app, 'NagPools', { stackName: 'NagPools', config: { appId: 7 }, pools });
  addNagChecks(app);
  try {
    app.synth();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('cdk-nag on a stack with two pools', () => {
  it('reports nothing for a CodeBuild pool with Docker in a VPC and an EC2 spot pool with a managed policy', () => {
    expect(synthPools(TWO_POOLS)).toBeUndefined();
  });

  it("checks the pools' own resources: a wildcard statement a pool adds is the deployment's to acknowledge", () => {
    const [docker, arm64] = TWO_POOLS as [JitRunnersPool, JitRunnersPool];
    const wildcard = new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::build-cache'] });
    const failure = String(synthPools([docker, { ...arm64, runnerPolicies: [wildcard] }]));
    const findings = failure.split('\n').filter((l) => l.includes('Acknowledge with'));
    expect(findings).toEqual([expect.stringContaining('AwsSolutions-IAM5[Action::s3:*]')]);
    expect(failure).toContain('NagPools/Default/Pool-arm64/');
  });
});

describe('cdk-nag acknowledgements are scoped to the statement that needs them', () => {
  it('still reports a new Resource::* statement on a function role that already has an acknowledged one', () => {
    // The EC2 launchers' ec2:DescribeInstances is on `*` (acknowledged in its own policy); a second
    // wildcard statement in the role's default policy must not hide behind that acknowledgement.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new JitRunnersStack(app, 'NagScoped', {
      stackName: 'NagScoped',
      config: {
        appId: 7,
        launcher: 'ec2',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
      },
    });
    stack.functions.provisioner.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['ec2:DescribeImages'], resources: ['*'] }),
    );
    addNagChecks(app);
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    const findings = String(failure)
      .split('\n')
      .filter((l) => l.includes('Acknowledge with'));
    expect(findings).toEqual([expect.stringContaining('AwsSolutions-IAM5[Resource::*]')]);
    expect(String(failure)).toContain('NagScoped/Default/Provisioner/Role/DefaultPolicy');
    expect(String(failure)).not.toContain('DescribeRunnersPolicy');
  });

  it("still reports one on the reconciler role beside the sweep's acknowledged ssm:DescribeParameters", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new JitRunnersStack(app, 'NagSweep', { stackName: 'NagSweep', config: { appId: 7 } });
    stack.functions.reconciler.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['ssm:DescribeDocument'], resources: ['*'] }),
    );
    addNagChecks(app);
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    const findings = String(failure)
      .split('\n')
      .filter((l) => l.includes('Acknowledge with'));
    expect(findings).toEqual([expect.stringContaining('AwsSolutions-IAM5[Resource::*]')]);
    expect(String(failure)).toContain('NagSweep/Default/Reconciler/Role/DefaultPolicy');
  });
});
