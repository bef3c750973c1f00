import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { EnvName } from '../../functions/config/env-names.ts';
import type { JitConfigParameters } from './jit-config-parameters.ts';
import type { RunnerLauncherResources } from './runner-launcher.ts';

export const RUNNER_DIR = fileURLToPath(new URL('../../runner/', import.meta.url));

export interface CodeBuildRunnerProps {
  projectName: string;
  architecture: 'x64' | 'arm64';
  computeType: string;
  timeoutMinutes: number;
  logGroup: logs.ILogGroup;
  handOff: JitConfigParameters;
}

/**
 * The CodeBuild project whose every build is one ephemeral runner: the source is the repository's
 * `runner/` directory (an S3 asset), the buildspec runs `bootstrap.sh`, logs go to the runner log group.
 */
export class CodeBuildRunner extends Construct implements RunnerLauncherResources {
  readonly kind = 'codebuild';
  readonly project: codebuild.Project;
  readonly runnerRole: iam.Role;
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: CodeBuildRunnerProps) {
    super(scope, id);
    const source = new Asset(this, 'RunnerSource', {
      path: RUNNER_DIR,
      exclude: ['sample', 'sample/**', '*.md'],
    });
    this.runnerRole = new iam.Role(this, 'RunnerRole', {
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: 'jit-runners CodeBuild runner: reads its JIT-config hand-off and writes runner logs, nothing else',
    });
    props.handOff.grantPickUp(this.runnerRole);

    const image =
      props.architecture === 'arm64'
        ? codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
        : codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5;
    this.project = new codebuild.Project(this, 'Project', {
      projectName: props.projectName,
      description: 'jit-runners: one ephemeral GitHub Actions runner per build (runner/bootstrap.sh)',
      role: this.runnerRole,
      source: codebuild.Source.s3({ bucket: source.bucket, path: source.s3ObjectKey }),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: { build: { commands: ['bash ./bootstrap.sh'] } },
      }),
      environment: {
        buildImage: image,
        computeType: props.computeType as codebuild.ComputeType,
        privileged: false,
      },
      timeout: Duration.minutes(props.timeoutMinutes),
      queuedTimeout: Duration.minutes(30),
      // The AWS managed S3 key: the project produces no artifacts, but CodeBuild still wants a key for its cache/logs in S3.
      encryptionKey: kms.Alias.fromAliasName(this, 'S3Key', 'alias/aws/s3'),
      logging: { cloudWatch: { logGroup: props.logGroup, prefix: 'codebuild' } },
      badge: false,
    });
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) {
      Validations.of(this.runnerRole).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason:
          'Granted by the CDK CodeBuild S3 source binding on exactly the runner source object and its bucket (no object wildcard); CodeBuild needs it to fetch runner/.',
      });
    }
    // CodeBuild adds statements for its default log group and report groups to any project role; the
    // runner uses neither, but the wildcards are CDK's, so they are acknowledged with the evidence here.
    const stack = Stack.of(this);
    const projectLogicalId = stack.resolve((this.project.node.defaultChild as CfnElement).logicalId) as string;
    Validations.of(this.runnerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectLogicalId}>:*]`,
      reason:
        'Added by the CDK CodeBuild Project for its default log group; this project logs to the runner log group instead, so the grant is never used.',
    });
    Validations.of(this.runnerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${projectLogicalId}>-*]`,
      reason:
        'Added by the CDK CodeBuild Project for test report groups named after the project; the runner buildspec declares no reports.',
    });
    props.handOff.acknowledgeRunnerWildcard(this.runnerRole);
    this.environment = { [EnvName.codebuildProjectName]: this.project.projectName };
  }

  grantLaunch(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunnerBuilds',
        actions: [
          'codebuild:StartBuild',
          'codebuild:StopBuild',
          'codebuild:BatchGetBuilds',
          'codebuild:ListBuildsForProject',
        ],
        resources: [this.project.projectArn],
      }),
    );
  }

  /** Region-qualified project ARN (for event rules and docs). */
  get projectArn(): string {
    return Stack.of(this).formatArn({
      service: 'codebuild',
      resource: 'project',
      resourceName: this.project.projectName,
    });
  }
}
