import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** cdk-nag's finding id for a statement on `Resource: *`. */
export const ANY_RESOURCE_FINDING = 'AwsSolutions-IAM5[Resource::*]';

/**
 * Grants a statement that must name `Resource: *` (an action with no resource-level permissions, such as
 * `ec2:DescribeInstances`) in a policy of its own, and acknowledges cdk-nag's `Resource::*` finding on
 * that policy only. Why a policy of its own: cdk-nag reports findings per policy resource, so an
 * acknowledgement on the role would also hide any later `Resource: *` statement in the role's default
 * policy; here a new wildcard anywhere else on the role is still reported.
 *
 * The statement must use only `*` as its resource: anything narrower needs no acknowledgement.
 */
export function grantUnscoped(
  grantee: iam.IGrantable,
  id: string,
  statement: iam.PolicyStatement,
  reason: string,
): void {
  const resources = statement.resources;
  if (resources.length !== 1 || resources[0] !== '*') {
    throw new Error(`grantUnscoped(${id}): the statement must have exactly the resource "*"`);
  }
  const principal = grantee.grantPrincipal;
  if (!(principal instanceof iam.Role) || !Construct.isConstruct(principal)) {
    throw new Error(`grantUnscoped(${id}): the grantee must be a role of this app`);
  }
  const policy = new iam.Policy(principal, id, { statements: [statement] });
  policy.attachToRole(principal);
  Validations.of(policy).acknowledge({ id: ANY_RESOURCE_FINDING, reason });
}
