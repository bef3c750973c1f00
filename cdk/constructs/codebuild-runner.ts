import { fileURLToPath } from 'node:url';
import { ArnFormat, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { RunnerEnv } from '../../functions/adapters/aws/runner-env.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import type { CuratedCodeBuildImage } from '../pool-props.ts';
import { assetObjectSource, grantAssetRead } from './grant-asset-read.ts';
import { type JitConfigParameters, ReaderKey } from './jit-config-parameters.ts';
import type { RunnerLauncherResources } from './runner-launcher.ts';
import { addRunnerPolicies, type RunnerPolicy, WORKFLOW_AWS_ENV } from './runner-policies.ts';
import type { RunnerTarballBucket } from './runner-tarball-bucket.ts';

export const RUNNER_DIR = fileURLToPath(new URL('../../runner/', import.meta.url));
/** CodeBuild names a build's stream `<prefix>/<build uuid>`; runner-events maps it back to the build. */
const BUILD_STREAM_PREFIX = 'codebuild';

export interface CodeBuildRunnerProps {
  projectName: string;
  architecture: 'x64' | 'arm64';
  computeType: string;
  timeoutMinutes: number;
  logGroup: logs.ILogGroup;
  handOff: JitConfigParameters;
  /** Default `amazon-linux-2023`. */
  image?: CuratedCodeBuildImage | { ecrRepositoryName: string; tag: string };
  /** Privileged mode (Docker) for this project only. Default false. */
  docker?: boolean;
  /** Builds in this VPC; no security group ids: one with outbound 80/443 only is created. */
  vpc?: { vpcId: string; subnetIds: readonly string[]; securityGroupIds: readonly string[] } | undefined;
  /** Extra permissions for workflows (their jobs then keep the role's credentials). Default none. */
  runnerPolicies?: readonly RunnerPolicy[];
  /** The fleet's tarball cache: the builds read their tarball there first (JR_RUNNER_CACHE_BUCKET). */
  tarballCache?: RunnerTarballBucket | undefined;
  /**
   * The pool keeps warm runners idle up to this many minutes: a warm build waits that long for its job
   * before it runs the job, so the build timeout is `timeoutMinutes` plus this (rounded up). Unset: no warm runners.
   */
  warmMaxIdleMinutes?: number | undefined;
}

/** The CodeBuild image of a curated name or an ECR repository, for the architecture and compute type. */
function buildImage(scope: Construct, props: CodeBuildRunnerProps): codebuild.IBuildImage {
  const arm = props.architecture === 'arm64';
  const image = props.image ?? 'amazon-linux-2023';
  if (typeof image !== 'string') {
    const repository = ecr.Repository.fromRepositoryName(scope, 'ImageRepository', image.ecrRepositoryName);
    return arm
      ? codebuild.LinuxArmBuildImage.fromEcrRepository(repository, image.tag)
      : codebuild.LinuxBuildImage.fromEcrRepository(repository, image.tag);
  }
  if (props.computeType.startsWith('BUILD_LAMBDA_')) {
    return arm
      ? codebuild.LinuxArmLambdaBuildImage.AMAZON_LINUX_2023_NODE_22
      : codebuild.LinuxLambdaBuildImage.AMAZON_LINUX_2023_NODE_22;
  }
  if (image === 'ubuntu') return codebuild.LinuxBuildImage.STANDARD_7_0;
  return arm
    ? codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
    : codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5;
}

/**
 * Curated images start the Docker daemon themselves in privileged mode; a custom image may not, so the
 * build starts it when `docker info` fails, and waits for it.
 */
const START_DOCKER = [
  'if ! docker info >/dev/null 2>&1; then (nohup dockerd >/tmp/dockerd.log 2>&1 &); timeout 60 sh -c "until docker info >/dev/null 2>&1; do sleep 1; done"; fi',
];

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
    // The build reads the one hand-off tagged with its own build ARN (`${codebuild:buildArn}`).
    props.handOff.grantPickUp(this.runnerRole, ReaderKey.build);

    const image = buildImage(this, props);
    const docker = props.docker ?? false;
    const policies = props.runnerPolicies ?? [];
    const network = props.vpc === undefined ? {} : this.#network(props.vpc);
    this.project = new codebuild.Project(this, 'Project', {
      projectName: props.projectName,
      description: 'jit-runners: one ephemeral GitHub Actions runner per build (runner/bootstrap.sh)',
      role: this.runnerRole,
      // The runner source object only: no listing of the CDK assets bucket (grant-asset-read.ts).
      source: assetObjectSource(source),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          ...(docker ? { pre_build: { commands: START_DOCKER } } : {}),
          build: { commands: ['bash ./bootstrap.sh'] },
        },
      }),
      environment: {
        buildImage: image,
        computeType: props.computeType as codebuild.ComputeType,
        // Privileged only for a pool that asked for Docker: it gives the build root on the host's kernel.
        privileged: docker,
        environmentVariables: {
          ...(policies.length > 0 ? { [WORKFLOW_AWS_ENV]: { value: '1' } } : {}),
          ...(props.tarballCache === undefined
            ? {}
            : { [RunnerEnv.runnerCacheBucket]: { value: props.tarballCache.bucket.bucketName } }),
        },
      },
      ...network,
      ...(props.computeType.startsWith('BUILD_LAMBDA_')
        ? {}
        : {
            timeout: Duration.minutes(props.timeoutMinutes + Math.ceil(props.warmMaxIdleMinutes ?? 0)),
            queuedTimeout: Duration.minutes(30),
          }),
      // The AWS managed S3 key: the project produces no artifacts, but CodeBuild still wants a key for its cache/logs in S3.
      encryptionKey: kms.Alias.fromAliasName(this, 'S3Key', 'alias/aws/s3'),
      logging: { cloudWatch: { logGroup: this.#buildStreamsOnly(props.logGroup), prefix: BUILD_STREAM_PREFIX } },
      badge: false,
    });
    grantAssetRead(this.runnerRole, source, true);
    props.tarballCache?.grantTarballRead(this.runnerRole);
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
    Validations.of(this.runnerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<${stack.resolve((props.logGroup.node.defaultChild as CfnElement).logicalId) as string}>:log-stream:${BUILD_STREAM_PREFIX}/*]`,
      reason:
        'CodeBuild writes each build to its own stream codebuild/<build uuid> with this role; build ids are unknown at deploy time, and no policy variable holds a bare build uuid.',
    });
    if (typeof props.image === 'object') {
      Validations.of(this.runnerRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken (added by CDK for the custom build image) supports no resource-level permissions; the pulls are limited to the image repository.',
      });
    }
    if (props.vpc !== undefined) this.#acknowledgeVpc();
    addRunnerPolicies(this.runnerRole, policies);
    this.environment = { [EnvName.codebuildProjectName]: this.project.projectName };
  }

  /**
   * The runner log group as the project sees it, so that its write grant covers the build streams
   * (`codebuild/<build uuid>`, which CodeBuild writes with this role) and not the whole group: CDK's
   * Project grants `logGroup.grantWrite`, i.e. every stream. IAM cannot narrow it to the build's own
   * stream (the build ARN holds a colon, which a stream name cannot), and a job holds the role's
   * credentials, so what this keeps out is every stream that is not a build's (docs/deploy.md "Threat model").
   */
  #buildStreamsOnly(logGroup: logs.ILogGroup): logs.ILogGroup {
    const streams = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${logGroup.logGroupName}:log-stream:${BUILD_STREAM_PREFIX}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // Project reads the group's name (logGroupRef) and calls grantWrite; nothing else of the group.
    return Object.create(logGroup, {
      grantWrite: {
        value: (grantee: iam.IGrantable) =>
          iam.Grant.addToPrincipal({
            grantee,
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resourceArns: [streams],
          }),
      },
    }) as logs.ILogGroup;
  }

  /** VPC, subnets and security groups of the builds (imported by id: synth stays offline). */
  #network(vpc: NonNullable<CodeBuildRunnerProps['vpc']>): Partial<codebuild.ProjectProps> {
    const imported = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: vpc.vpcId,
      availabilityZones: vpc.subnetIds.map((_, i) => `az-${i}`),
    });
    const securityGroups =
      vpc.securityGroupIds.length > 0
        ? vpc.securityGroupIds.map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id))
        : [this.#outboundOnlyGroup(imported)];
    return {
      vpc: imported,
      subnetSelection: { subnets: vpc.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id)) },
      securityGroups,
    };
  }

  #outboundOnlyGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'jit-runners CodeBuild runners: no inbound, outbound HTTP(S) only',
      allowAllOutbound: false,
    });
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'GitHub, AWS APIs, packages');
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'package mirrors');
    return group;
  }

  #acknowledgeVpc(): void {
    // The Resource::* statements CDK's Project puts in a policy of their own for builds in a VPC (its
    // child `PolicyDocument`): acknowledged there only, so a wildcard elsewhere on the role is reported.
    const vpcPolicy = this.project.node.findChild('PolicyDocument');
    Validations.of(vpcPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by CDK for builds in a VPC: CodeBuild creates, describes and deletes the build network interfaces (ec2:CreateNetworkInterface, Describe*), which support no resource-level permissions.',
    });
    // An exact resource, in the role's default policy (CDK adds it there).
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
      reason:
        'Added by CDK for builds in a VPC: ec2:CreateNetworkInterfacePermission on the interfaces CodeBuild creates per build (ids unknown at deploy time), limited by condition to the listed subnets and to CodeBuild.',
    });
  }

  grantLaunch(grantee: iam.IGrantable): void {
    CodeBuildRunner.grantLaunchAll(grantee, [this]);
  }

  /** One statement for the projects of every CodeBuild pool (statement ids are unique per policy). */
  static grantLaunchAll(grantee: iam.IGrantable, runners: readonly CodeBuildRunner[]): void {
    if (runners.length === 0) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunnerBuilds',
        actions: [
          'codebuild:StartBuild',
          'codebuild:StopBuild',
          'codebuild:BatchGetBuilds',
          'codebuild:ListBuildsForProject',
        ],
        resources: runners.map((r) => r.project.projectArn),
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
