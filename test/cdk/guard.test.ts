import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { DeploymentConfigInput } from '../../cdk/deployment-config.ts';
import { JitRunnersStack } from '../../cdk/jit-runners-stack.ts';
import { addGuardChecks } from '../../cdk/nag.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';

/**
 * The second validator: the AWS Control Tower proactive controls (CloudFormation Guard rules run by
 * @cdklabs/cdk-validator-cfnguard's bundled cfn-guard binary, offline) over the synthesized stacks.
 * Every rule runs; the accepted findings are acknowledged on their resources (docs/decisions.md).
 */

interface Outcome {
  error: unknown;
  /** Unacknowledged violations of the Guard plugin, as `rule construct-path`. */
  violations: string[];
  rulesRun: number;
}

interface GuardReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

function guard(config: DeploymentConfigInput, pools?: JitRunnersPool[], extra?: (stack: JitRunnersStack) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'jr-guard-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new JitRunnersStack(app, 'Guarded', { stackName: 'Guarded', config, ...(pools ? { pools } : {}) });
  extra?.(stack);
  addGuardChecks(app);
  let error: unknown;
  try {
    app.synth();
  } catch (e) {
    error = e;
  }
  let report: GuardReport = { pluginReports: [] };
  try {
    report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as GuardReport;
  } catch {
    // No report file: nothing was reported.
  }
  const violations = report.pluginReports
    .filter((p) => p.pluginName === 'cdk-validator-cfnguard')
    .flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
  const rulesRun = readdirRules();
  return { error, violations, rulesRun } satisfies Outcome;
}

/** How many Control Tower rules the validator runs (its ids, read from its bundled rules; none disabled). */
function readdirRules(): number {
  return new CfnGuardValidator().ruleIds?.length ?? 0;
}

const VPC = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] };
const TWO_POOLS: JitRunnersPool[] = [
  {
    name: 'docker',
    labels: ['self-hosted', 'linux', 'x64', 'docker'],
    codebuild: { docker: true, vpc: VPC },
  },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    ec2: {
      architecture: 'arm64',
      instanceTypes: ['m7g.large'],
      spot: true,
      subnetIds: VPC.subnetIds,
      vpcId: VPC.vpcId,
    },
  },
];

describe('Control Tower proactive controls (cfn-guard) on the synthesized stacks', () => {
  it('runs every bundled rule (none disabled)', () => {
    expect(readdirRules()).toBeGreaterThan(200);
  });

  it.each([
    ['a CodeBuild stack', { appId: 7 }, undefined],
    ['an EC2 stack', { appId: 7, launcher: 'ec2', ...VPC }, undefined],
    ['a two-pool stack (CodeBuild with Docker in a VPC, EC2 spot)', { appId: 7 }, TWO_POOLS],
  ] as Array<[string, DeploymentConfigInput, JitRunnersPool[] | undefined]>)(
    'reports nothing for %s',
    (_, config, pools) => {
      const outcome = guard(config, pools);
      expect(outcome.violations).toEqual([]);
      expect(outcome.error).toBeUndefined();
    },
  );

  it('with an alarm topic and a year of log retention, needs neither of those acknowledgements', () => {
    const outcome = guard({
      appId: 7,
      logRetentionDays: 365,
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall',
    });
    expect(outcome.violations).toEqual([]);
  });

  it('fails the synth on a resource that breaks a rule nobody acknowledged, and names it', () => {
    const outcome = guard({ appId: 7 }, undefined, (stack) => {
      new sqs.Queue(stack, 'StrayQueue');
      new logs.LogGroup(stack, 'StrayLogs', { retention: logs.RetentionDays.ONE_WEEK });
    });
    expect(outcome.violations.filter((v) => v.includes('/Stray')).sort()).toEqual(
      [
        'cloudwatch_log_group_encrypted_check Guarded/StrayLogs/Resource',
        'cloudwatch_log_group_retention_period_check Guarded/StrayLogs/Resource',
        'sqs_dlq_check Guarded/StrayQueue/Resource',
        'sqs_queue_encrypted_check Guarded/StrayQueue/Resource',
      ].sort(),
    );
    expect(outcome.error).toBeInstanceOf(Error);
    expect(String(outcome.error)).toContain("Acknowledge with 'cdk-validator-cfnguard::sqs_dlq_check'");
  });
});
