import { ArnFormat, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { FLEET_TAG } from '../../functions/adapters/aws/runner-env.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { grantAssetRead } from './grant-asset-read.ts';
import type { JitConfigParameters } from './jit-config-parameters.ts';
import type { RunnerLauncherResources } from './runner-launcher.ts';

export interface Ec2RunnerProps {
  launchTemplateName: string;
  architecture: 'x64' | 'arm64';
  instanceType: string;
  vpcId: string;
  subnetIds: readonly string[];
  useSpot: boolean;
  rootVolumeGiB: number;
  logGroup: logs.ILogGroup;
  handOff: JitConfigParameters;
  bootstrapPath: string;
  checksumsPath: string;
}

const RUNNER_LOG_FILE = '/var/log/jit-runners/runner.log';

/**
 * The EC2 launch template of the runners: Amazon Linux 2023, IMDSv2 required with instance tags in the
 * metadata (the bootstrap reads its JR_* tags there), encrypted root volume, terminate on shutdown, and
 * user data that ships runner logs to the runner log group and runs the same `bootstrap.sh` as CodeBuild.
 */
export class Ec2Runner extends Construct implements RunnerLauncherResources {
  readonly kind = 'ec2';
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly runnerRole: iam.Role;
  readonly securityGroup: ec2.CfnSecurityGroup;
  readonly environment: Record<string, string>;
  readonly #subnetIds: readonly string[];

  constructor(scope: Construct, id: string, props: Ec2RunnerProps) {
    super(scope, id);
    this.#subnetIds = props.subnetIds;
    this.runnerRole = new iam.Role(this, 'RunnerRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'jit-runners EC2 runner: reads its JIT-config hand-off and writes runner logs, nothing else',
    });
    props.handOff.grantPickUp(this.runnerRole);
    this.runnerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ShipRunnerLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [props.logGroup.logGroupArn, `${props.logGroup.logGroupArn}:log-stream:*`],
      }),
    );

    const bootstrap = new Asset(this, 'Bootstrap', { path: props.bootstrapPath });
    const checksums = new Asset(this, 'Checksums', { path: props.checksumsPath });
    grantAssetRead(this.runnerRole, bootstrap, false);
    grantAssetRead(this.runnerRole, checksums, false);
    props.handOff.acknowledgeRunnerWildcard(this.runnerRole);
    Validations.of(this.runnerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve((props.logGroup.node.defaultChild as CfnElement).logicalId) as string}.Arn>:log-stream:*]`,
      reason:
        'The CloudWatch agent creates one stream per instance (ec2/<instance id>) in the runner log group; stream names are unknown at deploy time.',
    });

    this.securityGroup = new ec2.CfnSecurityGroup(this, 'SecurityGroup', {
      groupDescription: 'jit-runners EC2 runners: no inbound, outbound HTTP(S) only',
      vpcId: props.vpcId,
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

    const userData = ec2.UserData.forLinux();
    const agentConfig = JSON.stringify({
      logs: {
        logs_collected: {
          files: {
            collect_list: [
              {
                file_path: RUNNER_LOG_FILE,
                log_group_name: props.logGroup.logGroupName,
                log_stream_name: 'ec2/{instance_id}',
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
    userData.addCommands(
      `JR_PLATFORM=ec2 JR_LOG_FILE=${RUNNER_LOG_FILE} JR_RUNNER_DIR=/opt/jit-runners/runner bash /opt/jit-runners/bootstrap.sh || true`,
      // Give the agent a moment to ship the last lines before the instance goes away.
      '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a stop || true',
    );

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      launchTemplateName: props.launchTemplateName,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: props.architecture === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      instanceType: new ec2.InstanceType(props.instanceType),
      role: this.runnerRole,
      userData,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroupRef', this.securityGroup.attrGroupId),
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

    this.environment = {
      [EnvName.ec2LaunchTemplateId]: this.launchTemplate.launchTemplateId ?? '',
      [EnvName.ec2SubnetIds]: props.subnetIds.join(','),
      [EnvName.ec2InstanceType]: props.instanceType,
      [EnvName.ec2UseSpot]: String(props.useSpot),
    };
  }

  grantLaunch(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
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
          'The launch template resolves the latest Amazon Linux 2023 AMI from the public SSM parameter at deploy time; its id changes with every AMI release.',
      });
      Validations.of(principal).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ec2:DescribeInstances supports no resource-level permissions (listing is filtered by the fleet tag in code).',
      });
    }
    const arn = (resource: string, name = '*') =>
      stack.formatArn({ service: 'ec2', resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const policy = grantee.grantPrincipal;
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunRunnerFromTemplate',
        actions: ['ec2:RunInstances'],
        resources: [
          arn('launch-template', this.launchTemplate.launchTemplateId ?? '*'),
          arn('instance'),
          arn('volume'),
          arn('network-interface'),
          ...this.#subnetIds.map((id) => arn('subnet', id)),
          arn('security-group', this.securityGroup.attrGroupId),
          stack.formatArn({
            service: 'ec2',
            account: '',
            resource: 'image',
            resourceName: '*',
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
          arn('spot-instances-request'),
        ],
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagRunnersAtLaunch',
        actions: ['ec2:CreateTags'],
        resources: [arn('instance'), arn('volume'), arn('spot-instances-request')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassRunnerRole',
        actions: ['iam:PassRole'],
        resources: [this.runnerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TerminateOwnRunners',
        actions: ['ec2:TerminateInstances'],
        resources: [arn('instance')],
        // The fleet tag's value is the launch template id (the functions know it from EC2_LAUNCH_TEMPLATE_ID).
        conditions: { StringEquals: { [`aws:ResourceTag/${FLEET_TAG}`]: this.launchTemplate.launchTemplateId } },
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeRunners',
        // Describe* calls support no resource-level permissions.
        actions: ['ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
  }
}
