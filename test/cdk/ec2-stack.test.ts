import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvName } from '../../functions/config/env-names.ts';
import {
  actionsOf,
  logicalId,
  resourcesOfType,
  type Statement,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './synth-helpers.ts';

let s: Synthesized;
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:oncall';

describe('JitRunnersStack (EC2 launcher, arm64, spot)', () => {
  beforeAll(() => {
    s = synthesize(
      {
        appId: 42,
        launcher: 'ec2',
        architecture: 'arm64',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        useSpot: true,
        webhookReservedConcurrency: 5,
        reconcileIntervalSeconds: 300,
        logRetentionDays: 14,
        alarmTopicArn: TOPIC,
      },
      'Fleet2',
    );
  });

  it('passes the cdk-nag AwsSolutions checks with only reasoned acknowledgements', () => {
    expect(s.json.Resources).toBeDefined();
  });

  describe('launch template', () => {
    it('requires IMDSv2, exposes instance tags to the bootstrap and terminates on shutdown', () => {
      s.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateName: 'Fleet2-runner',
        LaunchTemplateData: Match.objectLike({
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
          InstanceInitiatedShutdownBehavior: 'terminate',
          InstanceType: 'm7g.large',
        }),
      });
    });

    it('encrypts the root volume and deletes it with the instance', () => {
      s.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: Match.objectLike({
          BlockDeviceMappings: [
            {
              DeviceName: '/dev/xvda',
              Ebs: { Encrypted: true, DeleteOnTermination: true, VolumeSize: 30, VolumeType: 'gp3' },
            },
          ],
        }),
      });
    });

    it('boots Amazon Linux 2023 for arm64 and runs the same bootstrap as CodeBuild from user data', () => {
      const [lt] = resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate');
      const data = lt?.Properties.LaunchTemplateData as { UserData: unknown } | undefined;
      const userData = JSON.stringify(data?.UserData);
      expect(userData).toContain('/opt/jit-runners/bootstrap.sh');
      expect(userData).toContain('JR_PLATFORM=ec2');
      expect(userData).toContain('amazon-cloudwatch-agent');
      expect(userData).not.toMatch(/jitconfig|JR_PARAMETER=/i);
      expect(JSON.stringify(s.json.Parameters)).toMatch(/ami-amazon-linux-latest\/al2023-ami-kernel-[0-9.]+-arm64/);
    });

    it('has a security group with no inbound rule', () => {
      const [sg] = resourcesOfType(s.json, 'AWS::EC2::SecurityGroup');
      expect(sg?.Properties.VpcId).toBe('vpc-0123456789abcdef0');
      expect(sg?.Properties).not.toHaveProperty('SecurityGroupIngress');
      expect(resourcesOfType(s.json, 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
    });
  });

  it('hands the EC2 settings to the functions', () => {
    for (const fn of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({
        [EnvName.launcher]: 'ec2',
        [EnvName.ec2SubnetIds]: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
        [EnvName.ec2InstanceType]: 'm7g.large',
        [EnvName.ec2UseSpot]: 'true',
        [EnvName.ec2LaunchTemplateId]: { Ref: expect.stringMatching(/LaunchTemplate/) },
        [EnvName.runnerLabels]: 'self-hosted,linux,arm64',
        [EnvName.reconcileIntervalSeconds]: '300',
      });
      expect(env).not.toHaveProperty(EnvName.codebuildProjectName);
    }
  });

  it('reserves the configured webhook concurrency', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'Fleet2-webhook',
      ReservedConcurrentExecutions: 5,
    });
  });

  it('schedules the reconciler from the configured interval', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  it('feeds runner-events with EC2 instance state changes', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(s.stack, s.stack.functions.runnerEvents.fn), 'Arn'] } }),
      ],
    });
  });

  describe('least privilege', () => {
    const provisioner = () => statementsOfRole(s.json, logicalId(s.stack, s.stack.functions.provisioner.role));

    it('launches only from the runner launch template, into the configured subnets and security group', () => {
      const run = provisioner().find((st) => actionsOf(st).includes('ec2:RunInstances')) as Statement;
      const resources = JSON.stringify(run.Resource);
      expect(resources).toContain('launch-template/');
      expect(resources).toContain('subnet/subnet-0123456789abcdef0');
      expect(resources).toContain('subnet/subnet-0123456789abcdef1');
      expect(resources).not.toContain('subnet/*');
      expect(resources).not.toContain('security-group/*');
    });

    it('terminates only instances tagged with this fleet and tags only at launch', () => {
      const terminate = provisioner().find((st) => actionsOf(st).includes('ec2:TerminateInstances'));
      expect(terminate?.Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/jit-runners:fleet': { Ref: expect.stringMatching(/LaunchTemplate/) } },
      });
      const tag = provisioner().find((st) => actionsOf(st).includes('ec2:CreateTags'));
      expect(tag?.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
    });

    it('passes the runner role to EC2 only', () => {
      const pass = provisioner().find((st) => actionsOf(st).includes('iam:PassRole'));
      expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
      expect(pass?.Resource).toEqual({
        'Fn::GetAtt': [logicalId(s.stack, s.stack.launcher.runnerRole as never), 'Arn'],
      });
    });

    // What each runner can do to another is proven by evaluating these policies: test/cdk/iam-matrix.test.ts.
    it('gives the instance role the read of its own hand-off (by instance ARN), its bootstrap files and its logs, no delete, nothing of the table or secrets', () => {
      const statements = statementsOfRole(s.json, logicalId(s.stack, s.stack.launcher.runnerRole as never));
      const actions = statements.flatMap(actionsOf);
      expect(actions).toEqual(expect.arrayContaining(['ssm:GetParameter', 's3:GetObject', 'logs:PutLogEvents']));
      expect(actions.filter((a) => a.startsWith('ssm:Delete') || a === 'logs:DescribeLogStreams')).toEqual([]);
      expect(statements.find((st) => st.Sid === 'JitConfigPickUp')?.Condition).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, literally
        StringEquals: { 'aws:ResourceTag/jit-runners:reader': '${ec2:SourceInstanceARN}' },
      });
      expect(actions.some((a) => /^(dynamodb|secretsmanager|ec2|lambda):/.test(a))).toBe(false);
      expect(JSON.stringify(statements)).not.toMatch(/AppPrivateKey|WebhookSecret|StateTable/);
    });
  });

  it('notifies the configured topic from every alarm', () => {
    for (const alarm of resourcesOfType(s.json, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual([TOPIC]);
    }
  });

  it('keeps logs for the configured retention', () => {
    for (const g of resourcesOfType(s.json, 'AWS::Logs::LogGroup')) expect(g.Properties.RetentionInDays).toBe(14);
  });
});
