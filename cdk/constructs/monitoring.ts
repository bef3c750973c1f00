import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import { LOG_SIGNATURES } from '../../functions/domain/failure-signatures.ts';
import { acknowledgeGuard, GuardRule } from './acknowledge-guard.ts';

/** Metric names the functions emit (EMF, see functions/adapters/aws/emf-metrics.ts) and the alarms watch. */
export const AppMetric = {
  jobFailed: 'JobFailed',
  breakerOpened: 'BreakerOpened',
  /** From the runner log group (metric filters), not from the functions. */
  runnerMetadataMissingLines: 'RunnerMetadataMissingLines',
  runnerBreakerOpenLines: 'RunnerBreakerOpenLines',
  /** The bootstrap's line when a downloaded actions/runner tarball does not match runner/checksums.json. */
  runnerChecksumMismatchLines: 'RunnerChecksumMismatchLines',
  /** The reconciler's runner version step (docs/design.md "Runner version lifecycle"): counts, per version. */
  runnerVersionAdopted: 'RunnerVersionAdopted',
  runnerVersionPromoted: 'RunnerVersionPromoted',
  runnerVersionRollback: 'RunnerVersionRollback',
  /** Gauge: days from the reconcile pass to GitHub's cut-off of the running version. */
  runnerVersionDaysToCutoff: 'RunnerVersionDaysToCutoff',
  /** Gauge, 0 or 1: 1 within 7 days of the running version's cut-off (or past it). */
  runnerVersionCutoffAlarm: 'RunnerVersionCutoffAlarm',
} as const;

export interface MonitoringProps {
  /** Per-stack metric namespace (`POWERTOOLS_METRICS_NAMESPACE` of the functions). */
  namespace: string;
  dashboardName: string;
  deadLetterQueue: sqs.IQueue;
  /** The runner log group of every pool (one without pools). */
  runnerLogGroups: readonly logs.ILogGroup[];
  functions: Record<string, lambda.IFunction>;
  jobsFailedThreshold: number;
  metadataMissingThreshold: number;
  alarmTopicArn: string | undefined;
}

/** The phrases of one failure class as a CloudWatch Logs filter (`?"a" ?"b"`). */
function termsOf(failureClass: FailureClass): string[] {
  return [...new Set(LOG_SIGNATURES.filter((s) => s.class === failureClass).map((s) => s.filterTerm))];
}

function anyOf(terms: readonly string[]): logs.IFilterPattern {
  return logs.FilterPattern.anyTerm(...terms);
}

/** Alarms (dead letters, failed jobs, metadata-missing rate, breaker open) and one dashboard. */
export class Monitoring extends Construct {
  readonly alarms: Record<
    | 'deadLetters'
    | 'jobsFailed'
    | 'metadataMissing'
    | 'breakerOpen'
    | 'checksumMismatch'
    | 'runnerVersionCutoff'
    | 'runnerVersionRollback',
    cloudwatch.Alarm
  >;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const metric = (metricName: string, period = Duration.minutes(15), statistic = 'Sum') =>
      new cloudwatch.Metric({ namespace: props.namespace, metricName, statistic, period });

    // Counted straight from the runner logs, so the rate is visible even when no function ran. The
    // filters of every pool's log group add to the same metric.
    for (const [name, failureClass, metricName] of [
      ['MetadataMissingLines', FailureClass.metadataMissing, AppMetric.runnerMetadataMissingLines],
      ['BreakerOpenLines', FailureClass.breakerOpen, AppMetric.runnerBreakerOpenLines],
      ['ChecksumMismatchLines', FailureClass.checksumMismatch, AppMetric.runnerChecksumMismatchLines],
    ] as const) {
      props.runnerLogGroups.forEach((logGroup, index) => {
        new logs.MetricFilter(this, index === 0 ? name : `${name}${index}`, {
          logGroup,
          filterPattern: anyOf(termsOf(failureClass)),
          metricNamespace: props.namespace,
          metricName,
          metricValue: '1',
        });
      });
    }

    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: 'Maximum',
    });
    const jobsFailed = metric(AppMetric.jobFailed);
    const metadataMissing = metric(AppMetric.runnerMetadataMissingLines);
    const checksumMismatch = metric(AppMetric.runnerChecksumMismatchLines);
    const breakerOpen = new cloudwatch.MathExpression({
      expression: 'FILL(opened, 0) + FILL(lines, 0)',
      usingMetrics: {
        opened: metric(AppMetric.breakerOpened, Duration.minutes(5)),
        lines: metric(AppMetric.runnerBreakerOpenLines, Duration.minutes(5)),
      },
      label: 'breaker open (API + runner logs)',
      period: Duration.minutes(5),
    });
    // The reconciler publishes the version gauges on every pass; the alarm takes the worst pass of the period.
    const cutoffAlarm = metric(AppMetric.runnerVersionCutoffAlarm, Duration.minutes(15), 'Maximum');
    const daysToCutoff = metric(AppMetric.runnerVersionDaysToCutoff, Duration.hours(1), 'Minimum');
    const rollbacks = metric(AppMetric.runnerVersionRollback);
    const adoptions = metric(AppMetric.runnerVersionAdopted, Duration.hours(1));
    const promotions = metric(AppMetric.runnerVersionPromoted, Duration.hours(1));

    const alarm = (alarmId: string, m: cloudwatch.IMetric, threshold: number, description: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.alarms = {
      deadLetters: alarm(
        'DeadLettersAlarm',
        dlqDepth,
        1,
        'Provisioner events exhausted their retries and wait in the dead-letter queue; see docs/deploy.md "Redrive".',
      ),
      jobsFailed: alarm('JobsFailedAlarm', jobsFailed, props.jobsFailedThreshold, 'Jobs reached the failed state.'),
      metadataMissing: alarm(
        'MetadataMissingAlarm',
        metadataMissing,
        props.metadataMissingThreshold,
        'Runners loop on "Failed to get job message … BadRequest" (missing runner metadata); healing should follow.',
      ),
      breakerOpen: alarm(
        'BreakerOpenAlarm',
        breakerOpen,
        1,
        "GitHub's backend answered breaker open; scopes back off.",
      ),
      // One line is enough: every attempt downloads the same bytes, so it is a wrong checksum entry, a
      // changed release or a tampered download, never noise (the job already failed without a retry).
      checksumMismatch: alarm(
        'ChecksumMismatchAlarm',
        checksumMismatch,
        1,
        'A runner refused its actions/runner tarball: the SHA-256 does not match runner/checksums.json (wrong entry, a re-published release or a tampered download). Jobs of that version fail until the checksum or the pinned version is fixed.',
      ),
      // GitHub stops serving a runner 30 days after the first newer release; a fleet past it gets no jobs.
      runnerVersionCutoff: alarm(
        'RunnerVersionCutoffAlarm',
        cutoffAlarm,
        1,
        'The running actions/runner version is within 7 days of GitHub\'s 30-day cut-off: no release could be adopted (all marked bad, below the floor, or without a linux-x64 SHA-256) or an exact RUNNER_VERSION pin is too old. See `jit-runners version status` and README "Runner version".',
      ),
      runnerVersionRollback: alarm(
        'RunnerVersionRollbackAlarm',
        rollbacks,
        1,
        'A canary runner version failed where the current one did not and was rolled back; the release is marked bad with its reason (`jit-runners version status`). Jobs run on the current version.',
      ),
    };
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const a of Object.values(this.alarms)) a.addAlarmAction(new actions.SnsAction(topic));
    } else {
      for (const a of Object.values(this.alarms)) {
        acknowledgeGuard(
          a,
          GuardRule.alarmAction,
          'No alarmTopicArn was given: the deployment chose dashboard-only alarms. With alarmTopicArn every alarm notifies the topic and this control passes unacknowledged.',
        );
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Jobs failed', left: [jobsFailed], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Metadata-missing lines (runner logs)', left: [metadataMissing], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Breaker open', left: [breakerOpen], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Tarball checksum mismatches (runner logs)',
        left: [checksumMismatch],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Runner version: days to GitHub's cut-off",
        left: [daysToCutoff.with({ label: 'days to cut-off' })],
        leftAnnotations: [{ value: 7, label: 'alarm (7 days)', color: cloudwatch.Color.RED }],
        leftYAxis: { min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Runner version: adoptions, promotions, rollbacks',
        left: [
          adoptions.with({ label: 'adopted (canary)' }),
          promotions.with({ label: 'promoted' }),
          rollbacks.with({ label: 'rolled back', period: Duration.hours(1) }),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Dead-letter queue depth', left: [dlqDepth], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        left: Object.entries(props.functions).map(([label, fn]) =>
          fn.metricErrors({ label, period: Duration.minutes(5) }),
        ),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function duration p99',
        left: Object.entries(props.functions).map(([label, fn]) =>
          fn.metricDuration({ label, statistic: 'p99', period: Duration.minutes(5) }),
        ),
        width: 8,
      }),
    );
  }
}
