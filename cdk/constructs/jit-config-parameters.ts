import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { READER_TAG, RUNNER_TAG } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { grantUnscoped } from './unscoped-statement.ts';

/**
 * Who may read a hand-off, as the runner role's condition says it: the request context key whose value
 * must equal the parameter's `jit-runners:reader` tag. EC2: `ec2:SourceInstanceARN`, an AWS-wide key set
 * on requests signed with an instance profile's credentials. CodeBuild: `codebuild:buildArn`, which
 * CodeBuild documents as a policy variable of its service roles (both: docs/deploy.md "Threat model").
 */
export const ReaderKey = { instance: 'ec2:SourceInstanceARN', build: 'codebuild:buildArn' } as const;
export type ReaderKey = (typeof ReaderKey)[keyof typeof ReaderKey];

/**
 * The SSM parameter path of the per-runner hand-offs (`JIT_CONFIG_PARAMETER_PREFIX`) and the
 * customer-managed KMS key that encrypts them (`JIT_CONFIG_KMS_KEY_ID`). The parameters are created per
 * runner at launch time (functions/adapters/ssm/jit-config-handoff.ts); this construct owns the IAM that
 * scopes every party: the functions write (tagged with the reader) and delete, each runner reads its own
 * hand-off and nothing else, nobody else can use the key.
 */
export class JitConfigParameters extends Construct {
  /** e.g. `/JitRunners/jit-config` (no trailing slash). */
  readonly prefix: string;
  /** ARN pattern of every hand-off parameter under the prefix. */
  readonly parametersArn: string;
  /** Encrypts the hand-offs; its key policy names each function role that writes and each runner role that reads. */
  readonly key: kms.Key;
  /** The functions' variables of the hand-off (beside `JIT_CONFIG_PARAMETER_PREFIX`). */
  readonly environment: Record<string, string>;

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
    this.key = new kms.Key(this, 'Key', {
      description: 'jit-runners hand-offs: the functions encrypt, each runner decrypts its own through SSM',
      enableKeyRotation: true,
      // It protects parameters that live minutes: nothing encrypted under it outlives a deployment.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
      // The only key policy (not appended to CDK's default, which gives the account `kms:*`): the
      // account may administer the key, never use it; the grant methods below name each user.
      policy: new iam.PolicyDocument({ statements: [this.#administration(), JitConfigParameters.#noGrants()] }),
    });
    this.environment = { [EnvName.jitConfigKmsKeyId]: this.key.keyArn };
  }

  /**
   * No grants but AWS services' own for AWS resources (Control Tower CT.KMS.PR.3): nobody is allowed
   * CreateGrant here anyway; the explicit deny keeps a later statement from handing one out.
   */
  static #noGrants(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  }

  /**
   * Key administration for the account (CloudFormation updates the key through it), without any
   * cryptographic action and without CreateGrant, which would let an account principal hand itself one.
   * Changing the key policy stays possible: whoever may do that may change any role's policy anyway.
   */
  #administration(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'AdministerNotUse',
      principals: [new iam.AccountRootPrincipal()],
      actions: [
        'kms:DescribeKey',
        'kms:GetKeyPolicy',
        'kms:PutKeyPolicy',
        'kms:GetKeyRotationStatus',
        'kms:EnableKeyRotation',
        'kms:DisableKeyRotation',
        'kms:EnableKey',
        'kms:DisableKey',
        'kms:ListResourceTags',
        'kms:TagResource',
        'kms:UntagResource',
        'kms:UpdateKeyDescription',
        'kms:ListGrants',
        'kms:RevokeGrant',
        'kms:ScheduleKeyDeletion',
        'kms:CancelKeyDeletion',
      ],
      resources: ['*'],
    });
  }

  /** Uses of the key only through SSM, and only for this fleet's hand-offs (SSM's encryption context). */
  #keyConditions(): Record<string, Record<string, string>> {
    return {
      StringEquals: { 'kms:ViaService': `ssm.${Stack.of(this).region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': this.parametersArn },
    };
  }

  /** Allows `actions` on the key to `role`, in its identity policy and in the key policy (both are needed). */
  #grantKey(role: iam.IRole, sid: string, actions: string[]): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions, resources: [this.key.keyArn], conditions: this.#keyConditions() }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ArnPrincipal(role.roleArn)],
        actions,
        resources: ['*'],
        conditions: this.#keyConditions(),
      }),
    );
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
        "Hand-off names are minted per runner at run time; the wildcard covers only this fleet's hand-off path, and a tag condition limits the read to the one parameter tagged with this build's or instance's own ARN.",
    });
  }

  /** Acknowledges the path wildcard on a function role, with the reason. */
  acknowledgeFunctionWildcard(scope: Construct): void {
    Validations.of(scope).acknowledge({
      id: this.wildcardFindingId,
      reason:
        "Launchers write one hand-off per runner name minted at run time and delete it once read; the wildcard covers only this fleet's hand-off path.",
    });
  }

  /**
   * Launchers: create a hand-off (tags in the creating call need AddTagsToResource too) only with its
   * reader tag, delete it once read or ended; encrypt through SSM with the key.
   */
  grantHandOff(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigHandOff',
        actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
        resources: [this.parametersArn],
        // Every hand-off names its reader: a write without the tag would be readable by nobody, and
        // tags other than ours have no purpose here.
        conditions: {
          Null: { [`aws:RequestTag/${READER_TAG}`]: 'false' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [READER_TAG, RUNNER_TAG] },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigHandOffDelete',
        actions: ['ssm:DeleteParameter'],
        resources: [this.parametersArn],
      }),
    );
    // Standard SecureStrings are encrypted with Encrypt, advanced ones (ours) with a data key.
    this.#grantKey(role, 'JitConfigHandOffEncrypt', ['kms:Encrypt', 'kms:GenerateDataKey']);
  }

  /**
   * Runners: read (decrypted) the one hand-off tagged with their own ARN — `reader` is the request key
   * that carries it for this launcher — and nothing else in SSM; no delete.
   */
  grantPickUp(role: iam.IRole, reader: ReaderKey): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigPickUp',
        actions: ['ssm:GetParameter'],
        resources: [this.parametersArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${READER_TAG}`]: `\${${reader}}` } },
      }),
    );
    this.#grantKey(role, 'JitConfigPickUpDecrypt', ['kms:Decrypt']);
  }

  /** Reconciler: list names/dates (DescribeParameters has no resource-level permissions) and delete stale ones. */
  grantSweep(grantee: iam.IGrantable): void {
    // In a policy of its own, so the Resource::* acknowledgement covers this statement only.
    grantUnscoped(
      grantee,
      'JitConfigSweepListPolicy',
      new iam.PolicyStatement({
        sid: 'JitConfigSweepList',
        actions: ['ssm:DescribeParameters'],
        resources: ['*'],
      }),
      "ssm:DescribeParameters supports no resource-level permissions; it returns names and dates only (never values) and the sweep filters on this fleet's path.",
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'JitConfigSweepDelete',
        actions: ['ssm:DeleteParameters'],
        resources: [this.parametersArn],
      }),
    );
  }
}
