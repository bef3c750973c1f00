import type { Config } from '../../config/config.ts';
import { type Baseline, BaselineState } from '../../domain/baseline.ts';
import type { Classification } from '../../domain/classify-failure.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import { type ActionKind, decide, decideRunnerEnded, type FailureAction } from '../../domain/failure-policy.ts';
import type { Job } from '../../domain/job.ts';
import { failureNote } from '../../domain/job-notes.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { poolForJob } from '../../domain/runner-pool.ts';
import { RunnerState } from '../../domain/runner-record.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import type { GitHubPort, GitHubTarget } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Clock, Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobChanges, type Store } from '../../ports/store.ts';
import { pinnedVersion } from '../provisioning/runner-version-for.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';
import type { ReportJobFailure } from '../reporting/report-job-failure.ts';
import { createRetireRunner, type RetireRunner } from './retire-runner.ts';

export interface RunnerFailureDeps {
  config: Pick<Config, 'runner' | 'limits' | 'baselinePolicy' | 'pools'>;
  store: Pick<Store, 'jobs' | 'baselines' | 'runners'>;
  github: GitHubPort;
  launcher: RunnerLauncher;
  /** The one retire path (built from the deps here when not given). */
  retireRunner?: RetireRunner;
  dispatcher: Dispatcher;
  scopeGuard: ScopeGuard;
  /** The provisioner's baseline gate: its cached `present` verdict is dropped on a metadata signal. */
  baselineGate: { forget(scopeKey: string): void };
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  /** Tells GitHub why the job failed (a check run, when opted in); best effort, never throws. */
  reportFailure?: ReportJobFailure | undefined;
}

/** One failure of the runner of a `launched` job, from a log line, a runner exit or a start timeout. */
export interface RunnerFailure {
  /** The job as read; its `attempt` is the attempt of the failing runner. */
  job: Job;
  runnerName: string;
  classification: Classification;
  /** The runner's process already ended (exit or state-change signal): nothing to stop. */
  processEnded?: boolean;
  /** Launch id from the signal, when the job does not carry one. */
  launchId?: string | undefined;
}

export interface ActOutcome {
  acted: boolean;
  action: ActionKind;
  /** Why nothing was done, or what was done. */
  note: string;
  /** The job after the action, when it was written. */
  job?: Job;
}

/** Statuses a runner failure may act from: only a job whose runner is launched and not yet seen working. */
const ACTIONABLE = [JobStatus.launched] as const;

function describe(action: FailureAction): string {
  switch (action.kind) {
    case 'heal-metadata':
      return 'stop the runner, delete its registration, run the regular-runner workaround for the scope, then mint the next attempt';
    case 'open-breaker':
      return "stop the runner, delete its registration, wait for the scope's breaker";
    case 'relaunch':
      return `stop the runner, delete its registration, mint the next attempt with runner ${action.version}`;
    case 'remint':
    case 'replace-if-queued':
      return 'stop the runner, delete its registration, mint the next attempt';
    case 'retry':
      return `look again in ${Math.round(action.backoffMs / 1000)} s`;
    case 'fail':
      return action.reason;
    case 'ignore':
      return action.reason;
  }
}

/**
 * The actions of docs/design.md "Failure classes" for a failing JIT runner, shared by the runner-signal handler and the
 * start-timeout check. Every action starts with ONE conditional job write (on the attempt and the
 * `launched` status): whichever signal wins it acts, the 199 other copies of the same log line find the
 * job moved on and do nothing. Side effects (stop, delete, dispatch) follow the write, so a crash in
 * between leaves a `RUNNER#` item in `stopping` for the reconciler rather than a second action.
 */
export function createRunnerFailureActions(deps: RunnerFailureDeps) {
  const { config, store, github, launcher, dispatcher, scopeGuard, baselineGate, clock, logger, metrics } = deps;
  const retireRunner =
    deps.retireRunner ?? createRetireRunner({ store, github, launcher, scopeGuard, logger, metrics });
  const random = deps.random ?? Math.random;
  /** The budgets come from the configuration only: the domain holds no default of its own. */
  const limits = config.limits;

  const targetOf = (job: Job): GitHubTarget => ({
    installationId: job.installationId,
    scope: scopeForRepository(config.runner.scope, job.owner, job.repo),
  });

  /** Whether this fleet stopped or deleted the runner itself after the job's current launch. */
  async function stoppedByUs(job: Job, runnerName: string): Promise<boolean> {
    const record = await store.runners.get(runnerName);
    if (!record || (record.state !== RunnerState.stopping && record.state !== RunnerState.stopped)) return false;
    // Why compare times: after a breaker pause the same name is launched again; the old stop is not about it.
    return job.launchedAt === undefined || record.updatedAt >= job.launchedAt;
  }

  /** What the failure policy says about this failure (reads the baseline or runner record when it matters). */
  async function decideFor(failure: RunnerFailure, now: number): Promise<FailureAction> {
    const { job, classification } = failure;
    // The job's pool pins its version (a pool's runnerVersion, else RUNNER_VERSION).
    const pinned = pinnedVersion(config.runner, poolForJob(config.pools, job));
    const needsBaseline =
      classification.class === FailureClass.metadataMissing || classification.class === FailureClass.startTimeout;
    const baseline: Baseline | undefined = needsBaseline ? await store.baselines.get(job.scopeKey) : undefined;
    const byUs =
      classification.class === FailureClass.registrationGone ? await stoppedByUs(job, failure.runnerName) : false;
    return decide({
      classification,
      job: { attempt: job.attempt, thefts: job.thefts, heals: job.heals, status: job.status },
      signalAttempt: job.attempt,
      runnerStoppedByUs: byUs,
      runnerMintedAt: job.launchedAt,
      limits,
      baselinePolicy: config.baselinePolicy,
      baseline,
      versions: {
        current: job.runnerVersion ?? pinned,
        pinned,
        fallback: config.runner.fallbackVersion,
        floor: config.runner.versionFloor,
      },
      now,
      random,
    });
  }

  /** The one conditional write that elects this signal to act. undefined: someone else acted first. */
  async function claim(job: Job, changes: JobChanges, now: number): Promise<Job | undefined> {
    try {
      return await store.jobs.update(job.jobId, { attempt: job.attempt, statusIn: ACTIONABLE }, changes, now);
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  }

  /**
   * The failing runner goes the one retire path (docs/design.md "Retiring a runner"): marked
   * `stopping`, its process stopped unless it already ended, its registration deleted unless the
   * scope's breaker is open, marked `stopped`. Called after the job write that moved the job on, so a
   * step that fails (or a crash in between) leaves the runner to the reconciler's orphan sweep.
   */
  async function retire(failure: RunnerFailure, now: number): Promise<void> {
    const { job, runnerName } = failure;
    await retireRunner(
      {
        runnerName,
        target: targetOf(job),
        scopeKey: job.scopeKey,
        jobId: job.jobId,
        // The job's id is this runner's only when the job still names it.
        runnerId: job.runnerName === runnerName ? job.runnerId : undefined,
        launchId: job.launchId ?? failure.launchId,
        processEnded: failure.processEnded,
        version: job.runnerVersion ?? config.runner.version,
        launchedAt: job.launchedAt,
        reason: `${failure.classification.class} (${failure.classification.signature})`,
        // Its scope may have healed meanwhile and the runner taken a job: GitHub's 422 then keeps it.
        onlyIdle: true,
      },
      now,
    );
  }

  /** Marks the scope's baseline `missing` (only over nothing or a `present` record: the rest already knows). */
  async function markBaselineMissing(job: Job, classification: Classification, now: number): Promise<void> {
    baselineGate.forget(job.scopeKey);
    const current = await store.baselines.get(job.scopeKey);
    if (current && current.state !== BaselineState.present) return;
    const { version: _v, updatedAt: _u, ...rest } = current ?? { version: 0, updatedAt: 0 };
    try {
      await store.baselines.put(
        {
          ...rest,
          scopeKey: job.scopeKey,
          state: BaselineState.missing,
          workarounds: current?.workarounds ?? 0,
          installationId: job.installationId,
          reason: classification.detail,
        },
        current?.version ?? 0,
        now,
      );
      metrics.count(CountMetric.baselineMissing, 1, { scope: job.scopeKey });
      logger.warn('scope baseline marked missing', { scope: job.scopeKey, signature: classification.signature });
    } catch (error) {
      // Another signal or process changed the record first: it knows already.
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }

  function note(failure: RunnerFailure, action: FailureAction): string {
    const c = failure.classification;
    return failureNote(c.class, c.signature, failure.runnerName, `${c.detail} → ${describe(action)}`);
  }

  async function nextAttempt(failure: RunnerFailure, action: FailureAction, now: number): Promise<ActOutcome> {
    const { job, classification } = failure;
    // The version-class mark is what makes the provisioner pick the fallback version (runnerVersionFor).
    const failureClass = action.kind === 'relaunch' ? FailureClass.versionDeprecated : classification.class;
    const updated = await claim(
      job,
      {
        set: { status: JobStatus.healing, attempt: job.attempt + 1, heals: job.heals + 1, failureClass },
        remove: ['notBefore', 'leaseOwner', 'leaseExpiresAt'],
        event: { status: JobStatus.healing, note: note(failure, action) },
      },
      now,
    );
    if (!updated) return { acted: false, action: action.kind, note: 'another signal already acted on this runner' };
    // Mark before the dispatch: the provisioner's gate must see `missing` and wait for the workaround.
    if (action.kind === 'heal-metadata') await markBaselineMissing(job, classification, now);
    await retire(failure, now);
    await dispatcher.dispatch(job.jobId);
    metrics.count(CountMetric.runnerHealed, 1, { failureClass: classification.class, action: action.kind });
    logger.warn('runner failure handled', {
      jobId: job.jobId,
      runnerName: failure.runnerName,
      failureClass: classification.class,
      signature: classification.signature,
      action: action.kind,
      nextAttempt: updated.attempt,
    });
    return { acted: true, action: action.kind, note: describe(action), job: updated };
  }

  async function openBreaker(failure: RunnerFailure, action: FailureAction, now: number): Promise<ActOutcome> {
    const { job, classification } = failure;
    // Provisional wait until the breaker's real window is known; the job is not dispatched before it is set.
    const provisional = now + config.limits.breakerMaxBackoffSeconds * 1000;
    const claimed = await claim(
      job,
      {
        set: { status: JobStatus.waitingBreaker, failureClass: FailureClass.breakerOpen, notBefore: provisional },
        remove: ['leaseOwner', 'leaseExpiresAt'],
        event: { status: JobStatus.waitingBreaker, note: note(failure, action) },
      },
      now,
    );
    if (!claimed) return { acted: false, action: action.kind, note: 'another signal already acted on this runner' };
    // Why retire before opening: once our breaker is open no GitHub call is made for the scope, and the
    // stuck registration must not linger (the relaunch reuses the same attempt's name).
    await retire(failure, now);
    const verdict = await scopeGuard.recordSignal(job.scopeKey, classification, clock.now());
    const until = verdict.openUntil ?? clock.now();
    let updated: Job = claimed;
    try {
      updated = await store.jobs.update(
        job.jobId,
        { attempt: job.attempt, statusIn: [JobStatus.waitingBreaker] },
        {
          set: { notBefore: until },
          event: {
            status: JobStatus.waitingBreaker,
            note: `breaker for ${job.scopeKey} open until ${new Date(until).toISOString()}`,
          },
        },
        clock.now(),
      );
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
    await dispatcher.dispatch(job.jobId, { delayMs: Math.max(0, until - clock.now()) });
    metrics.count(CountMetric.runnerHealed, 1, { failureClass: classification.class, action: action.kind });
    logger.warn('runner reported breaker open', { jobId: job.jobId, runnerName: failure.runnerName, until });
    return { acted: true, action: action.kind, note: `waiting for the breaker until ${until}`, job: updated };
  }

  async function fail(failure: RunnerFailure, action: FailureAction & { kind: 'fail' }, now: number) {
    const { job, classification } = failure;
    const updated = await claim(
      job,
      {
        set: { status: JobStatus.failed, failureClass: classification.class, reason: action.reason },
        remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
        event: {
          status: JobStatus.failed,
          note: failureNote(classification.class, undefined, failure.runnerName, action.reason),
        },
      },
      now,
    );
    if (!updated) return { acted: false, action: action.kind, note: 'another signal already acted on this runner' };
    // A failed job's runner would loop forever (the metadata failure never exits): stop it too.
    await retire(failure, now);
    metrics.count(CountMetric.jobFailed, 1, { failureClass: classification.class });
    logger.warn('job failed', { jobId: job.jobId, failureClass: classification.class, reason: action.reason });
    await deps.reportFailure?.(updated);
    return { acted: true, action: action.kind, note: action.reason, job: updated };
  }

  /** Applies `action` (from {@link decideFor} or the exit rule) to the failing runner's job. */
  async function act(failure: RunnerFailure, action: FailureAction, now: number): Promise<ActOutcome> {
    switch (action.kind) {
      case 'ignore':
        return { acted: false, action: action.kind, note: action.reason };
      case 'retry':
        // Nothing failed for the job itself (an API lookup did): the next check looks again.
        logger.info('runner check deferred', { jobId: failure.job.jobId, detail: failure.classification.detail });
        return { acted: false, action: action.kind, note: describe(action) };
      case 'fail':
        return fail(failure, action, now);
      case 'open-breaker':
        return openBreaker(failure, action, now);
      case 'heal-metadata':
      case 'relaunch':
      case 'remint':
      case 'replace-if-queued':
        return nextAttempt(failure, action, now);
    }
  }

  /**
   * A JIT runner that exited (or whose build/instance ended) while its job was still `launched`: it
   * never took the job. A fresh runner while the job's budgets last, else `failed` with the reason.
   */
  function decideEnded(failure: RunnerFailure): FailureAction {
    const { job, classification } = failure;
    return decideRunnerEnded({ classification, job, limits });
  }

  return { decideFor, decideEnded, act, stoppedByUs };
}

export type RunnerFailureActions = ReturnType<typeof createRunnerFailureActions>;
