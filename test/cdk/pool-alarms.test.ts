import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PoolAlarmKind, WHAT_TO_DO } from '../../cdk/constructs/monitoring.ts';
import {
  configFromContext,
  DeploymentConfigError,
  type DeploymentConfigInput,
  resolveDeploymentConfig,
} from '../../cdk/deployment-config.ts';
import { JitRunners } from '../../cdk/jit-runners.ts';
import { type JitRunnersPool, poolsFromJson, resolvePools } from '../../cdk/pool-props.ts';
import { resourcesOfType, type Synthesized, synthesize } from './synth-helpers.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:oncall';

/** Three pools: one takes the deployment's thresholds, one its own, one opts out of latency and has no cap. */
const POOLS: JitRunnersPool[] = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 20, codebuild: {} },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    maxRunners: 4,
    codebuild: { architecture: 'arm64' },
    alarms: { queuedToRunningP99Seconds: 1800, backlogJobs: 'off', evaluationMinutes: 30 },
  },
  {
    name: 'gpu',
    labels: ['self-hosted', 'linux', 'x64', 'gpu'],
    codebuild: { computeType: 'BUILD_GENERAL1_LARGE' },
    alarms: { queuedToRunningP99Seconds: 'off' },
  },
];

type AlarmProps = Record<string, unknown>;
const alarmsOf = (s: Synthesized): AlarmProps[] =>
  resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map((a) => a.Properties);
const WORKLOAD_METRICS = new Set(['QueuedToRunningLatency', 'BacklogJobs']);
const workloadAlarms = (s: Synthesized) => alarmsOf(s).filter((a) => WORKLOAD_METRICS.has(String(a.MetricName)));

/** What identifies a pool alarm, and every setting a spec pins down. */
const shape = (a: AlarmProps) => ({
  metric: a.MetricName,
  dimensions: a.Dimensions,
  statistic: a.ExtendedStatistic ?? a.Statistic,
  threshold: a.Threshold,
  period: a.Period,
  evaluationPeriods: a.EvaluationPeriods,
  comparison: a.ComparisonOperator,
  missing: a.TreatMissingData,
});

const expected = (
  metric: string,
  pool: string,
  statistic: string,
  threshold: number,
  period: number,
  evaluationPeriods: number,
) => ({
  metric,
  dimensions: [{ Name: 'pool', Value: pool }],
  statistic,
  threshold,
  period,
  evaluationPeriods,
  comparison: 'GreaterThanOrEqualToThreshold',
  missing: 'notBreaching',
});

/** Synth without the validators (the plain template is what these specs read). */
function template(config: DeploymentConfigInput, pools?: readonly JitRunnersPool[]): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'JitRunners', { stackName: 'JitRunners' });
  new JitRunners(stack, 'Default', { config, ...(pools === undefined ? {} : { pools }) });
  return Template.fromStack(stack);
}

function refusal(fn: () => unknown): DeploymentConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DeploymentConfigError) return error;
    throw error;
  }
  throw new Error('expected a DeploymentConfigError');
}

describe('latency and backlog alarms', () => {
  let unset: Synthesized;
  let pooled: Synthesized;
  beforeAll(() => {
    unset = synthesize(
      { appId: 1 },
      'JitRunners',
      POOLS.map(({ alarms: _, ...pool }) => pool),
    );
    pooled = synthesize(
      { appId: 1, queuedToRunningP99AlarmSeconds: 600, backlogAlarmJobs: 5, alarmTopicArn: TOPIC },
      'JitRunners',
      POOLS,
    );
  }, 120_000);

  it('creates none when no threshold is set, even for pools with a cap', () => {
    expect(workloadAlarms(unset)).toEqual([]);
    expect(unset.stack.monitoring.poolAlarms).toEqual([]);
  });

  it("creates one alarm per pool and threshold: the deployment's, the pool's own, none where a pool says off or has no cap", () => {
    const byPool = (a: AlarmProps) => `${(a.Dimensions as { Value: string }[])[0]?.Value} ${String(a.MetricName)}`;
    expect(
      workloadAlarms(pooled)
        .sort((a, b) => byPool(a).localeCompare(byPool(b)))
        .map(shape),
    ).toEqual([
      // arm64: its own 1800 s over 30 minutes; backlog off.
      expected('QueuedToRunningLatency', 'arm64', 'p99', 1_800_000, 300, 6),
      // x64: the deployment's 600 s and 5 jobs over the default 15 minutes.
      expected('BacklogJobs', 'x64', 'Maximum', 5, 300, 3),
      expected('QueuedToRunningLatency', 'x64', 'p99', 600_000, 300, 3),
      // gpu: latency off, and no cap, so no backlog.
    ]);
    expect(pooled.stack.monitoring.poolAlarms.map((p) => `${p.pool} ${p.kind}`)).toEqual([
      `x64 ${PoolAlarmKind.queuedToRunning}`,
      `x64 ${PoolAlarmKind.backlog}`,
      `arm64 ${PoolAlarmKind.queuedToRunning}`,
    ]);
  });

  it('reads the per-pool series of the stack namespace, without a unit or a label (a plain metric alarm)', () => {
    for (const a of workloadAlarms(pooled)) {
      expect(a).toMatchObject({ Namespace: 'JitRunners/JitRunners' });
      expect(a.Unit).toBeUndefined();
      expect(a.Metrics).toBeUndefined();
    }
  });

  it('says which pool, the threshold and what to do in each description', () => {
    pooled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'QueuedToRunningLatency',
      Dimensions: [{ Name: 'pool', Value: 'x64' }],
      AlarmDescription: Match.stringLikeRegexp(
        `pool "x64".*600 s or more.*for 15 minutes\\. ${WHAT_TO_DO}.*maxRunners.*queuedToRunningP99AlarmSeconds`,
      ),
    });
    pooled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BacklogJobs',
      AlarmDescription: Match.stringLikeRegexp(
        `Pool "x64" is full \\(maxRunners 20\\): 5 or more.*${WHAT_TO_DO}.*jobs list --pool x64 --status waiting-capacity.*backlogAlarmJobs`,
      ),
    });
  });

  it('notifies the topic the other alarms notify, and shows on the alarm row', () => {
    for (const a of alarmsOf(pooled)) expect(a.AlarmActions).toEqual([TOPIC]);
    const body = JSON.stringify(resourcesOfType(pooled.json, 'AWS::CloudWatch::Dashboard')[0]?.Properties);
    for (const { alarm } of pooled.stack.monitoring.poolAlarms) {
      expect(body).toContain(pooled.stack.getLogicalId(alarm.node.defaultChild as never));
    }
    expect(body).toContain('x64 alarm (600 s p99)');
    expect(body).toContain('x64 alarm (5 jobs)');
  });

  it('alarms on the single default pool of a stack without pools (latency only: it has no cap), validators clean without a topic', () => {
    // synthesize() runs cdk-nag and the Control Tower rules: the alarm without an action is acknowledged like the others.
    const single = synthesize({ appId: 1, queuedToRunningP99AlarmSeconds: 300, poolAlarmEvaluationMinutes: 5 });
    expect(workloadAlarms(single).map(shape)).toEqual([
      expected('QueuedToRunningLatency', 'default', 'p99', 300_000, 300, 1),
    ]);
  });

  it('takes a backlog period of the reconcile interval when it is longer than 5 minutes, so each period has a sample', () => {
    const t = template({ appId: 1, backlogAlarmJobs: 2, reconcileIntervalSeconds: 600 }, [POOLS[0] as JitRunnersPool]);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BacklogJobs',
      Period: 600,
      // 15 minutes of 10-minute passes, rounded up.
      EvaluationPeriods: 2,
      Threshold: 2,
    });
  });

  it('keeps a backlog alarm within the day CloudWatch allows a sub-hour period, for an interval that does not divide a day', () => {
    // 1440 minutes of 7-minute passes would be 206 periods (86,520 s): PutMetricAlarm refuses more than 86,400 s.
    const t = template(
      {
        appId: 1,
        backlogAlarmJobs: 2,
        queuedToRunningP99AlarmSeconds: 600,
        reconcileIntervalSeconds: 420,
        poolAlarmEvaluationMinutes: 1440,
      },
      [POOLS[0] as JitRunnersPool],
    );
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BacklogJobs',
      Period: 420,
      EvaluationPeriods: 205,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'QueuedToRunningLatency',
      Period: 300,
      EvaluationPeriods: 288,
    });
  });
});

describe('the refused-tarball alarm', () => {
  it('is always on: the first release the reconciler refuses within 5 minutes', () => {
    const t = template({ appId: 1 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RunnerVersionTarballRefused',
      Namespace: 'JitRunners/JitRunners',
      Dimensions: Match.absent(),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp(
        `does not match the SHA-256 in the release's notes.*marked bad.*${WHAT_TO_DO}.*jit-runners version status`,
      ),
    });
  });
});

describe('pool alarm thresholds (synth-time validation)', () => {
  it('refuses a negative, zero or fractional deployment threshold, naming the property', () => {
    expect(refusal(() => resolveDeploymentConfig({ backlogAlarmJobs: -1 })).message).toBe(
      'jit-runners deployment config "backlogAlarmJobs": must be a whole number of jobs from 1 to 10000 (got -1); leave it unset for no alarm',
    );
    expect(refusal(() => resolveDeploymentConfig({ queuedToRunningP99AlarmSeconds: 0 })).message).toBe(
      'jit-runners deployment config "queuedToRunningP99AlarmSeconds": must be a whole number of seconds from 1 to 86400 (got 0); leave it unset for no alarm',
    );
    expect(refusal(() => resolveDeploymentConfig({ queuedToRunningP99AlarmSeconds: 1.5 })).property).toBe(
      'queuedToRunningP99AlarmSeconds',
    );
  });

  it('refuses evaluation minutes that are not whole 5-minute periods', () => {
    expect(refusal(() => resolveDeploymentConfig({ poolAlarmEvaluationMinutes: 7 })).message).toBe(
      'jit-runners deployment config "poolAlarmEvaluationMinutes": must be a multiple of 5 minutes from 5 to 1440, as the alarms evaluate 5-minute periods (got 7)',
    );
    expect(resolveDeploymentConfig({}).poolAlarmEvaluationMinutes).toBe(15);
  });

  it("refuses a pool's bad threshold, naming the pool and the field", () => {
    const defaults = {
      runnerVersion: '2.330.0',
      runnerVersionFloor: '2.329.0',
      runnerTimeoutMinutes: 360,
      tarballs: new Set(['actions-runner-linux-x64-2.330.0.tar.gz']),
    };
    const pool = (alarms: unknown, capped: boolean): JitRunnersPool => ({
      name: 'x64',
      labels: ['self-hosted'],
      codebuild: {},
      ...(capped ? { maxRunners: 4 } : {}),
      alarms: alarms as NonNullable<JitRunnersPool['alarms']>,
    });
    const message = (alarms: unknown, capped = true) =>
      refusal(() => resolvePools([pool(alarms, capped)], defaults)).message;
    expect(message({ backlogJobs: -3 })).toBe(
      `jit-runners deployment config "pools": pool "x64": alarms.backlogJobs: must be a whole number of jobs from 1 to 10000 (got -3), or 'off' for no alarm`,
    );
    expect(message({ queuedToRunningP99Seconds: '600' })).toContain(
      'alarms.queuedToRunningP99Seconds: must be a whole number of seconds from 1 to 86400 (got "600")',
    );
    expect(message({ evaluationMinutes: 0 })).toContain('alarms.evaluationMinutes: must be a multiple of 5 minutes');
    expect(message({ backlogJob: 3 })).toContain(
      'alarms.backlogJob: is not a pool alarm field; use queuedToRunningP99Seconds, backlogJobs, evaluationMinutes',
    );
    expect(message({ backlogJobs: 3 }, false)).toContain(
      'alarms.backlogJobs: the pool has no maxRunners, so its jobs never wait for room',
    );
    // JSON from -c pools / poolsFile is checked the same way.
    expect(
      refusal(() =>
        resolvePools(poolsFromJson('[{"name":"x64","labels":["a"],"codebuild":{},"alarms":[]}]', 'pools'), defaults),
      ).message,
    ).toContain('pool "x64": alarms: must be an object');
  });

  it('refuses a deployment backlog threshold that no pool could use (no pool has maxRunners)', () => {
    const e = refusal(() => template({ appId: 1, backlogAlarmJobs: 5 }));
    expect(e.property).toBe('backlogAlarmJobs');
    expect(e.message).toContain('no pool has maxRunners');
  });

  it('reads the thresholds from CDK context as numbers (-c queuedToRunningP99AlarmSeconds=600)', () => {
    const context: Record<string, string> = {
      queuedToRunningP99AlarmSeconds: '600',
      backlogAlarmJobs: '10',
      poolAlarmEvaluationMinutes: '30',
    };
    expect(configFromContext((key) => context[key])).toMatchObject({
      queuedToRunningP99AlarmSeconds: 600,
      backlogAlarmJobs: 10,
      poolAlarmEvaluationMinutes: 30,
    });
    expect(refusal(() => configFromContext((key) => (key === 'backlogAlarmJobs' ? 'many' : undefined))).message).toBe(
      'jit-runners deployment config "backlogAlarmJobs": must be a number (got "many")',
    );
  });
});
