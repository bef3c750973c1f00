import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The SSM parameter path of the JIT-config hand-off (`JIT_CONFIG_PARAMETER_PREFIX`). Not a resource:
 * parameters are created per runner at launch time. This construct owns the IAM that scopes every
 * party to the path: launchers write, runners read-and-delete, the reconciler sweeps.
 */
export class JitConfigParameters extends Construct {
  /** e.g. `/JitRunners/jit-config` (no trailing slash). */
  readonly prefix: string;
  /** ARN pattern of every hand-off parameter under the prefix. */
  readonly parametersArn: string;

  constructor(scope: Construct, id: string, props: { prefix: string }) {
    super(scope, id);
    this.prefix = props.prefix;
    this.parametersArn = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      // formatArn adds the "/" between `parameter` and the name; the prefix already starts with one.
      resourceName: `${props.prefix.replace(/^\//, '')}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** The IAM5 finding id of the path wildcard, as cdk-nag prints it. */
  get wildcardFindingId(): string {
    return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter${this.prefix}/*]`;
  }

  /** Acknowledges the path wildcard on a runner role, with the reason. */
  acknowledgeRunnerWildcard(scope: Construct): void {
    Validations.of(scope).acknowledge({
      id: this.wildcardFindingId,
      reason:
        "Runner names are minted per job at run time, so the hand-off parameters cannot be listed at deploy time; the wildcard covers only this fleet's hand-off path, and every parameter is deleted once read.",
    });
  }

  /** Acknowledges the path wildcard on a function role, with the reason. */
  acknowledgeFunctionWildcard(scope: Construct): void {
    Validations.of(scope).acknowledge({
      id: this.wildcardFindingId,
      reason:
        "Launchers write one hand-off per runner name minted at run time; the wildcard covers only this fleet's hand-off path.",
    });
  }

  /** Launchers: create/overwrite a hand-off, delete it when the launch fails. */
  grantHandOff(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigHandOff',
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter'],
        resources: [this.parametersArn],
      }),
    );
  }

  /** Runners: read (decrypted) and delete their hand-off; nothing else in SSM. */
  grantPickUp(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigPickUp',
        actions: ['ssm:GetParameter', 'ssm:DeleteParameter'],
        resources: [this.parametersArn],
      }),
    );
  }

  /** Reconciler: list names/dates (DescribeParameters has no resource-level permissions) and delete stale ones. */
  grantSweep(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigSweepList',
        actions: ['ssm:DescribeParameters'],
        resources: ['*'],
      }),
    );
    Validations.of(grantee.grantPrincipal as unknown as Construct).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "ssm:DescribeParameters supports no resource-level permissions; it returns names and dates only (never values) and the sweep filters on this fleet's path.",
    });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigSweepDelete',
        actions: ['ssm:DeleteParameter', 'ssm:DeleteParameters'],
        resources: [this.parametersArn],
      }),
    );
  }
}
