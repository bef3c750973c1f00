import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import { RunnerKind, RunnerState } from '../../domain/runner-record.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import type { GitHubPort, GitHubTarget } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import type { RetireRunner } from '../healing/retire-runner.ts';
import { createReleaseWaitingRunner } from '../provisioning/approval-wait.ts';
import { type ReplaceRobbedJob, RobbedOutcome } from '../reconcile/replace-robbed-job.ts';
import type { JobProgress } from './accept-webhook.ts';

export interface HandleJobProgressDeps {
  config: Pick<Config, 'runner'>;
  store: Pick<Store, 'jobs' | 'runners'>;
  github: GitHubPort;
  replaceRobbedJob: ReplaceRobbedJob;
  retireRunner: RetireRunner;
  logger: Logger;
  metrics: Metrics;
}

export const ProgressOutcome = {
  ignored: 'ignored',
  /** `in_progress` on a runner minted for another job: that job's robbery was handled (see the note). */
  robbery: 'robbery',
  /** `completed` of a job whose own runner never took it: the runner was retired. */
  spareRetired: 'spare-retired',
  /** The job's own runner is busy with another job, or is already being stopped. */
  spareKept: 'spare-kept',
  /** `waiting`: the runner launched for the job before its approval wait was retired. */
  waitRetired: 'wait-retired',
  error: 'error',
} as const;
export type ProgressOutcome = (typeof ProgressOutcome)[keyof typeof ProgressOutcome];

/**
 * The `progressListeners` entry for stolen and spare runners (docs/design.md "Retiring a runner").
 * Runs after accept-webhook (or the reconciler, from API state) recorded the job's new status.
 *
 * - `in_progress` of job B on `jr-A-n`: the runner is noted as having taken B, and A (robbed) is given
 *   a replacement if GitHub still shows it queued ({@link ReplaceRobbedJob}).
 * - `completed` of job B whose own runner never took it (B ran elsewhere, or was cancelled while
 *   queued): that spare runner is retired — process first, then registration — unless it is busy with
 *   another job. The `RUNNER#` item goes through `stopping`, so the exit and the "registration deleted"
 *   line that follow are known to be ours, not a registration-gone failure.
 *
 * Never throws: a webhook must be answered, and whatever is left undone here the reconciler finds again
 * (robbed jobs from the Actions API, spares as orphan launches).
 */
export function createHandleJobProgress(deps: HandleJobProgressDeps) {
  const { config, store, github, replaceRobbedJob, retireRunner, logger, metrics } = deps;
  // A job that went `waiting` retires the runner launched for it (docs/design.md "Approval waits").
  const releaseWaitingRunner = createReleaseWaitingRunner({ config, jobs: store.jobs, github, retireRunner });
  const prefix = config.runner.namePrefix;

  const targetOf = (job: Pick<Job, 'installationId' | 'owner' | 'repo'>): GitHubTarget => ({
    installationId: job.installationId,
    scope: scopeForRepository(config.runner.scope, job.owner, job.repo),
  });

  /** Notes on `RUNNER#jr-A-n` that it took job B, so it is never mistaken for an idle spare of A or a swap partner. */
  async function noteTaken(progress: JobProgress, runnerName: string, mintedFor: number): Promise<void> {
    try {
      await store.runners.update(runnerName, { tookJobId: progress.jobId, state: RunnerState.running }, progress.at, [
        RunnerState.launched,
        RunnerState.running,
      ]);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      const existing = await store.runners.get(runnerName);
      if (existing) return; // stopping/stopped: leave the marker of our own stop alone
      await store.runners.put(
        {
          name: runnerName,
          kind: RunnerKind.jit,
          scopeKey: progress.scopeKey,
          installationId: progress.installationId,
          jobId: mintedFor,
          tookJobId: progress.jobId,
          version: 'unknown',
          state: RunnerState.running,
          createdAt: progress.at,
        },
        progress.at,
      );
    }
  }

  async function onInProgress(progress: JobProgress): Promise<ProgressOutcome> {
    const runnerName = progress.runnerName;
    if (!runnerName) return ProgressOutcome.ignored;
    const minted = parseRunnerName(prefix, runnerName);
    if (!minted || minted.jobId === progress.jobId) return ProgressOutcome.ignored;
    await noteTaken(progress, runnerName, minted.jobId);
    const outcome = await replaceRobbedJob({
      jobId: minted.jobId,
      runnerName,
      takenBy: progress.jobId,
      at: progress.at,
    });
    logger.info('runner took another job', {
      runnerName,
      mintedFor: minted.jobId,
      took: progress.jobId,
      outcome,
    });
    await partnerTookAnother(progress, runnerName, minted.jobId);
    return ProgressOutcome.robbery;
  }

  /**
   * `runnerName` (minted for job M) took job B. If M itself ran on the runner of a job A — A was robbed,
   * and this runner was the free partner its swap window waits for — A now waits for B's own runner, or,
   * when B has none, gets its replacement at once instead of after the swap window (a burst's last
   * theft would otherwise wait for the reconciler). When M's own `in_progress` comes later, its theft
   * finds this runner taken and replaces A then: either order ends the same.
   */
  async function partnerTookAnother(progress: JobProgress, runnerName: string, mintedFor: number): Promise<void> {
    const mintedJob = await store.jobs.get(mintedFor);
    const robberRunner = mintedJob?.ranOn;
    if (robberRunner === undefined) return;
    const robbed = parseRunnerName(prefix, robberRunner);
    if (!robbed || robbed.jobId === mintedFor || robbed.jobId === progress.jobId) return;
    const outcome = await replaceRobbedJob({
      jobId: robbed.jobId,
      runnerName: robberRunner,
      takenBy: mintedFor,
      at: progress.at,
      partnerTook: { runnerName, jobId: progress.jobId },
    });
    if (outcome !== RobbedOutcome.notRobbed && outcome !== RobbedOutcome.notQueued) {
      logger.info('swap partner took another job', {
        runnerName,
        robbedJob: robbed.jobId,
        took: progress.jobId,
        outcome,
      });
    }
  }

  async function onCompleted(progress: JobProgress): Promise<ProgressOutcome> {
    const job = await store.jobs.get(progress.jobId);
    const own = job?.runnerName;
    if (!job || own === undefined) return ProgressOutcome.ignored;
    if (progress.runnerName === own || job.ranOn === own) return ProgressOutcome.ignored;

    const record = await store.runners.get(own);
    if (record?.tookJobId !== undefined && record.tookJobId !== job.jobId) return ProgressOutcome.spareKept;
    if (record?.state === RunnerState.stopping || record?.state === RunnerState.stopped) {
      return ProgressOutcome.spareKept;
    }
    const target = targetOf(job);
    // Busy means it runs a job we were not told about (a missed `in_progress`, a job we do not track).
    const registration =
      job.runnerId !== undefined
        ? await github.getRunner(target, job.runnerId)
        : await github.findRunnerByName(target, own);
    if (registration?.busy) return ProgressOutcome.spareKept;

    const reason = `spare: job ${job.jobId} ${progress.conclusion ?? 'ended'}${progress.runnerName ? ` on ${progress.runnerName}` : ' without a runner'}; its own runner ${own} never took it`;
    const outcome = await retireRunner(
      {
        runnerName: own,
        target,
        scopeKey: job.scopeKey,
        jobId: job.jobId,
        runnerId: registration?.id ?? job.runnerId,
        launchId: job.launchId,
        version: job.runnerVersion,
        reason,
        onlyIdle: true,
      },
      progress.at,
    );
    if (outcome.busy) return ProgressOutcome.spareKept;
    await store.jobs
      .update(
        job.jobId,
        {},
        {
          event: {
            status: job.status === JobStatus.failed ? JobStatus.failed : JobStatus.completed,
            note: `${reason} → ${outcome.stopped ? 'process stopped, ' : ''}${outcome.deleted ? 'registration deleted' : 'registration left for the reconciler'}`,
          },
        },
        progress.at,
      )
      .catch((error: unknown) =>
        logger.warn('cannot note the spare runner', { jobId: job.jobId, error: String(error) }),
      );
    metrics.count(CountMetric.spareRunnerRetired);
    return ProgressOutcome.spareRetired;
  }

  async function onWaiting(progress: JobProgress): Promise<ProgressOutcome> {
    const job = await store.jobs.get(progress.jobId);
    if (!job) return ProgressOutcome.ignored;
    const outcome = await releaseWaitingRunner(job, progress.at);
    return outcome ? ProgressOutcome.waitRetired : ProgressOutcome.ignored;
  }

  return async function handleJobProgress(progress: JobProgress): Promise<ProgressOutcome> {
    try {
      switch (progress.action) {
        case 'waiting':
          return await onWaiting(progress);
        case 'in_progress':
          return await onInProgress(progress);
        case 'completed':
          return await onCompleted(progress);
      }
    } catch (error) {
      metrics.count(CountMetric.progressHandlingFailed);
      logger.warn('stolen/spare runner handling failed; the reconciler will look again', {
        jobId: progress.jobId,
        action: progress.action,
        error: error instanceof Error ? error.message : String(error),
      });
      return ProgressOutcome.error;
    }
  };
}

export type HandleJobProgress = ReturnType<typeof createHandleJobProgress>;
