import type { Config } from '../../config/config.ts';
import { fleetGauges } from '../../domain/fleet-gauges.ts';
import type { Job } from '../../domain/job.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric, MeasureMetric, MetricUnit } from '../../ports/metric-names.ts';
import type { Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import type { Store } from '../../ports/store.ts';
import type { RetireRunner } from '../healing/retire-runner.ts';
import type { JobProgress } from '../ingress/accept-webhook.ts';
import type { RunnerCapacity } from '../provisioning/runner-capacity.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';
import type { TrackReport, TrackRunnerVersion } from '../version/track-runner-version.ts';
import type { WarmPool, WarmReport } from '../warm/warm-pool.ts';
import { type CleanupOrphans, createCleanupOrphans, type OrphansReport } from './cleanup-orphans.ts';
import type { DiscoverQueuedJobs, DiscoveryReport } from './discover-queued-jobs.ts';
import { createRecoverDeliveries, type DeliveriesReport, type RecoverDeliveries } from './recover-deliveries.ts';
import { type ReplaceRobbedJob, swapGraceMs } from './replace-robbed-job.ts';
import { createResumeStuckJobs, type ResumeStuckJobs, type StuckJobsReport } from './resume-stuck-jobs.ts';
import type { FailureCheckRunsReport, RetryFailureCheckRuns } from './retry-failure-check-runs.ts';
import type { StuckJobDeadlines } from './stuck-job-verdict.ts';

/** Timings of the reconciler; {@link reconcileSettings} derives them from the configuration. */
export interface ReconcileSettings extends StuckJobDeadlines {
  /** How long one run's lease lives; a crashed run frees it after this. */
  leaseMs: number;
  /** Launches and registrations younger than this are never orphans. */
  orphanGraceMs: number;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/**
 * Deadlines scale with `RECONCILE_INTERVAL_SECONDS` (an operator who reconciles every second wants
 * quick convergence; the default minute gives the production figures in the comments), except the
 * `launched` look-up, which waits `RUNNER_START_TIMEOUT_SECONDS` like the start-timeout check.
 */
export function reconcileSettings(config: Pick<Config, 'timeouts'>): ReconcileSettings {
  const interval = config.timeouts.reconcileIntervalSeconds * 1000;
  return {
    leaseMs: clamp(2 * interval, 10_000, 600_000), // 2 min
    queuedGraceMs: clamp(2 * interval, 2_000, 30_000), // 30 s
    launchedCheckAfterMs: config.timeouts.runnerStartSeconds * 1000, // 120 s
    runningCheckEveryMs: clamp(10 * interval, 5_000, 600_000), // 10 min
    orphanGraceMs: clamp(5 * interval, 5_000, 120_000), // 2 min
    swapGraceMs: swapGraceMs(config), // 15 s
    lostLaunchGraceMs: clamp(5 * interval, 5_000, 15_000), // 15 s
  };
}

export interface ReconcileDeps {
  config: Pick<Config, 'runner' | 'timeouts' | 'pools'>;
  store: Store;
  github: GitHubPort;
  launcher: RunnerLauncher;
  dispatcher: Dispatcher;
  scopeGuard?: Pick<ScopeGuard, 'openUntil'>;
  replaceRobbedJob: ReplaceRobbedJob;
  retireRunner: RetireRunner;
  /** The progress listeners (stolen/spare handling), fed with what the Actions API showed. */
  onProgress: (progress: JobProgress) => Promise<void>;
  /**
   * Discovery of queued jobs in the Actions API (`DISCOVER_QUEUED_JOBS`), when opted in: runs right after
   * the redelivery of failed deliveries, before the open jobs are listed (so a job it records is seen).
   */
  discoverQueuedJobs?: DiscoverQueuedJobs;
  /**
   * A launched job whose runner the platform no longer lists, and that GitHub still shows queued: told as
   * an ended runner (the runner-signal path, which mints the next attempt); resolves whether it acted.
   * Without it such a job waits for the start timeout.
   */
  onLostLaunch?: (job: Job, now: number) => Promise<boolean>;
  /** Issue 3's start-timeout check, when wired: runs after the stuck-job pass. */
  checkStartTimeouts?: (now: number) => Promise<unknown>;
  /** Capped pools: lost slots freed, free slots handed to the backlogs (runs last). */
  runnerCapacity?: Pick<RunnerCapacity, 'reconcile'>;
  /** Warm runners of pools with `warm`: recycled, stopped when never handed a job, adopted or stopped after a restart, refilled. */
  warmPool?: Pick<WarmPool, 'reconcile'>;
  /** The runner version lifecycle, when a version is tracked (`RUNNER_VERSION=auto`): runs first. */
  trackRunnerVersion?: TrackRunnerVersion;
  /** Failure check runs claimed but not posted, retried (`FAILURE_CHECK_RUNS=on`): runs last. */
  retryFailureCheckRuns?: RetryFailureCheckRuns;
  /** Lease owner id of this process. */
  owner: string;
  settings?: Partial<ReconcileSettings>;
  logger: Logger;
  metrics: Metrics;
}

export interface ReconcileReport {
  /** False when another reconciler holds the lease: this run did nothing. */
  ran: boolean;
  openJobs: number;
  deliveries?: DeliveriesReport;
  discovery?: DiscoveryReport;
  stuck?: StuckJobsReport;
  startTimeouts?: unknown;
  orphans?: OrphansReport;
  capacity?: { freed: string[]; released: number[] };
  warm?: WarmReport;
  version?: TrackReport;
  failureCheckRuns?: FailureCheckRunsReport;
  /** Steps that threw (each step is isolated: one failing does not stop the others). */
  failedSteps: string[];
}

export const RECONCILE_LOCK = 'reconciler';

/**
 * The reconciler (docs/design.md "Crash safety"), run on a schedule (EventBridge in AWS, a timer locally). Every step is
 * idempotent on its own (conditional job writes, exactly-once marks, a lease-guarded provisioner), and
 * the run is guarded by a lease in the store so two schedulers firing at once do not both act.
 *
 * Order: missed webhooks first (a redelivered `queued` records a job the later steps then see; then, when
 * opted in, queued jobs no delivery ever announced), then stuck jobs, start timeouts, orphans (so a runner
 * just made an orphan by this run is seen), and the capped pools' slots and backlogs last.
 */
export function createReconcile(deps: ReconcileDeps) {
  const { config, store, owner, logger, metrics } = deps;
  const settings: ReconcileSettings = { ...reconcileSettings(config), ...deps.settings };

  const recoverDeliveries: RecoverDeliveries = createRecoverDeliveries({
    github: deps.github,
    locks: store.locks,
    logger,
    metrics,
  });
  const resumeStuckJobs: ResumeStuckJobs = createResumeStuckJobs({
    config,
    store,
    github: deps.github,
    dispatcher: deps.dispatcher,
    ...(deps.scopeGuard ? { scopeGuard: deps.scopeGuard } : {}),
    replaceRobbedJob: deps.replaceRobbedJob,
    retireRunner: deps.retireRunner,
    onProgress: deps.onProgress,
    deadlines: settings,
    ...(deps.onLostLaunch ? { lostLaunches: { launcher: deps.launcher, onLost: deps.onLostLaunch } } : {}),
    logger,
    metrics,
  });
  const cleanupOrphans: CleanupOrphans = createCleanupOrphans({
    config,
    store,
    github: deps.github,
    launcher: deps.launcher,
    retireRunner: deps.retireRunner,
    ...(deps.scopeGuard ? { scopeGuard: deps.scopeGuard } : {}),
    graceMs: settings.orphanGraceMs,
    logger,
    metrics,
  });

  /**
   * The dashboard's gauges, from the open jobs this pass already read (reconcile_store_requests_per_pass
   * stays what it was): runners alive and backlog per configured pool, and the scopes a breaker holds back.
   */
  function publishGauges(open: readonly Job[], now: number, released: ReadonlySet<number>): void {
    const gauges = fleetGauges(
      config.pools.map((pool) => pool.name),
      open,
      now,
      released,
    );
    for (const { pool, runnersAlive, backlog } of gauges.pools) {
      metrics.measure(MeasureMetric.runnersAlive, runnersAlive, MetricUnit.count, { pool });
      metrics.measure(MeasureMetric.backlogJobs, backlog, MetricUnit.count, { pool });
    }
    metrics.measure(MeasureMetric.breakerOpenScopes, gauges.breakerOpenScopes, MetricUnit.count);
  }

  return async function reconcile(now: number): Promise<ReconcileReport> {
    const report: ReconcileReport = { ran: false, openJobs: 0, failedSteps: [] };
    if (!(await store.locks.acquire(RECONCILE_LOCK, owner, now, settings.leaseMs))) {
      logger.debug('another reconciler holds the lease');
      return report;
    }
    report.ran = true;

    async function step<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
      try {
        return await run();
      } catch (error) {
        report.failedSteps.push(name);
        logger.error('reconcile step failed', {
          step: name,
          error: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      }
    }

    try {
      // First, and on its own: the version the provisioner picks for this pass's launches.
      const track = deps.trackRunnerVersion;
      if (track) {
        const version = await step('runner-version', () => track(now));
        if (version) report.version = version;
      }
      const deliveries = await step('deliveries', () => recoverDeliveries(now));
      if (deliveries) report.deliveries = deliveries;
      const discover = deps.discoverQueuedJobs;
      if (discover) {
        const discovery = await step('discover-queued', () => discover(now));
        if (discovery) report.discovery = discovery;
      }
      const open = await step('list-open', () => store.jobs.listOpen());
      // Without the open jobs every runner would look like an orphan: skip the job steps entirely.
      if (open === undefined) return report;
      report.openJobs = open.length;
      if (open.length > 0) {
        const stuck = await step('stuck-jobs', () => resumeStuckJobs(open, now));
        if (stuck) report.stuck = stuck;
      }
      const check = deps.checkStartTimeouts;
      if (check && open.length > 0) {
        const startTimeouts = await step('start-timeouts', () => check(now));
        if (startTimeouts !== undefined) report.startTimeouts = startTimeouts;
      }
      // The orphan pass needs the open jobs after this run's changes (a job just re-queued, completed).
      const fresh = open.length > 0 ? await step('list-open', () => store.jobs.listOpen()) : open;
      if (fresh === undefined) return report;
      const orphans = await step('orphans', () => cleanupOrphans(fresh, now));
      if (orphans) report.orphans = orphans;
      // Last: the orphan pass may just have stopped runners whose slots now go to the backlog.
      const runnerCapacity = deps.runnerCapacity;
      if (runnerCapacity) {
        const capacity = await step('capacity', () => runnerCapacity.reconcile(now));
        if (capacity) report.capacity = capacity;
      }
      // After capacity: slots freed there are room for the refill (a backlog, if any, has taken them first).
      const warmPool = deps.warmPool;
      if (warmPool) {
        const warm = await step('warm', () => warmPool.reconcile(now));
        if (warm) report.warm = warm;
      }
      // Last: the jobs' own work comes first; a check run retried later is only a courtesy.
      const retryCheckRuns = deps.retryFailureCheckRuns;
      if (retryCheckRuns) {
        const failureCheckRuns = await step('failure-check-runs', () => retryCheckRuns(now));
        if (failureCheckRuns) report.failureCheckRuns = failureCheckRuns;
      }
      publishGauges(fresh, now, new Set(report.capacity?.released ?? []));
    } finally {
      // Released so a scheduler in another process may run next time; the lease only guards overlap.
      await store.locks.release(RECONCILE_LOCK, owner).catch(() => undefined);
    }
    metrics.count(CountMetric.reconcileRun);
    logger.debug('reconcile run', {
      openJobs: report.openJobs,
      failedSteps: report.failedSteps,
      scopesSwept: report.orphans?.scopesSwept ?? [],
      orphansDeleted: report.orphans?.registrationsDeleted ?? [],
    });
    return report;
  };
}

export type Reconcile = ReturnType<typeof createReconcile>;
