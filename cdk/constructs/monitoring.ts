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
import {
  CountMetric,
  MeasureMetric,
  MetricDimension,
  WebhookRejectReason,
} from '../../functions/ports/metric-names.ts';
import { acknowledgeGuard, GuardRule } from './acknowledge-guard.ts';

/** Counted from the runner log groups by metric filters, not emitted by the functions. */
export const LogMetric = {
  runnerMetadataMissingLines: 'RunnerMetadataMissingLines',
  runnerBreakerOpenLines: 'RunnerBreakerOpenLines',
  /** The bootstrap's line when a downloaded actions/runner tarball does not match runner/checksums.json. */
  runnerChecksumMismatchLines: 'RunnerChecksumMismatchLines',
} as const;

/**
 * Every metric the dashboard and alarms read: the functions' catalogue (functions/ports/metric-names.ts,
 * EMF, see functions/adapters/aws/emf-metrics.ts) and the runner log filters.
 */
export const AppMetric = { ...CountMetric, ...MeasureMetric, ...LogMetric } as const;

/** A pool's opt-in latency and backlog alarms (undefined threshold: no alarm of that kind). */
export interface MonitoredPoolAlarms {
  /** Alarm when the pool's p99 queued → running is at or above this many seconds. */
  queuedToRunningP99Seconds?: number | undefined;
  /** Alarm when at least this many of the pool's jobs wait for room. */
  backlogJobs?: number | undefined;
  /** Minutes at or above the threshold before the alarm fires (a multiple of the 5-minute period). */
  evaluationMinutes: number;
}

/** A pool as the dashboard charts it. */
export interface MonitoredPool {
  name: string;
  /** Drawn on the runners-alive chart as the pool's cap. */
  maxRunners?: number | undefined;
  /** Its latency and backlog alarms; none when unset. */
  alarms?: MonitoredPoolAlarms | undefined;
}

/** The kinds of alarm a pool can have (`poolAlarms`). */
export const PoolAlarmKind = {
  queuedToRunning: 'queuedToRunning',
  backlog: 'backlog',
} as const;
export type PoolAlarmKind = (typeof PoolAlarmKind)[keyof typeof PoolAlarmKind];

/** One pool's latency or backlog alarm. */
export interface PoolAlarm {
  readonly pool: string;
  readonly kind: PoolAlarmKind;
  readonly alarm: cloudwatch.Alarm;
}

export interface MonitoringProps {
  /** Per-stack metric namespace (`POWERTOOLS_METRICS_NAMESPACE` of the functions). */
  namespace: string;
  dashboardName: string;
  deadLetterQueue: sqs.IQueue;
  /** The runner log group of every pool (one without pools). */
  runnerLogGroups: readonly logs.ILogGroup[];
  /** The pools in matching order (`default` without pools): one line each on the per-pool charts. */
  pools: readonly MonitoredPool[];
  functions: Record<string, lambda.IFunction>;
  jobsFailedThreshold: number;
  metadataMissingThreshold: number;
  alarmTopicArn: string | undefined;
  /**
   * How often the gauges (`BacklogJobs`) are published: the reconciler's interval. A backlog alarm's
   * period is this when it is longer than 5 minutes, so no period goes without a sample.
   * @default 60
   */
  gaugeIntervalSeconds?: number;
}

/** The phrases of one failure class as a CloudWatch Logs filter (`?"a" ?"b"`). */
function termsOf(failureClass: FailureClass): string[] {
  return [...new Set(LOG_SIGNATURES.filter((s) => s.class === failureClass).map((s) => s.filterTerm))];
}

function anyOf(terms: readonly string[]): logs.IFilterPattern {
  return logs.FilterPattern.anyTerm(...terms);
}

/** Marks the part of every alarm description that says what to do (a spec checks each alarm has one). */
export const WHAT_TO_DO = 'What to do:';

export type AlarmName =
  | 'deadLetters'
  | 'jobsFailed'
  | 'metadataMissing'
  | 'breakerOpen'
  | 'checksumMismatch'
  | 'runnerVersionCutoff'
  | 'runnerVersionRollback'
  | 'runnerVersionTarballRefused'
  | 'webhookSignature';

const FIFTEEN_MINUTES = Duration.minutes(15);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms and one dashboard, read top-down: alarms; latency; capacity per pool; warm runners; heals,
 * thefts and failures; GitHub health; runner version; plumbing. docs/deploy.md "Dashboard" describes every widget.
 */
export class Monitoring extends Construct {
  /** The alarms every deployment has. */
  readonly alarms: Record<AlarmName, cloudwatch.Alarm>;
  /** The opt-in latency and backlog alarms, in pool order (latency first within a pool). */
  readonly poolAlarms: readonly PoolAlarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { namespace } = props;
    const metric = (
      metricName: string,
      options: { period?: Duration; statistic?: string; label?: string; dimensions?: Record<string, string> } = {},
    ) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        statistic: options.statistic ?? 'Sum',
        period: options.period ?? FIFTEEN_MINUTES,
        ...(options.label ? { label: options.label } : {}),
        ...(options.dimensions ? { dimensionsMap: options.dimensions } : {}),
      });
    /** One line per value of `dimensions` (found, not listed): failure classes, reject reasons. */
    const search = (metricName: string, dimensions: readonly string[], period = FIFTEEN_MINUTES) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{"${namespace}",${dimensions.join(',')}} MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`,
        usingMetrics: {},
        period,
      });
    const perPool = (metricName: string, statistic: string, period: Duration, suffix = '') =>
      props.pools.map((pool) =>
        metric(metricName, {
          statistic,
          period,
          label: `${pool.name}${suffix}`,
          dimensions: { [MetricDimension.pool]: pool.name },
        }),
      );

    // Counted straight from the runner logs, so the rate is visible even when no function ran. The
    // filters of every pool's log group add to the same metric.
    for (const [name, failureClass, metricName] of [
      ['MetadataMissingLines', FailureClass.metadataMissing, LogMetric.runnerMetadataMissingLines],
      ['BreakerOpenLines', FailureClass.breakerOpen, LogMetric.runnerBreakerOpenLines],
      ['ChecksumMismatchLines', FailureClass.checksumMismatch, LogMetric.runnerChecksumMismatchLines],
    ] as const) {
      props.runnerLogGroups.forEach((logGroup, index) => {
        new logs.MetricFilter(this, index === 0 ? name : `${name}${index}`, {
          logGroup,
          filterPattern: anyOf(termsOf(failureClass)),
          metricNamespace: namespace,
          metricName,
          metricValue: '1',
        });
      });
    }

    // ── what the alarms watch ──
    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: FIVE_MINUTES,
      statistic: 'Maximum',
      label: 'messages waiting',
    });
    // Alarm metrics carry no label: a labelled metric makes the alarm a metric-math alarm (`Metrics: […]`).
    const jobsFailed = metric(AppMetric.jobFailed);
    const metadataMissing = metric(AppMetric.runnerMetadataMissingLines);
    const checksumMismatch = metric(AppMetric.runnerChecksumMismatchLines);
    const breakerOpen = new cloudwatch.MathExpression({
      expression: 'FILL(opened, 0) + FILL(lines, 0)',
      usingMetrics: {
        opened: metric(AppMetric.breakerOpened, { period: FIVE_MINUTES }),
        lines: metric(AppMetric.runnerBreakerOpenLines, { period: FIVE_MINUTES }),
      },
      label: 'breaker open (API + runner logs)',
      period: FIVE_MINUTES,
    });
    // The reconciler publishes the version gauges on every pass; the alarm takes the worst pass of the period.
    const cutoffAlarm = metric(AppMetric.runnerVersionCutoffAlarm, { statistic: 'Maximum' });
    const daysToCutoff = metric(AppMetric.runnerVersionDaysToCutoff, {
      period: Duration.hours(1),
      statistic: 'Minimum',
      label: 'days to cut-off',
    });
    const rollbacks = metric(AppMetric.runnerVersionRollback);
    const tarballsRefused = metric(AppMetric.runnerVersionTarballRefused, { period: FIVE_MINUTES });
    const badSignatures = metric(AppMetric.webhookRejected, {
      dimensions: { [MetricDimension.reason]: WebhookRejectReason.badSignature },
    });

    const alarm = (
      alarmId: string,
      m: cloudwatch.IMetric,
      threshold: number,
      what: string,
      todo: string,
      evaluationPeriods = 1,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: m,
        threshold,
        evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${what} ${WHAT_TO_DO} ${todo}`,
      });
    this.alarms = {
      deadLetters: alarm(
        'DeadLettersAlarm',
        dlqDepth,
        1,
        'Provisioner events exhausted their retries and wait in the dead-letter queue.',
        'read the error in the provisioner log, fix its cause, then redrive the queue (docs/deploy.md "Redrive the dead-letter queue"); the reconciler also resumes stuck jobs within minutes.',
      ),
      jobsFailed: alarm(
        'JobsFailedAlarm',
        jobsFailed,
        props.jobsFailedThreshold,
        `${props.jobsFailedThreshold} or more jobs reached the failed state within 15 minutes.`,
        'the dashboard\'s "Failed jobs by class" names the class and `jit-runners job show <id>` the reason: config = fix the App permissions, runner group or launcher settings; version-deprecated = move the runner version; metadata-missing = see MetadataMissingAlarm; start-timeout = read the runner log group.',
      ),
      metadataMissing: alarm(
        'MetadataMissingAlarm',
        metadataMissing,
        props.metadataMissingThreshold,
        'Runners loop on "Failed to get job message … BadRequest" (missing runner metadata).',
        'usually nothing: the stack heals the scope with the regular-runner workaround. If it persists, the healing fails: read WorkaroundFailed on the dashboard and the runner-events log, and check the App may administer self-hosted runners of the scope.',
      ),
      breakerOpen: alarm(
        'BreakerOpenAlarm',
        breakerOpen,
        1,
        "GitHub's backend answered breaker open; the scopes back off by themselves.",
        'usually wait: "Breaker-open scopes" shows how many scopes are held back. If it lasts, check githubstatus.com and whether one scope floods GitHub with failing runners (its jobs\' failure class).',
      ),
      // One line is enough: every attempt downloads the same bytes, so it is a wrong checksum entry, a
      // changed release or a tampered download, never noise (the job already failed without a retry).
      checksumMismatch: alarm(
        'ChecksumMismatchAlarm',
        checksumMismatch,
        1,
        'A runner refused its actions/runner tarball: the SHA-256 does not match runner/checksums.json (wrong entry, a re-published release or a tampered download). Jobs of that version fail until the checksum or the pinned version is fixed.',
        'compare the entry with the release notes of actions/runner, fix runner/checksums.json or pin another version, and deploy (docs/deploy.md "Change the runner version").',
      ),
      // GitHub stops serving a runner 30 days after the first newer release; a fleet past it gets no jobs.
      runnerVersionCutoff: alarm(
        'RunnerVersionCutoffAlarm',
        cutoffAlarm,
        1,
        "The running actions/runner version is within 7 days of GitHub's 30-day cut-off: no release could be adopted (all marked bad, below the floor, or without a linux-x64 SHA-256) or an exact RUNNER_VERSION pin is too old.",
        'run `jit-runners version status` to see why, then deploy a newer exact runnerVersion or runnerVersion=auto (README "Runner version").',
      ),
      runnerVersionRollback: alarm(
        'RunnerVersionRollbackAlarm',
        rollbacks,
        1,
        'A canary runner version failed where the current one did not and was rolled back; the release is marked bad with its reason. Jobs run on the current version.',
        'nothing urgent; read the reason in `jit-runners version status`, and watch "days to cut-off" (a later release is adopted on its own).',
      ),
      // Only `runnerVersion=auto` downloads releases: one refusal is a release whose bytes are not what its
      // notes say, never noise. The fleet is unharmed (the release is marked bad), but the pin stops moving.
      runnerVersionTarballRefused: alarm(
        'RunnerVersionTarballRefusedAlarm',
        tarballsRefused,
        1,
        "The reconciler refused an actions/runner release (runnerVersion=auto): the tarball it downloaded for the cache does not match the SHA-256 in the release's notes. The release is marked bad and never adopted; jobs keep running on the current version.",
        '`jit-runners version status` lists the release under "bad releases" with both digests. Compare them with the release page of actions/runner: a re-published release means waiting for the next one; a tarball that differs only here means something between the reconciler and github.com (a proxy or mirror, RUNNER_RELEASES_URL) changes downloads, fix that first. Watch "days to cut-off"; if no release can be adopted in time, pin an exact runnerVersion with its checksums (docs/deploy.md "Change the runner version").',
      ),
      webhookSignature: alarm(
        'WebhookSignatureAlarm',
        badSignatures,
        1,
        "A webhook delivery's X-Hub-Signature-256 matched none of the webhook secrets: it was refused (401) and its job was not recorded.",
        'make the GitHub App\'s webhook secret and the stack\'s webhook secret in Secrets Manager the same (docs/deploy.md "Rotating the webhook secret"); the reconciler redelivers the failed deliveries once they match. Occasional ones from unknown senders are someone probing the URL.',
      ),
    };
    // ── opt-in, per pool: latency and backlog, whose right thresholds depend on the workload ──
    const backlogPeriod = Duration.seconds(Math.max(FIVE_MINUTES.toSeconds(), props.gaugeIntervalSeconds ?? 60));
    // Whole periods covering the minutes, rounded up, but within what CloudWatch accepts: periods times
    // period at most a day when the period is under an hour (seven days otherwise). A reconcile interval
    // that does not divide a day (7 minutes) then covers a little less than 1440 minutes, never a failed deploy.
    const periodsOf = (minutes: number, period: Duration) => {
      const seconds = period.toSeconds();
      const maxRange = seconds < 3_600 ? 86_400 : 604_800;
      return Math.max(1, Math.min(Math.ceil((minutes * 60) / seconds), Math.floor(maxRange / seconds)));
    };
    this.poolAlarms = props.pools.flatMap((pool): PoolAlarm[] => {
      const given = pool.alarms;
      if (given === undefined) return [];
      const dimensions = { [MetricDimension.pool]: pool.name };
      const minutes = given.evaluationMinutes;
      const out: PoolAlarm[] = [];
      const seconds = given.queuedToRunningP99Seconds;
      if (seconds !== undefined) {
        out.push({
          pool: pool.name,
          kind: PoolAlarmKind.queuedToRunning,
          alarm: alarm(
            `QueuedToRunningAlarm-${pool.name}`,
            metric(AppMetric.queuedToRunning, { statistic: 'p99', period: FIVE_MINUTES, dimensions }),
            seconds * 1000,
            `Jobs of pool "${pool.name}" wait long for a runner: the p99 of queued → running (a job's record to its in_progress) was ${seconds} s or more in every 5-minute period for ${minutes} minutes.`,
            `on the dashboard, a "Backlog, per pool" above 0 means the pool is full: raise its maxRunners or add warm runners. A high "Queued → launch" without a backlog means slow or throttled launches (the provisioner log, CodeBuild/EC2 quotas). A fast launch but a late start means runners boot slowly or fail to start (the pool's runner log group, start-timeout in "Failed jobs by class"). If the wait is normal for the pool, raise queuedToRunningP99AlarmSeconds or the pool's alarms.queuedToRunningP99Seconds.`,
            periodsOf(minutes, FIVE_MINUTES),
          ),
        });
      }
      const jobs = given.backlogJobs;
      if (jobs !== undefined) {
        const cap = pool.maxRunners === undefined ? '' : ` (maxRunners ${pool.maxRunners})`;
        out.push({
          pool: pool.name,
          kind: PoolAlarmKind.backlog,
          alarm: alarm(
            `BacklogAlarm-${pool.name}`,
            metric(AppMetric.backlogJobs, { statistic: 'Maximum', period: backlogPeriod, dimensions }),
            jobs,
            `Pool "${pool.name}" is full${cap}: ${jobs} or more of its jobs waited for room at the reconciler's passes for ${minutes} minutes.`,
            `if "Backlog entered and released" shows the backlog draining, the pool is too small for its load: raise its maxRunners or add a pool for these labels. If nothing is released, runners do not end: \`jit-runners runners list\` and \`jit-runners jobs list --pool ${pool.name} --status waiting-capacity\` show what holds the slots (the reconciler frees the slots of runners that ended). If this backlog is normal, raise backlogAlarmJobs or the pool's alarms.backlogJobs.`,
            periodsOf(minutes, backlogPeriod),
          ),
        });
      }
      return out;
    });
    const allAlarms = [...Object.values(this.alarms), ...this.poolAlarms.map((p) => p.alarm)];
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const a of allAlarms) a.addAlarmAction(new actions.SnsAction(topic));
    } else {
      for (const a of allAlarms) {
        acknowledgeGuard(
          a,
          GuardRule.alarmAction,
          'No alarmTopicArn was given: the deployment chose dashboard-only alarms. With alarmTopicArn every alarm notifies the topic and this control passes unacknowledged.',
        );
      }
    }

    // ── the dashboard, one row per question ──
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const row = (heading: string, ...widgets: cloudwatch.IWidget[]) => {
      this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `### ${heading}`, width: 24, height: 1 }));
      this.dashboard.addWidgets(...widgets);
    };
    const latency = (metricName: string) => [
      ...perPool(metricName, 'p50', FIVE_MINUTES, ' p50'),
      ...perPool(metricName, 'p99', FIVE_MINUTES, ' p99'),
    ];
    const caps = props.pools.flatMap((pool) =>
      pool.maxRunners === undefined
        ? []
        : [{ value: pool.maxRunners, label: `${pool.name} cap (${pool.maxRunners})`, color: cloudwatch.Color.GREY }],
    );

    // Each pool alarm's threshold drawn on the chart it watches, as the caps are.
    const thresholdLines = (kind: PoolAlarmKind, scale: number, unit: string) =>
      props.pools.flatMap((pool) => {
        const value =
          kind === PoolAlarmKind.queuedToRunning ? pool.alarms?.queuedToRunningP99Seconds : pool.alarms?.backlogJobs;
        return value === undefined || !this.poolAlarms.some((p) => p.pool === pool.name && p.kind === kind)
          ? []
          : [{ value: value * scale, label: `${pool.name} alarm (${value}${unit})`, color: cloudwatch.Color.RED }];
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    row(
      'Alarms: is anything wrong?',
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: allAlarms,
        width: 24,
        // Room for every alarm: about six to a line of tiles.
        height: Math.max(3, 1 + Math.ceil(allAlarms.length / 6)),
      }),
    );
    row(
      'Latency: how long do jobs wait for a runner?',
      graph('Queued → launch (ms), per pool', latency(AppMetric.queuedToLaunch), { width: 12, leftYAxis: { min: 0 } }),
      graph('Queued → running (ms), per pool', latency(AppMetric.queuedToRunning), {
        width: 12,
        leftAnnotations: thresholdLines(PoolAlarmKind.queuedToRunning, 1000, ' s p99'),
        leftYAxis: { min: 0 },
      }),
    );
    row(
      'Capacity per pool: are runners there, do jobs queue up?',
      graph('Runners alive, per pool', perPool(AppMetric.runnersAlive, 'Maximum', FIVE_MINUTES), {
        leftAnnotations: caps,
        leftYAxis: { min: 0 },
      }),
      graph('Backlog (jobs waiting for room), per pool', perPool(AppMetric.backlogJobs, 'Maximum', FIVE_MINUTES), {
        leftAnnotations: thresholdLines(PoolAlarmKind.backlog, 1, ' jobs'),
        leftYAxis: { min: 0 },
      }),
      graph('Jobs in and out', [
        metric(AppMetric.jobQueued, { label: 'queued' }),
        metric(AppMetric.runnerLaunched, { label: 'runners launched' }),
        metric(AppMetric.jobWaiting, { label: 'waiting for approval' }),
        metric(AppMetric.jobApproved, { label: 'approved' }),
      ]),
      graph('Backlog entered and released, per pool', [
        ...perPool(AppMetric.jobBacklogged, 'Sum', FIFTEEN_MINUTES, ' entered'),
        ...perPool(AppMetric.backlogReleased, 'Sum', FIFTEEN_MINUTES, ' released'),
      ]),
    );
    // Lines for every pool: a pool without `warm` simply has no data.
    row(
      'Warm runners: are jobs served by runners already booted?',
      graph('Warm pickup (ms), per pool', latency(AppMetric.warmPickup), { leftYAxis: { min: 0 } }),
      graph(
        'Warm runners idle and in use, per pool',
        [
          ...perPool(AppMetric.warmIdle, 'Maximum', FIVE_MINUTES, ' idle'),
          ...perPool(AppMetric.warmInUse, 'Maximum', FIVE_MINUTES, ' in use'),
        ],
        { leftYAxis: { min: 0 } },
      ),
      graph('Warm claims, misses and boots', [
        ...perPool(AppMetric.warmClaimed, 'Sum', FIFTEEN_MINUTES, ' claimed'),
        ...perPool(AppMetric.warmMissed, 'Sum', FIFTEEN_MINUTES, ' missed (cold launch)'),
        metric(AppMetric.warmBooted, { label: 'booted (all pools)' }),
      ]),
    );
    row(
      'Heals, thefts and failures: what went wrong, and did it heal?',
      graph('Failed jobs by class', [
        jobsFailed.with({ label: 'all classes' }),
        search(AppMetric.jobFailed, [MetricDimension.failureClass]),
      ]),
      graph('Heals and retries by class', [
        search(AppMetric.runnerHealed, [MetricDimension.action, MetricDimension.failureClass]),
        search(AppMetric.provisionRetry, [MetricDimension.failureClass]),
      ]),
      graph('Regular-runner workaround (metadata-missing)', [
        metadataMissing.with({ label: 'metadata-missing lines (runner logs)' }),
        metric(AppMetric.baselineMissing, { label: 'scopes marked missing' }),
        metric(AppMetric.workaroundStarted, { label: 'workaround started' }),
        metric(AppMetric.workaroundHealed, { label: 'workaround healed' }),
        metric(AppMetric.workaroundFailed, { label: 'workaround failed' }),
        metric(AppMetric.baselineObserved, { label: 'baseline observed' }),
      ]),
      graph('Thefts and spare runners', [
        metric(AppMetric.runnerStolen, { label: 'runners stolen' }),
        metric(AppMetric.spareRunnerRetired, { label: 'spares retired' }),
        metric(AppMetric.runnerRetired, { label: 'runners retired (all reasons)' }),
      ]),
    );
    row(
      'GitHub health: is GitHub answering, are webhooks arriving?',
      graph(
        'Breaker-open scopes',
        [
          metric(AppMetric.breakerOpenScopes, {
            statistic: 'Maximum',
            period: FIVE_MINUTES,
            label: 'scopes held back',
          }),
        ],
        { right: [breakerOpen], leftYAxis: { min: 0 } },
      ),
      graph('Webhook rejects by reason', [
        search(AppMetric.webhookRejected, [MetricDimension.reason]),
        metric(AppMetric.webhookDuplicate, { label: 'duplicates (accepted)' }),
      ]),
      graph('Missed webhooks caught up', [
        metric(AppMetric.webhookRedelivered, { label: 'deliveries redelivered' }),
        metric(AppMetric.jobDiscovered, { label: 'jobs discovered in the API' }),
      ]),
    );
    row(
      'Runner version: is the fleet on a version GitHub serves?',
      graph("Runner version: days to GitHub's cut-off", [daysToCutoff], {
        leftAnnotations: [{ value: 7, label: 'alarm (7 days)', color: cloudwatch.Color.RED }],
        leftYAxis: { min: 0 },
      }),
      graph('Runner version: adoptions, promotions, rollbacks', [
        metric(AppMetric.runnerVersionAdopted, { period: Duration.hours(1), label: 'adopted (canary)' }),
        metric(AppMetric.runnerVersionPromoted, { period: Duration.hours(1), label: 'promoted' }),
        rollbacks.with({ label: 'rolled back', period: Duration.hours(1) }),
        metric(AppMetric.runnerVersionTarballRefused, { period: Duration.hours(1), label: 'tarball refused' }),
        metric(AppMetric.runnerVersionCutoffAlarm, { statistic: 'Maximum', label: 'cut-off alarm (0/1)' }),
      ]),
      graph('Tarball checksum mismatches (runner logs)', [checksumMismatch.with({ label: 'mismatch lines' })]),
    );
    row(
      'Plumbing: are the functions and the reconciler healthy?',
      graph('Dead-letter queue depth', [dlqDepth], { width: 6 }),
      graph(
        'Function errors',
        Object.entries(props.functions).map(([label, fn]) => fn.metricErrors({ label, period: FIVE_MINUTES })),
        { width: 6 },
      ),
      graph(
        'Function duration p99',
        Object.entries(props.functions).map(([label, fn]) =>
          fn.metricDuration({ label, statistic: 'p99', period: FIVE_MINUTES }),
        ),
        { width: 6 },
      ),
      graph(
        'Reconciler',
        [
          metric(AppMetric.reconcileRun, { label: 'passes' }),
          metric(AppMetric.reconcileDispatched, { label: 'stuck jobs resumed' }),
          metric(AppMetric.reconcileCorrected, { label: 'jobs corrected from the API' }),
          metric(AppMetric.orphanLaunchStopped, { label: 'orphan launches stopped' }),
          metric(AppMetric.orphanRegistrationDeleted, { label: 'orphan registrations deleted' }),
          metric(AppMetric.progressHandlingFailed, { label: 'progress handling failed' }),
        ],
        { width: 6 },
      ),
    );
  }
}
