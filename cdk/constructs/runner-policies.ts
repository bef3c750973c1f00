import { Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** A pool's extra permission: a managed policy (ARN or object) or a statement. */
export type RunnerPolicy = string | iam.IManagedPolicy | iam.PolicyStatement;

/**
 * Variable the bootstrap reads: `1` keeps the runner role's credentials for the job (runner/bootstrap.sh
 * withholds them otherwise). Set only for pools that list `runnerPolicies`.
 */
export const WORKFLOW_AWS_ENV = 'JR_WORKFLOW_AWS';

/**
 * Attaches a pool's opted-in policies to its runner role. Managed policies named by ARN are
 * acknowledged for cdk-nag (IAM4): the deployment listed them on purpose. Statements are the
 * deployment's own; a wildcard in one is reported by cdk-nag for its author to acknowledge.
 */
export function addRunnerPolicies(role: iam.Role, policies: readonly RunnerPolicy[]): void {
  policies.forEach((policy, index) => {
    if (policy instanceof iam.PolicyStatement) {
      role.addToPolicy(policy);
      return;
    }
    const managed =
      typeof policy === 'string'
        ? iam.ManagedPolicy.fromManagedPolicyArn(role, `RunnerPolicy${index}`, policy)
        : policy;
    role.addManagedPolicy(managed);
    const arn = managed.managedPolicyArn;
    if (!Token.isUnresolved(arn)) acknowledgeManaged(role, arn);
  });
}

function acknowledgeManaged(scope: Construct, arn: string): void {
  // cdk-nag prints the partition of an AWS managed policy ARN as a pseudo parameter.
  const printed = arn.replace(/^arn:aws[a-z-]*:/, 'arn:<AWS::Partition>:');
  for (const id of new Set([arn, printed])) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM4[Policy::${id}]`,
      reason:
        "Listed in the pool's runnerPolicies: the deployment opted in to this policy for workflows that call AWS.",
    });
  }
}
