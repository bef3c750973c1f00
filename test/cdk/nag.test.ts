import { App, CfnParameter } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { addNagChecks } from '../../cdk/nag.ts';

let failure: unknown;
let stack: JitRunnersStack;

describe('cdk-nag on the stack', () => {
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
    expect(String(failure)).toContain('NagProbe/Webhook/Role');
  });

  it('reports nothing else: every other finding of the stack is acknowledged', () => {
    const findings = String(failure)
      .split('\n')
      .filter((l) => l.includes('Acknowledge with'));
    expect(findings).toEqual([expect.stringContaining('AwsSolutions-IAM5[Action::dynamodb:*]')]);
  });

  it('takes the App id as a CloudFormation parameter when it is not given at synth time', () => {
    const parameter = stack.node.tryFindChild('GitHubAppId');
    expect(parameter).toBeInstanceOf(CfnParameter);
    expect((parameter as CfnParameter).type).toBe('Number');
  });
});
