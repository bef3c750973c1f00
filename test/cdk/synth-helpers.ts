import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { DeploymentConfigInput } from '../../cdk/deployment-config.ts';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { addNagChecks } from '../../cdk/nag.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';

export interface Synthesized {
  stack: JitRunnersStack;
  template: Template;
  json: {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown>; [k: string]: unknown }>;
  } & Record<string, unknown>;
}

/**
 * Synthesizes the stack with the cdk-nag checks (app.synth() throws on an unacknowledged finding).
 * Bundling is skipped (`aws:cdk:bundling-stacks: []`): these tests read the template; the real esbuild
 * bundles are built and loaded by test/handlers and by the `cdk synth` CLI test.
 */
export function synthesize(
  config: DeploymentConfigInput,
  stackName = 'JitRunners',
  pools?: readonly JitRunnersPool[],
): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new JitRunnersStack(app, stackName, { stackName, config, ...(pools === undefined ? {} : { pools }) });
  addNagChecks(app);
  app.synth();
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as Synthesized['json'] };
}

export function resourcesOfType(json: Synthesized['json'], type: string) {
  return Object.entries(json.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => ({ id, ...r }));
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
  Sid?: string;
}

/** Every statement of the inline policies attached to the role with this logical id. */
export function statementsOfRole(json: Synthesized['json'], roleLogicalId: string): Statement[] {
  return resourcesOfType(json, 'AWS::IAM::Policy')
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

export function logicalId(stack: JitRunnersStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as Parameters<JitRunnersStack['getLogicalId']>[0]);
}
