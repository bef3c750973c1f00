import { ArnFormat, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { FLEET_TAG, RunnerEnv } from '../../functions/adapters/aws/runner-env.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { grantAssetRead } from './grant-asset-read.ts';
import { type JitConfigParameters, ReaderKey } from './jit-config-parameters.ts';
import type { RunnerLauncherResources } from './runner-launcher.ts';
import { addRunnerPolicies, type RunnerPolicy, WORKFLOW_AWS_ENV } from './runner-policies.ts';
import type { RunnerTarballBucket } from './runner-tarball-bucket.ts';
import { grantUnscoped } from './unscoped-statement.ts';

export interface Ec2RunnerProps {
  launchTemplateName: string;
  architecture: 'x64' | 'arm64';
  /** The launch template's type; a pool's other types are passed at launch (RUNNER_POOLS). */
  instanceType: string;
  /** Where the outbound-only security group is created; needed when `securityGroupIds` is empty. */
  vpcId: string | undefined;
  subnetIds: readonly string[];
  /** Existing security groups; empty: one with no inbound and outbound 80/443 only is created. */
  securityGroupIds?: readonly string[];
  useSpot: boolean;
  rootVolumeGiB: number;
  logGroup: logs.ILogGroup;
  handOff: JitConfigParameters;
  bootstrapPath: string;
  checksumsPath: string;
  /**
   * Default: the latest Amazon Linux 2023 of the architecture (public SSM parameter). `owner`: the
   * `ec2:Owner` the launch permission requires of the image (default: the deployment's account).
   */
  ami?: (({ id: string } | { ssmParameterName: string }) & { owner?: string | undefined }) | undefined;
  /** Install Docker and start it before the runner. Default false. */
  docker?: boolean;
  /** Extra permissions for workflows (their jobs then keep the instance credentials). Default none. */
  runnerPolicies?: readonly RunnerPolicy[];
  /** The fleet's tarball cache: the instances read their tarball there first (JR_RUNNER_CACHE_BUCKET). */
  tarballCache?: RunnerTarballBucket | undefined;
  /**
   * The pool keeps warm runners: the functions may then re-tag its instances with the job's runner name
   * when they hand a job to one (TagClaimedWarmRunners). Default false.
   */
  warm?: boolean;
}

const RUNNER_LOG_FILE = '/var/log/jit-runners/runner.log';

/** Runner-events maps `ec2/<instance id>` streams to their instance (functions/handlers/runner-events-input.ts). */
const RUNNER_STREAM_PREFIX = 'ec2/';
/** Docker from the Amazon Linux 2023 repository, started before the runner so the job can use it. */
const INSTALL_DOCKER = ['dnf install -y -q docker', 'systemctl enable --now docker'];

function machineImage(props: Ec2RunnerProps): ec2.IMachineImage {
  const ami = props.ami;
  if (ami !== undefined && 'id' in ami) {
    const imageId = ami.id;
    return {
      getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }),
    };
  }
  if (ami !== undefined)
    return ec2.MachineImage.fromSsmParameter(ami.ssmParameterName, { os: ec2.OperatingSystemType.LINUX });
  return ec2.MachineImage.latestAmazonLinux2023({
    cpuType: props.architecture === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
  });
}

/**
 * The EC2 launch template of the runners: Amazon Linux 2023 (or the pool's AMI), IMDSv2 required with
 * instance tags in the metadata (the bootstrap reads its JR_* tags there), encrypted root volume,
 * terminate on shutdown, and user data that ships runner logs to the runner log group, installs Docker
 * when asked and runs the same `bootstrap.sh` as CodeBuild.
 */
export class Ec2Runner extends Construct implements RunnerLauncherResources {
  readonly kind = 'ec2';
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly runnerRole: iam.Role;
  /** The outbound-only group created for the runners; undefined when the pool gave its own groups. */
  readonly securityGroup: ec2.CfnSecurityGroup | undefined;
  /** The security group ids the runners launch with. */
  readonly securityGroupIds: readonly string[];
  readonly subnetIds: readonly string[];
  readonly environment: Record<string, string>;
  /** The `ec2:Owner` of the template's image: `amazon` for the default Amazon Linux, else the AMI's owner. */
  readonly imageOwner: string;
  /** Whether the pool keeps warm runners (the functions then tag claimed instances). */
  readonly warm: boolean;

  constructor(scope: Construct, id: string, props: Ec2RunnerProps) {
    super(scope, id);
    this.subnetIds = props.subnetIds;
    this.warm = props.warm ?? false;
    this.imageOwner = props.ami === undefined ? 'amazon' : (props.ami.owner ?? Stack.of(this).account);
    this.runnerRole = new iam.Role(this, 'RunnerRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'jit-runners EC2 runner: reads its JIT-config hand-off and writes runner logs, nothing else',
    });
    // The instance reads the one hand-off tagged with its own instance ARN (`ec2:SourceInstanceARN`).
    props.handOff.grantPickUp(this.runnerRole, ReaderKey.instance);
    this.runnerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ShipRunnerLogs',
        // Create and write instance streams only (`ec2/i-…`): no DescribeLogStreams, so a job cannot
        // list other runners' streams. The agent needs none: its pusher (amazon-cloudwatch-agent,
        // plugins/outputs/cloudwatchlogs/internal/pusher) creates its stream when PutLogEvents answers
        // ResourceNotFound and describes log groups only for a retention setting, which it is not given. IAM cannot narrow this to the instance's own stream: the only per-instance values a
        // policy can name (`ec2:SourceInstanceARN`, `aws:userid`) contain a colon, which a stream name
        // cannot (docs/deploy.md "Threat model").
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${props.logGroup.logGroupName}:log-stream:${RUNNER_STREAM_PREFIX}i-*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    const bootstrap = new Asset(this, 'Bootstrap', { path: props.bootstrapPath });
    const checksums = new Asset(this, 'Checksums', { path: props.checksumsPath });
    grantAssetRead(this.runnerRole, bootstrap, false);
    grantAssetRead(this.runnerRole, checksums, false);
    props.tarballCache?.grantTarballRead(this.runnerRole);
    props.handOff.acknowledgeRunnerWildcard(this.runnerRole);
    Validations.of(this.runnerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<${Stack.of(this).resolve((props.logGroup.node.defaultChild as CfnElement).logicalId) as string}>:log-stream:${RUNNER_STREAM_PREFIX}i-*]`,
      reason:
        'The CloudWatch agent creates one stream per instance (ec2/<instance id>) in the runner log group; instance ids are unknown at deploy time, and no policy variable holds a bare instance id.',
    });
    const policies = props.runnerPolicies ?? [];
    addRunnerPolicies(this.runnerRole, policies);

    const given = props.securityGroupIds ?? [];
    if (given.length > 0) {
      this.securityGroup = undefined;
      this.securityGroupIds = given;
    } else {
      this.securityGroup = new ec2.CfnSecurityGroup(this, 'SecurityGroup', {
        groupDescription: 'jit-runners EC2 runners: no inbound, outbound HTTP(S) only',
        vpcId: props.vpcId ?? '',
        securityGroupEgress: [
          {
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            cidrIp: '0.0.0.0/0',
            description: 'GitHub, AWS APIs, packages',
          },
          { ipProtocol: 'tcp', fromPort: 80, toPort: 80, cidrIp: '0.0.0.0/0', description: 'package mirrors' },
        ],
      });
      this.securityGroupIds = [this.securityGroup.attrGroupId];
    }

    const userData = ec2.UserData.forLinux();
    const agentConfig = JSON.stringify({
      logs: {
        logs_collected: {
          files: {
            collect_list: [
              {
                file_path: RUNNER_LOG_FILE,
                log_group_name: props.logGroup.logGroupName,
                log_stream_name: `${RUNNER_STREAM_PREFIX}{instance_id}`,
              },
            ],
          },
        },
      },
    });
    userData.addCommands(
      'set -euo pipefail',
      // A failed user data must not leave an instance running: terminate (shutdown behaviour) on any exit.
      "trap 'shutdown -h now' EXIT",
      'dnf install -y -q libicu git amazon-cloudwatch-agent',
      ...(props.docker ? INSTALL_DOCKER : []),
      `mkdir -p /opt/jit-runners ${RUNNER_LOG_FILE.replace(/\/[^/]+$/, '')}`,
      `cat > /opt/jit-runners/cloudwatch-agent.json <<'JSON'\n${agentConfig}\nJSON`,
      '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/jit-runners/cloudwatch-agent.json',
    );
    userData.addS3DownloadCommand({
      bucket: bootstrap.bucket,
      bucketKey: bootstrap.s3ObjectKey,
      localFile: '/opt/jit-runners/bootstrap.sh',
    });
    userData.addS3DownloadCommand({
      bucket: checksums.bucket,
      bucketKey: checksums.s3ObjectKey,
      localFile: '/opt/jit-runners/checksums.json',
    });
    const workflowAws = policies.length > 0 ? `${WORKFLOW_AWS_ENV}=1 ` : '';
    const cache =
      props.tarballCache === undefined ? '' : `${RunnerEnv.runnerCacheBucket}=${props.tarballCache.bucket.bucketName} `;
    userData.addCommands(
      `${workflowAws}${cache}JR_PLATFORM=ec2 JR_LOG_FILE=${RUNNER_LOG_FILE} JR_RUNNER_DIR=/opt/jit-runners/runner bash /opt/jit-runners/bootstrap.sh || true`,
      // Give the agent a moment to ship the last lines before the instance goes away.
      '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a stop || true',
    );

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      launchTemplateName: props.launchTemplateName,
      machineImage: machineImage(props),
      instanceType: new ec2.InstanceType(props.instanceType),
      role: this.runnerRole,
      userData,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroupRef', this.securityGroupIds[0] ?? ''),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    this.securityGroupIds.slice(1).forEach((groupId, i) => {
      this.launchTemplate.addSecurityGroup(
        ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroupRef${i + 1}`, groupId),
      );
    });

    this.environment = {
      [EnvName.ec2LaunchTemplateId]: this.launchTemplate.launchTemplateId ?? '',
      [EnvName.ec2SubnetIds]: props.subnetIds.join(','),
      [EnvName.ec2InstanceType]: props.instanceType,
      [EnvName.ec2UseSpot]: String(props.useSpot),
    };
  }

  grantLaunch(grantee: iam.IGrantable): void {
    Ec2Runner.grantLaunchAll(grantee, [this]);
  }

  /**
   * Lets a function launch from the launch templates of every EC2 pool, into their subnets and security
   * groups, pass their runner roles to EC2, and terminate only instances tagged with one of the templates.
   * One statement per purpose for all pools (statement ids are unique per policy).
   */
  static grantLaunchAll(grantee: iam.IGrantable, runners: readonly Ec2Runner[]): void {
    const first = runners[0];
    if (first === undefined) return;
    const stack = Stack.of(first);
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal)) {
      const region = '<AWS::Region>';
      const account = '<AWS::AccountId>';
      const launched = ['instance', 'volume', 'network-interface', 'spot-instances-request'];
      for (const resource of launched) {
        Validations.of(principal).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:${account}:${resource}/*]`,
          reason: `RunInstances creates the ${resource} it is authorised on, so its id cannot exist at deploy time; termination is further limited by the ${FLEET_TAG} tag condition and tagging to RunInstances itself.`,
        });
      }
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}::image/*]`,
        reason:
          'The launch templates resolve their AMI at deploy time (by default the latest Amazon Linux 2023 from its public SSM parameter); its id changes with every AMI release.',
      });
    }
    const arn = (resource: string, name = '*') =>
      stack.formatArn({ service: 'ec2', resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const unique = (values: string[]) => [...new Set(values)];
    const templateIds = runners.map((r) => r.launchTemplate.launchTemplateId ?? '*');
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunRunnerFromTemplate',
        actions: ['ec2:RunInstances'],
        resources: [
          ...templateIds.map((t) => arn('launch-template', t)),
          arn('instance'),
          arn('volume'),
          arn('network-interface'),
          ...unique(runners.flatMap((r) => [...r.subnetIds])).map((id) => arn('subnet', id)),
          ...unique(runners.flatMap((r) => [...r.securityGroupIds])).map((id) => arn('security-group', id)),
          arn('spot-instances-request'),
        ],
      }),
    );
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunRunnerImage',
        actions: ['ec2:RunInstances'],
        // Image ARNs carry no account, and the id changes with every AMI release: the image is held to
        // its owner instead, so a launch with another owner's image (a public, look-alike AMI) is refused.
        resources: [
          stack.formatArn({
            service: 'ec2',
            account: '',
            resource: 'image',
            resourceName: '*',
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
        conditions: { StringEquals: { 'ec2:Owner': unique(runners.map((r) => r.imageOwner)) } },
      }),
    );
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagRunnersAtLaunch',
        actions: ['ec2:CreateTags'],
        resources: [arn('instance'), arn('volume'), arn('spot-instances-request')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    const warmTemplates = runners.filter((r) => r.warm).map((r) => r.launchTemplate.launchTemplateId ?? '*');
    if (warmTemplates.length > 0) {
      principal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'TagClaimedWarmRunners',
          actions: ['ec2:CreateTags'],
          resources: [arn('instance')],
          // Handing a job to a warm instance renames it to the job's runner (listActive, runner-events and
          // the orphan sweep read JR_RUNNER_NAME): only those two keys, only on instances of warm pools.
          conditions: {
            StringEquals: {
              [`aws:ResourceTag/${FLEET_TAG}`]: warmTemplates.length === 1 ? warmTemplates[0] : warmTemplates,
            },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['Name', RunnerEnv.runnerName] },
          },
        }),
      );
    }
    const roles = runners.map((r) => r.runnerRole.roleArn);
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassRunnerRole',
        actions: ['iam:PassRole'],
        resources: roles,
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TerminateOwnRunners',
        actions: ['ec2:TerminateInstances'],
        resources: [arn('instance')],
        // The fleet tag's value is the launch template id of the pool (RUNNER_POOLS / EC2_LAUNCH_TEMPLATE_ID).
        conditions: {
          StringEquals: { [`aws:ResourceTag/${FLEET_TAG}`]: templateIds.length === 1 ? templateIds[0] : templateIds },
        },
      }),
    );
    grantUnscoped(
      grantee,
      'DescribeRunnersPolicy',
      new iam.PolicyStatement({
        sid: 'DescribeRunners',
        actions: ['ec2:DescribeInstances'],
        resources: ['*'],
      }),
      'ec2:DescribeInstances supports no resource-level permissions; it reads instance metadata only, and the launcher filters the listing by the fleet tag.',
    );
  }
}
