import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { addNagChecks } from '../../cdk/nag.ts';
import { ACCOUNT, REGION, type SimulatedRole, type TemplateIam, templateIam } from '../support/iam-simulation.ts';

/**
 * The operator policy (`JitRunners.grantOperator`, output `OperatorPolicyArn`), evaluated offline with
 * @cloud-copilot/iam-simulate on a synthesized stack whose `Operator` role was granted it: every call the
 * CLI sends with `--stack` is allowed, and nothing that would let an operator's credentials change state
 * behind the functions' rules, read a secret or pose as GitHub.
 */

let template: Record<string, unknown>;
let sim: TemplateIam;
let operator: SimulatedRole;
let stack: JitRunnersStack;
const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
let table: string;
let queue: string;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new JitRunnersStack(app, 'JitRunners', { stackName: 'JitRunners', config: { appId: 7 } });
  const role = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  stack.runners.grantOperator(role);
  addNagChecks(app);
  app.synth();
  template = Template.fromStack(stack).toJSON();
  sim = templateIam(template as never);
  operator = sim.role(stack.getLogicalId(role.node.defaultChild as CfnElement));
  table = sim.arnOf(id(stack.runners.table.table));
  queue = sim.arnOf(id(stack.runners.deadLetterQueue));
});

describe('operator policy (jit-runners --stack)', () => {
  it('is one managed policy, named in the OperatorPolicyArn output, next to AdminFunctionName', () => {
    const outputs = template.Outputs as Record<string, { Value: unknown }>;
    const policyId = id(stack.runners.operatorPolicy as never);
    expect(outputs.OperatorPolicyArn?.Value).toEqual({ Ref: policyId });
    expect(outputs.AdminFunctionName?.Value).toBe('JitRunners-reconciler');
    expect(operator.policies.map((p) => p.name)).toEqual([policyId]);
  });

  it('allows every call the CLI sends: DescribeStacks, the table reads, the two invokes, the DLQ peek and delete', async () => {
    const stackArn = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/JitRunners/0f1e2d3c-aaaa-bbbb-cccc-123456789012`;
    const allowed: [string, string][] = [
      ['cloudformation:DescribeStacks', stackArn],
      ['dynamodb:GetItem', table],
      ['dynamodb:BatchGetItem', table],
      ['dynamodb:Query', `${table}/index/gsi1`],
      ['dynamodb:Query', `${table}/index/gsi2`],
      ['lambda:InvokeFunction', fn('JitRunners-reconciler')],
      ['lambda:InvokeFunction', fn('JitRunners-provisioner')],
      ['sqs:ReceiveMessage', queue],
      ['sqs:DeleteMessage', queue],
      ['sqs:GetQueueAttributes', queue],
    ];
    for (const [action, resource] of allowed) {
      expect({ action, resource, decision: await operator.decide(action, resource) }).toEqual({
        action,
        resource,
        decision: 'Allowed',
      });
    }
  });

  it('denies writes to the table, scans, secret reads, invoking the webhook or runner-events, other stacks and queues', async () => {
    const secrets = sim.idsOfType('AWS::SecretsManager::Secret').map((s) => sim.arnOf(s));
    expect(secrets).toHaveLength(2);
    const denied: [string, string][] = [
      ['dynamodb:PutItem', table],
      ['dynamodb:UpdateItem', table],
      ['dynamodb:DeleteItem', table],
      ['dynamodb:BatchWriteItem', table],
      ['dynamodb:Scan', table],
      ['dynamodb:Query', table],
      ...secrets.map((s): [string, string] => ['secretsmanager:GetSecretValue', s]),
      ['lambda:InvokeFunction', fn('JitRunners-webhook')],
      ['lambda:InvokeFunction', fn('JitRunners-runner-events')],
      ['lambda:UpdateFunctionConfiguration', fn('JitRunners-reconciler')],
      ['lambda:GetFunctionConfiguration', fn('JitRunners-reconciler')],
      ['cloudformation:DescribeStacks', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/OtherStack/0f1e2d3c-1111`],
      ['cloudformation:UpdateStack', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/JitRunners/0f1e2d3c-1111`],
      ['sqs:SendMessage', queue],
      ['sqs:PurgeQueue', queue],
      ['sqs:ReceiveMessage', `arn:aws:sqs:${REGION}:${ACCOUNT}:other-queue`],
      ['ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/JitRunners/jit-config/jr-1-1-0123`],
    ];
    for (const [action, resource] of denied) {
      expect({ action, resource, decision: await operator.decide(action, resource) }).toEqual({
        action,
        resource,
        decision: 'ImplicitlyDenied',
      });
    }
  });
});
