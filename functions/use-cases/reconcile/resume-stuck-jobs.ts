import type { Config } from '../../config/config.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus, statusesAllowing } from '../../domain/job-status.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type GitHubTarget, type WorkflowJobState } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import type { RetireRunner } from '../healing/retire-runner.ts';
import type { JobProgress } from '../ingress/accept-webhook.ts';
import { createApprovalWait, createReleaseWaitingRunner } from '../provisioning/approval-wait.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';
import { type ReplaceRobbedJob, RobbedOutcome, RobbedPhase } from './replace-robbed-job.ts';
import { LaunchListing, mayHaveLostLaunch, type StuckJobDeadlines, stuckJobVerdict } from './stuck-job-verdict.ts';

export interface ResumeStuckJobsDeps {
  config: Pick<Config, 'runner'>;
  store: Pick<Store, 'jobs' | 'locks'>;
  github: GitHubPort;
  dispatcher: Dispatcher;
  scopeGuard?: Pick<ScopeGuard, 'openUntil'>;
  replaceRobbedJob: ReplaceRobbedJob;
  retireRunner: RetireRunner;
  /** The stolen/spare listeners, fed with what the Actions API showed (as if the webhook had come). */
  onProgress: (progress: JobProgress) => Promise<void>;
  deadlines: StuckJobDeadlines;
  /**
   * Lost launches: the platform's listing of live launches, read once per run and only while some
   * launched job may have lost its runner, and what to do with a lost one GitHub still shows queued (the
   * runner-signal path with an ended state: it mints the next attempt). Both or neither.
   */
  lostLaunches?: {
    launcher: Pick<RunnerLauncher, 'listActive'>;
    onLost: (job: Job, now: number) => Promise<boolean>;
  };
  /** Actions API look-ups per run at most (the rest wait for the next run). Default 100. */
  maxApiChecks?: number;
  logger: Logger;
  metrics: Metrics;
}

export interface StuckJobsReport {
  dispatched: number[];
  /** Jobs looked up in the Actions API. */
  checked: number[];
  /** Jobs whose real state (running, completed, failed, robbed) was recorded from the API. */
  corrected: number[];
  /** Launched jobs whose runner the platform no longer lists (looked up in the Actions API at once). */
  lostLaunches: number[];
  errors: number;
}

/** `waiting` is not among them: an approval wait is handled before (the job holds no runner meanwhile). */
const QUEUED_ON_GITHUB: ReadonlySet<WorkflowJobState['status']> = new Set(['queued', 'pending', 'requested']);

/**
 * The reconciler's per-state deadlines (docs/design.md "Crash safety"): jobs stuck before `launched` are dispatched again
 * (the provisioner resumes from their last durable step under its lease); jobs `launched` or `running`
 * longer than expected are looked up in the Actions API, because webhooks are hints and `in_progress`
 * or `completed` may never arrive. Each look-up is rate-limited per job with a store mark, so a job
 * that runs for hours costs one call per `runningCheckEveryMs`, not one per run.
 */
export function createResumeStuckJobs(deps: ResumeStuckJobsDeps) {
  const { config, store, github, dispatcher, scopeGuard, replaceRobbedJob, retireRunner, onProgress } = deps;
  const { deadlines, logger, metrics } = deps;
  const maxApiChecks = deps.maxApiChecks ?? 100;
  const approvalWait = createApprovalWait({ jobs: store.jobs, dispatcher, logger, metrics });
  const releaseWaitingRunner = createReleaseWaitingRunner({ config, jobs: store.jobs, github, retireRunner });

  const targetOf = (job: Job): GitHubTarget => ({
    installationId: job.installationId,
    scope: scopeForRepository(config.runner.scope, job.owner, job.repo),
  });

  const progressOf = (job: Job, state: WorkflowJobState, action: JobProgress['action'], now: number): JobProgress => ({
    action,
    jobId: job.jobId,
    owner: job.owner,
    repo: job.repo,
    scopeKey: job.scopeKey,
    installationId: job.installationId,
    runnerName: state.runnerName,
    conclusion: state.conclusion,
    at: now,
  });

  /** Writes what the API showed; false when the job moved on meanwhile (a late webhook won: fine). */
  async function record(job: Job, target: JobStatus, state: WorkflowJobState, now: number): Promise<boolean> {
    const ranOn = state.runnerName ? { ranOn: state.runnerName } : {};
    try {
      await store.jobs.update(
        job.jobId,
        { statusIn: statusesAllowing(target) },
        target === JobStatus.completed
          ? {
              set: { status: target, conclusion: state.conclusion ?? 'unknown', ...ranOn },
              remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
              event: {
                status: target,
                note: `completed${state.runnerName ? ` on ${state.runnerName}` : ''} (${state.conclusion ?? 'unknown'}), seen in the Actions API: the webhook was missed`,
              },
            }
          : {
              set: { status: target, ...ranOn },
              event: {
                status: target,
                note: `in progress${state.runnerName ? ` on ${state.runnerName}` : ''}, seen in the Actions API: the webhook was missed`,
              },
            },
        now,
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
  }

  async function failGone(job: Job, now: number): Promise<boolean> {
    const reason = `GitHub no longer knows job ${job.jobId} (404: the run was deleted or the App lost access)`;
    try {
      await store.jobs.update(
        job.jobId,
        { statusIn: [job.status], attempt: job.attempt },
        {
          set: { status: JobStatus.failed, reason },
          remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
          event: { status: JobStatus.failed, note: reason },
        },
        now,
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
    metrics.count(CountMetric.jobFailed, 1, { failureClass: 'gone' });
    if (job.status === JobStatus.launched && job.runnerName !== undefined) {
      await retireRunner(
        {
          runnerName: job.runnerName,
          target: targetOf(job),
          scopeKey: job.scopeKey,
          jobId: job.jobId,
          runnerId: job.runnerId,
          launchId: job.launchId,
          version: job.runnerVersion,
          reason: 'its job no longer exists on GitHub',
        },
        now,
      );
    }
    return true;
  }

  /**
   * One Actions API look-up and what follows from it. True when the job's record was corrected.
   * `lostLaunch`: the job's runner is gone (the platform no longer lists its launch).
   */
  async function ask(job: Job, now: number, lostLaunch = false): Promise<boolean> {
    const state = await github.getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId);
    if (!state) return failGone(job, now);
    if (state.status === 'completed') {
      const written = await record(job, JobStatus.completed, state, now);
      if (written) await onProgress(progressOf(job, state, 'completed', now));
      return written;
    }
    // Approval waits (docs/design.md "Approval waits"): the API says what a missed delivery would have.
    if (state.status === 'waiting') {
      if (job.status === JobStatus.running) return false;
      const entered = (await approvalWait.enter(job.jobId, 'seen in the Actions API', now, job)) === 'waiting';
      const waiting = entered ? await store.jobs.get(job.jobId) : job;
      if (waiting) await releaseWaitingRunner(waiting, now);
      return entered;
    }
    if (job.status === JobStatus.waiting) {
      if (state.status !== 'queued') return false;
      return (await approvalWait.leave(job.jobId, 'seen queued in the Actions API', now)) === 'requeued';
    }
    if (state.status === 'in_progress') {
      if (job.status === JobStatus.running) return false;
      const written = await record(job, JobStatus.running, state, now);
      if (written) await onProgress(progressOf(job, state, 'in_progress', now));
      return written;
    }
    if (lostLaunch && QUEUED_ON_GITHUB.has(state.status) && job.status === JobStatus.launched && deps.lostLaunches) {
      // Still queued and nobody runs it: the job needs its next attempt now, not at the start timeout.
      return deps.lostLaunches.onLost(job, now);
    }
    if (QUEUED_ON_GITHUB.has(state.status) && job.status === JobStatus.launched && job.runnerName !== undefined) {
      const overdue = now - (job.launchedAt ?? job.updatedAt) >= deadlines.launchedCheckAfterMs;
      let phase: RobbedPhase | undefined;
      if (job.failureClass === FailureClass.stolen) {
        // A known theft whose swap window is over (or, past the start timeout, the final word).
        phase = overdue ? RobbedPhase.final : RobbedPhase.windowOver;
      } else if (job.runnerId !== undefined) {
        // Still queued while its runner is busy: the runner took another job and that `in_progress` was missed.
        const registration = await github.getRunner(targetOf(job), job.runnerId);
        if (registration?.busy) phase = overdue ? RobbedPhase.final : RobbedPhase.seen;
      }
      if (phase === undefined) return false;
      const outcome = await replaceRobbedJob({ jobId: job.jobId, runnerName: job.runnerName, at: now, phase });
      return outcome === RobbedOutcome.replaced || outcome === RobbedOutcome.failed;
    }
    return false;
  }

  /** {@link ask}, at most once per period per job and `maxApiChecks` per run. True when the record was corrected. */
  async function askLimited(job: Job, now: number, report: StuckJobsReport, lostLaunch = false): Promise<boolean> {
    if (report.checked.length >= maxApiChecks) return false;
    if (scopeGuard && (await scopeGuard.openUntil(job.scopeKey, now)) !== undefined) return false;
    const every =
      job.status !== JobStatus.launched
        ? deadlines.runningCheckEveryMs
        : job.failureClass === FailureClass.stolen
          ? deadlines.swapGraceMs
          : deadlines.launchedCheckAfterMs;
    // Why a mark: `updatedAt` does not move while a job runs, so without it every run would ask again.
    if (!(await store.locks.mark(`reconcile:ask:${job.jobId}`, now, Math.max(1, every - 1)))) return false;
    report.checked.push(job.jobId);
    const corrected = await ask(job, now, lostLaunch);
    if (corrected) report.corrected.push(job.jobId);
    return corrected;
  }

  /**
   * Whether each launched job's launch is still listed; undefined when nothing needs the listing (quiet when
   * idle: no platform call) or it failed (the ordinary look-up after the start timeout remains).
   */
  async function launchListing(
    open: readonly Job[],
    now: number,
    report: StuckJobsReport,
  ): Promise<((job: Job) => LaunchListing | undefined) | undefined> {
    const lost = deps.lostLaunches;
    if (!lost || !open.some((job) => mayHaveLostLaunch(job, now, deadlines))) return undefined;
    let active: Awaited<ReturnType<RunnerLauncher['listActive']>>;
    try {
      active = await lost.launcher.listActive();
    } catch (error) {
      report.errors += 1;
      logger.warn('reconciler could not list the live launches', { error: String(error) });
      return undefined;
    }
    const launchIds = new Set(active.map((launch) => launch.launchId));
    const names = new Set(active.map((launch) => launch.runnerName));
    return (job) => {
      if (!mayHaveLostLaunch(job, now, deadlines)) return undefined;
      // Either key keeps it: a warm runner that took its job is listed under the job's runner name.
      const listed = launchIds.has(job.launchId ?? '') || names.has(job.runnerName ?? '');
      return listed ? LaunchListing.listed : LaunchListing.missing;
    };
  }

  return async function resumeStuckJobs(open: readonly Job[], now: number): Promise<StuckJobsReport> {
    const report: StuckJobsReport = { dispatched: [], checked: [], corrected: [], lostLaunches: [], errors: 0 };
    const listing = await launchListing(open, now, report);
    for (const job of open) {
      const verdict = stuckJobVerdict(job, now, deadlines, listing?.(job));
      try {
        switch (verdict.kind) {
          case 'none':
            break;
          case 'dispatch':
            // A long wait: GitHub may have cancelled the job (a lost `completed`) or run it elsewhere.
            if (verdict.ask && (await askLimited(job, now, report))) break;
            await dispatcher.dispatch(job.jobId);
            report.dispatched.push(job.jobId);
            logger.info('reconciler resumed a job', { jobId: job.jobId, status: job.status, reason: verdict.reason });
            break;
          case 'ask-github':
            if (verdict.lostLaunch) {
              report.lostLaunches.push(job.jobId);
              logger.info('launch lost: its runner is gone and its end was not seen', {
                jobId: job.jobId,
                runnerName: job.runnerName,
                launchId: job.launchId,
              });
            }
            await askLimited(job, now, report, verdict.lostLaunch === true);
            break;
        }
      } catch (error) {
        // One job's trouble (GitHub down for its scope, a store hiccup) must not stop the others.
        report.errors += 1;
        const fields = { jobId: job.jobId, status: job.status, error: String(error) };
        if (error instanceof GitHubRequestError) logger.warn('reconciler could not look the job up', fields);
        else logger.error('reconciler failed on a job', fields);
      }
    }
    if (report.dispatched.length > 0) metrics.count(CountMetric.reconcileDispatched, report.dispatched.length);
    if (report.corrected.length > 0) metrics.count(CountMetric.reconcileCorrected, report.corrected.length);
    return report;
  };
}

export type ResumeStuckJobs = ReturnType<typeof createResumeStuckJobs>;
