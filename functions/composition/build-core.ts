import { rateLimitedGitHub, type TokenBucketOptions } from '../adapters/github/rate-limited-github.ts';
import { type Config, versionPolicySettings } from '../config/config.ts';
import type { RunnerPlatform } from '../domain/release-checksums.ts';
import type { Scope } from '../domain/scope.ts';
import type { GitHubPort, GitHubTarget } from '../ports/github.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import type { RunnerTarballCache } from '../ports/runner-tarball-cache.ts';
import type { Clock, Dispatcher, Logger, Metrics } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import { createBaselineAdmin } from '../use-cases/admin/baseline-admin.ts';
import { createCheckStartTimeouts } from '../use-cases/healing/check-start-timeouts.ts';
import { createConfirmRunnerSignal } from '../use-cases/healing/confirm-runner-signal.ts';
import { createHandleRunnerSignal, LOST_LAUNCH_STATE } from '../use-cases/healing/handle-runner-signal.ts';
import { createRecordObservedBaseline } from '../use-cases/healing/record-observed-baseline.ts';
import { createRetireRunner } from '../use-cases/healing/retire-runner.ts';
import { createRunWorkaround } from '../use-cases/healing/run-workaround.ts';
import { createRunnerFailureActions } from '../use-cases/healing/runner-failure-actions.ts';
import { createAcceptWebhook, createRecordQueuedJob, type JobProgress } from '../use-cases/ingress/accept-webhook.ts';
import { createHandleJobProgress } from '../use-cases/ingress/handle-job-progress.ts';
import { type BaselineGate, createBaselineGate } from '../use-cases/provisioning/baseline-gate.ts';
import { createDropHandoff } from '../use-cases/provisioning/drop-handoff.ts';
import { createProvisionJob } from '../use-cases/provisioning/provision-job.ts';
import { createRunnerCapacity } from '../use-cases/provisioning/runner-capacity.ts';
import { createScopeGuard } from '../use-cases/provisioning/scope-guard.ts';
import { createDiscoverQueuedJobs, discoveryGraceMs } from '../use-cases/reconcile/discover-queued-jobs.ts';
import { createReconcile, type ReconcileSettings } from '../use-cases/reconcile/reconcile.ts';
import { createReplaceRobbedJob } from '../use-cases/reconcile/replace-robbed-job.ts';
import { createRetryFailureCheckRuns } from '../use-cases/reconcile/retry-failure-check-runs.ts';
import { createReportJobFailure } from '../use-cases/reporting/report-job-failure.ts';
import { createTrackRunnerVersion } from '../use-cases/version/track-runner-version.ts';
import { createWarmPool } from '../use-cases/warm/warm-pool.ts';
import { checkWarmLaunchers } from './warm-launchers.ts';

/** A tarball cache and the platforms it keeps (the reconciler's version step fills it on adoption). */
export interface RunnerTarballs {
  cache: RunnerTarballCache;
  platforms: readonly RunnerPlatform[];
}

export interface CoreDeps {
  config: Config;
  store: Store;
  github: GitHubPort;
  launcher: RunnerLauncher;
  dispatcher: Dispatcher;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Lease owner id of this process. */
  owner: string;
  webhookSecrets: () => Promise<readonly string[]> | readonly string[];
  random?: () => number;
  /** Provisioning lease length (tests shorten it to exercise crash recovery quickly). */
  leaseMs?: number;
  /** Reconciler timings (default: derived from the configuration, see `reconcileSettings`). */
  reconcileSettings?: Partial<ReconcileSettings>;
  /** How long a robbed job waits for the robber's own runner before a replacement (default `swapGraceMs`). */
  swapGraceMs?: number;
  /** Grace before a queued job is discovered instead of delivered (default `discoveryGraceMs`). */
  discoveryGraceMs?: number;
  /** Per-installation token bucket in front of GitHub (default `DEFAULT_TOKEN_BUCKET`); false: none. */
  githubRateLimit?: Partial<TokenBucketOptions> | false;
  /** Seams for specs: change how one piece is wired without copying this file. */
  overrides?: CoreOverrides;
  /**
   * Where the reconciler's version step fetches and verifies an adopted release's tarballs before adopting
   * it, and which packages (use-cases/version/track-runner-version.ts). Absent: nothing is fetched.
   */
  runnerTarballs?: RunnerTarballs;
}

export interface CoreOverrides {
  /** How long the scope guard trusts a breaker it read (default: the scope guard's own). */
  scopeGuardCacheMs?: number;
  /** What the baseline gate's request for the workaround does (default: run it in the background). */
  requestWorkaround?: (scope: Scope, target: GitHubTarget, now: number, pool: string) => void;
  /** Wraps the baseline gate every use case sees (for example to record its `forget` calls). */
  baselineGate?: (built: BaselineGate) => BaselineGate;
  /** How long a capped pool's slot may lack a listed runner before the reconciler frees it (default 60 s). */
  lostSlotGraceMs?: number;
  /** How young a warm runner's record may be and still be missing from the launcher's listing (default 15 s). */
  warmGraceMs?: number;
}

/**
 * Wires every use case over the same ports. Lambda handlers, the local server and the CLI call this
 * once (per cold start / process) and keep the result.
 */
export function buildCore(deps: CoreDeps) {
  const { config, store, launcher, dispatcher, clock, logger, metrics, owner } = deps;
  // Every use case shares one bucket per installation, so a burst cannot spend the App's rate limit.
  const github =
    deps.githubRateLimit === false
      ? deps.github
      : rateLimitedGitHub(deps.github, { bucket: deps.githubRateLimit ?? {} });
  const random = deps.random ?? Math.random;

  const overrides = deps.overrides ?? {};
  const scopeGuard = createScopeGuard({
    config,
    breakers: store.breakers,
    logger,
    metrics,
    random,
    ...(overrides.scopeGuardCacheMs !== undefined ? { cacheMs: overrides.scopeGuardCacheMs } : {}),
  });
  // The workaround use case is wired in below (`requestWorkaround`); the gate only needs a way to ask for it.
  const builtGate = createBaselineGate({
    config,
    baselines: store.baselines,
    logger,
    metrics,
    requestWorkaround:
      overrides.requestWorkaround ?? ((scope, target, now, pool) => requestWorkaround(scope, target, now, pool)),
  });
  const baselineGate = overrides.baselineGate ? overrides.baselineGate(builtGate) : builtGate;

  // Slots and backlogs of the pools with `maxRunners` (docs/design.md "Capacity"); inert without a cap.
  const runnerCapacity = createRunnerCapacity({
    config,
    store,
    launcher,
    dispatcher,
    clock,
    logger,
    metrics,
    random,
    ...(overrides.lostSlotGraceMs !== undefined ? { lostSlotGraceMs: overrides.lostSlotGraceMs } : {}),
  });
  // Warm runners (docs/design.md "Warm runners"): start-up refuses `warm` on a launcher that cannot keep them.
  checkWarmLaunchers(config.pools, launcher);
  const warmPool = createWarmPool({
    config,
    store,
    launcher,
    capacity: runnerCapacity,
    versions: store.versions,
    clock,
    logger,
    metrics,
    ...(overrides.warmGraceMs !== undefined ? { graceMs: overrides.warmGraceMs } : {}),
  });
  const slotGone = runnerCapacity.active ? (name: string) => runnerCapacity.runnerEnded(name) : undefined;
  const onRunnerGone =
    warmPool.active || slotGone
      ? async (name: string) => {
          if (await warmPool.runnerEnded(name)) return true;
          return slotGone?.(name) ?? false;
        }
      : undefined;
  // The one retire path (docs/design.md "Retiring a runner"): every caller that retires a runner uses it.
  const retireRunner = createRetireRunner({
    store,
    github,
    launcher,
    scopeGuard,
    logger,
    metrics,
    onProcessGone: onRunnerGone,
  });
  // Failures visible on GitHub (FAILURE_CHECK_RUNS): every path that ends a job `failed` tells it once.
  const reportFailure = createReportJobFailure({ config, github, jobs: store.jobs, clock, logger });
  const provisionJob = createProvisionJob({
    reportFailure,
    config,
    jobs: store.jobs,
    github,
    launcher,
    dispatcher,
    scopeGuard,
    baselineGate,
    clock,
    logger,
    metrics,
    retireRunner,
    capacity: runnerCapacity,
    ...(warmPool.active ? { warm: warmPool } : {}),
    versions: store.versions,
    owner,
    random,
    ...(deps.leaseMs !== undefined ? { leaseMs: deps.leaseMs } : {}),
  });

  const progressListeners: ((progress: JobProgress) => Promise<void>)[] = [];
  const acceptWebhook = createAcceptWebhook({
    config,
    webhookSecrets: deps.webhookSecrets,
    jobs: store.jobs,
    dispatcher,
    clock,
    logger,
    metrics,
    onProgress: async (progress) => {
      for (const listener of progressListeners) await listener(progress);
    },
  });

  // ── metadata healing (docs/design.md "Failure classes"): the regular-runner workaround, runner signals, start timeouts, observed baselines ──
  const runWorkaround = createRunWorkaround({
    config,
    store,
    github,
    launcher,
    dispatcher,
    scopeGuard,
    retireRunner,
    clock,
    logger,
    metrics,
    owner,
  });
  /** Fire and forget: the gate's jobs wait on the `BASELINE#` record, not on this promise. */
  function requestWorkaround(scope: Scope, target: GitHubTarget, _now: number, pool: string): void {
    runWorkaround(scope, target, { reason: 'requested by the baseline gate before a JIT mint', pool }).catch(
      (error: unknown) => logger.error('workaround failed', { error: String(error) }),
    );
  }
  const runnerFailures = createRunnerFailureActions({
    reportFailure,
    config,
    store,
    github,
    launcher,
    dispatcher,
    scopeGuard,
    baselineGate,
    clock,
    logger,
    metrics,
    random,
  });
  // A runner that read its hand-off, or ended, no longer needs it: the functions delete it (runners cannot).
  // With warm pools an ended EC2 runner may have run in a warm instance, whose hand-off is named after the
  // warm runner: its job says which (a read on the runner-events path only; progress carries the name).
  const dropHandoff = createDropHandoff({
    config,
    launcher,
    logger,
    ...(warmPool.active ? { jobs: store.jobs } : {}),
  });
  progressListeners.push(dropHandoff.onProgress);
  const handleRunnerSignal = createHandleRunnerSignal({
    config,
    jobs: store.jobs,
    actions: runnerFailures,
    confirm: createConfirmRunnerSignal({ config, github, launcher, scopeGuard }),
    clock,
    logger,
    onRunnerEnded: async (runnerName) => {
      try {
        await onRunnerGone?.(runnerName);
      } finally {
        await dropHandoff.onRunnerEnded(runnerName);
      }
    },
    // Only where a pool keeps warm runners: elsewhere a ready line is not read at all.
    onWarmReady: warmPool.active
      ? (runnerName, launchId, at) => warmPool.runnerReady(runnerName, launchId, at)
      : undefined,
  });
  const checkStartTimeouts = createCheckStartTimeouts({
    config,
    jobs: store.jobs,
    github,
    scopeGuard,
    actions: runnerFailures,
    logger,
  });
  progressListeners.push(createRecordObservedBaseline({ config, baselines: store.baselines, logger, metrics }));
  const { listBaselines, ensureBaseline } = createBaselineAdmin({ config, store, github, runWorkaround });

  // ── stolen and spare runners, the reconciler ──
  const replaceRobbedJob = createReplaceRobbedJob({
    reportFailure,
    config,
    store,
    github,
    dispatcher,
    logger,
    metrics,
  });
  const handleJobProgress = createHandleJobProgress({
    config,
    store,
    github,
    replaceRobbedJob,
    retireRunner,
    logger,
    metrics,
  });
  progressListeners.push(async (progress) => {
    await handleJobProgress(progress);
  });
  // Opt-in only: without DISCOVER_QUEUED_JOBS the reconciler has no such step and makes no such call.
  const discoverQueuedJobs =
    config.discoverQueuedJobs.length === 0
      ? undefined
      : createDiscoverQueuedJobs({
          config,
          github,
          jobs: store.jobs,
          // The webhook's recording path (no hand-off lease: the provisioner takes the lease itself).
          recordQueuedJob: createRecordQueuedJob({ jobs: store.jobs, dispatcher, clock, logger, metrics }),
          scopeGuard,
          graceMs: deps.discoveryGraceMs ?? discoveryGraceMs(config),
          logger,
          metrics,
        });
  const reconcileRun = createReconcile({
    config,
    store,
    github,
    launcher,
    dispatcher,
    scopeGuard,
    replaceRobbedJob,
    retireRunner,
    onProgress: async (progress) => {
      for (const listener of progressListeners) await listener(progress);
    },
    checkStartTimeouts,
    // The same path as an end the platform reported: confirmed (the launch is not listed), then the next attempt.
    onLostLaunch: async (job, now) => {
      if (job.runnerName === undefined) return false;
      const outcome = await handleRunnerSignal({
        kind: 'state',
        runnerName: job.runnerName,
        state: LOST_LAUNCH_STATE,
        at: now,
        ...(job.launchId !== undefined ? { launchId: job.launchId } : {}),
      });
      return outcome.acted;
    },
    ...(discoverQueuedJobs ? { discoverQueuedJobs } : {}),
    ...(runnerCapacity.active ? { runnerCapacity } : {}),
    ...(warmPool.active ? { warmPool } : {}),
    // Only when on: the retry reads the jobs ended since its last pass (docs/design.md "Failures on GitHub").
    ...(config.failureCheckRuns
      ? { retryFailureCheckRuns: createRetryFailureCheckRuns({ config, github, store, logger }) }
      : {}),
    ...(versionPolicySettings(config).pin === undefined
      ? {
          trackRunnerVersion: createTrackRunnerVersion({
            config,
            store,
            github,
            logger,
            metrics,
            releasesTtlMs: releasesTtlMs(config.timeouts.reconcileIntervalSeconds),
            ...(deps.runnerTarballs && {
              tarballCache: deps.runnerTarballs.cache,
              cachePlatforms: deps.runnerTarballs.platforms,
            }),
          }),
        }
      : {}),
    owner,
    logger,
    metrics,
    settings: {
      ...deps.reconcileSettings,
      ...(deps.swapGraceMs !== undefined ? { swapGraceMs: deps.swapGraceMs } : {}),
    },
  });
  /** One reconcile run at `now` (default: the clock); see use-cases/reconcile/reconcile.ts. */
  const reconcile = (now: number = clock.now()) => reconcileRun(now);

  return {
    store,
    reconcile,
    handleJobProgress,
    acceptWebhook,
    provisionJob,
    scopeGuard,
    baselineGate,
    retireRunner,
    runnerCapacity,
    warmPool,
    runnerFailures,
    progressListeners,
    runWorkaround,
    handleRunnerSignal,
    checkStartTimeouts,
    listBaselines,
    ensureBaseline,
  };
}

export type Core = ReturnType<typeof buildCore>;

/**
 * How long one listing of actions/runner releases is used: 15 reconcile intervals, at most 15 minutes (the
 * default minute gives one call per quarter hour; a one-second sandbox sees a new release within 15 s).
 */
export function releasesTtlMs(reconcileIntervalSeconds: number): number {
  return Math.min(15 * 60_000, Math.max(1_000, 15 * reconcileIntervalSeconds * 1000));
}
