import type { Config } from '../../config/config.ts';
import { WAITABLE, waitingChange } from '../../domain/approval-wait.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import type { GitHubPort, GitHubTarget } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobRepository } from '../../ports/store.ts';
import type { RetireOutcome, RunnerToRetire } from '../healing/retire-runner.ts';

export interface ApprovalWaitDeps {
  jobs: JobRepository;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
}

export const WaitOutcome = {
  /** The job went `waiting` (and kept its runner's fields for {@link createReleaseWaitingRunner}). */
  waiting: 'waiting',
  /** The job went `queued` again and was dispatched. */
  requeued: 'requeued',
  /** Unknown job, or already in a state the delivery does not change. */
  unchanged: 'unchanged',
} as const;
export type WaitOutcome = (typeof WaitOutcome)[keyof typeof WaitOutcome];

const ATTEMPTS = 3;

/**
 * Environment approvals (docs/design.md "Approval waits"), whoever learned of them: a `waiting` or
 * `queued` delivery, the Actions API read by the reconciler or the start-timeout check.
 *
 * - `enter`: the job goes `waiting`. A launched runner's attempt is skipped in the same write (counted
 *   in `waits`, never a failure); the runner itself is retired by {@link createReleaseWaitingRunner},
 *   which needs a launcher and runs where the progress listeners run. A provisioner minting right now
 *   loses its lease and cancels its launch (provision-job's `settleMovedOn`).
 * - `leave`: the job is `queued` again, assignable from now on (`assignableAt`: the start timeout of its
 *   next runner counts from here), and dispatched.
 */
export function createApprovalWait(deps: ApprovalWaitDeps) {
  const { jobs, dispatcher, logger, metrics } = deps;

  async function enter(jobId: number, source: string, now: number, known?: Job): Promise<WaitOutcome> {
    let job = known ?? (await jobs.get(jobId));
    // Read, then write conditioned on what was read: a concurrent provisioner or delivery wins, and we
    // read again (a few times at most; the reconciler looks again on its next run).
    for (let tries = 1; job && tries <= ATTEMPTS; tries++) {
      if (job.status === JobStatus.waiting) return WaitOutcome.unchanged;
      if (!WAITABLE.includes(job.status)) return WaitOutcome.unchanged;
      const change = waitingChange(job, now);
      try {
        await jobs.update(
          jobId,
          { statusIn: [job.status], attempt: job.attempt },
          {
            set: change.set,
            remove: change.remove,
            event: {
              status: JobStatus.waiting,
              note: `waiting for an environment approval (${source})${change.retire ? `: runner ${change.retire.runnerName} is not needed until then` : ''}`,
            },
          },
          now,
        );
        metrics.count(CountMetric.jobWaiting);
        logger.info('job waiting for an approval', { jobId, source, runnerName: change.retire?.runnerName });
        return WaitOutcome.waiting;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        job = await jobs.get(jobId);
      }
    }
    return WaitOutcome.unchanged;
  }

  async function leave(jobId: number, source: string, now: number): Promise<WaitOutcome> {
    try {
      await jobs.update(
        jobId,
        { statusIn: [JobStatus.waiting] },
        {
          set: { status: JobStatus.queued, assignableAt: now },
          event: { status: JobStatus.queued, note: `queued again after an approval wait (${source})` },
        },
        now,
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) return WaitOutcome.unchanged;
      throw error;
    }
    metrics.count(CountMetric.jobApproved);
    logger.info('job queued again after an approval wait', { jobId, source });
    try {
      await dispatcher.dispatch(jobId);
    } catch (error) {
      // Durable as `queued`: the reconciler dispatches it again.
      logger.warn('dispatch failed; the reconciler will pick the job up', { jobId, error: String(error) });
    }
    return WaitOutcome.requeued;
  }

  return { enter, leave };
}

export type ApprovalWait = ReturnType<typeof createApprovalWait>;

export interface ReleaseWaitingRunnerDeps {
  config: Pick<Config, 'runner'>;
  jobs: Pick<JobRepository, 'update'>;
  github: Pick<GitHubPort, 'getRunner' | 'findRunnerByName'>;
  retireRunner: (runner: RunnerToRetire, now: number) => Promise<RetireOutcome>;
}

/**
 * Retires the runner a waiting job still names (launched before the wait, never picked) through the
 * retire path, then clears its fields. Its attempt was skipped when the job went waiting, so its exit and
 * "registration deleted" line are a stale attempt's signals, never a failure. Runs where a launcher is
 * at hand: the progress listeners (after a `waiting` delivery) and the reconciler (after a look-up).
 * Undefined when there is nothing to retire.
 */
export function createReleaseWaitingRunner(deps: ReleaseWaitingRunnerDeps) {
  const { config, jobs, github, retireRunner } = deps;

  /** Forgets the runner on the job (retired, or now another job's), so it is not looked at again. */
  async function clear(job: Job, runnerName: string, note: string, now: number): Promise<void> {
    await jobs
      .update(
        job.jobId,
        { statusIn: [JobStatus.waiting], attempt: job.attempt },
        {
          remove: [
            'runnerName',
            'runnerId',
            'launchId',
            'launchedAt',
            'runnerVersion',
            'runnerVersionRole',
            'warmName',
          ],
          event: { status: JobStatus.waiting, note: `runner ${runnerName} ${note}` },
        },
        now,
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
  }

  return async function releaseWaitingRunner(job: Job, now: number): Promise<RetireOutcome | undefined> {
    if (job.status !== JobStatus.waiting || job.runnerName === undefined) return undefined;
    const target: GitHubTarget = {
      installationId: job.installationId,
      scope: scopeForRepository(config.runner.scope, job.owner, job.repo),
    };
    // A runner that took another job of ours (stolen, or busy with a job we were not told about) is that
    // job's now: stopping it would kill a running job. It is only forgotten here.
    const registration =
      job.failureClass === FailureClass.stolen
        ? undefined
        : job.runnerId !== undefined
          ? await github.getRunner(target, job.runnerId)
          : await github.findRunnerByName(target, job.runnerName);
    if (job.failureClass === FailureClass.stolen || registration?.busy) {
      await clear(job, job.runnerName, 'runs another job: left running through the approval wait', now);
      return undefined;
    }
    const outcome = await retireRunner(
      {
        runnerName: job.runnerName,
        target,
        scopeKey: job.scopeKey,
        jobId: job.jobId,
        runnerId: registration?.id ?? job.runnerId,
        launchId: job.launchId,
        version: job.runnerVersion,
        reason: `job ${job.jobId} is waiting for an environment approval`,
      },
      now,
    );
    if (!outcome.deleted) return outcome; // the fields stay: the reconciler's next look retries
    await clear(
      job,
      job.runnerName,
      `retired during the approval wait${outcome.stopped ? ' (process stopped)' : ''}`,
      now,
    );
    return outcome;
  };
}

export type ReleaseWaitingRunner = ReturnType<typeof createReleaseWaitingRunner>;
