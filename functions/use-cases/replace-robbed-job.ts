import type { Config } from '../config/config.ts';
import { FailureClass } from '../domain/failure-class.ts';
import { isTerminal, JobStatus } from '../domain/job-status.ts';
import type { GitHubPort } from '../ports/github.ts';
import type { Dispatcher, Logger, Metrics } from '../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../ports/store.ts';

/** A runner minted for `jobId` was seen running another job (`takenBy`, when known). */
export interface RobbedRunner {
  jobId: number;
  runnerName: string;
  takenBy?: number | undefined;
  at: number;
  /**
   * The reconciler's look after the start timeout (GitHub still shows the job queued and its runner busy).
   * Only then does a spent attempt budget fail the job; a webhook's first sight of the theft waits for it.
   */
  final?: boolean;
}

export const RobbedOutcome = {
  /** Re-queued under the next attempt and dispatched at once. */
  replaced: 'replaced',
  /** Re-queued under the next attempt, dispatched after the swap grace (see below). */
  swapWindow: 'swap-window',
  /** Attempt budget spent: the job ended `failed` with the reason. */
  failed: 'failed',
  /** Attempt budget spent: noted; a spare runner of the scope may still take it before the reconciler decides. */
  budgetSpent: 'budget-spent',
  /** The job's current runner is not that one, or the job is past `launched`: nothing to do. */
  notRobbed: 'not-robbed',
  /** GitHub shows the job running or done elsewhere (or does not know it): nothing to replace. */
  notQueued: 'not-queued',
  /** Someone else (a webhook copy, the reconciler) acted first. */
  raced: 'raced',
} as const;
export type RobbedOutcome = (typeof RobbedOutcome)[keyof typeof RobbedOutcome];

export interface ReplaceRobbedJobDeps {
  config: Pick<Config, 'limits'>;
  store: Pick<Store, 'jobs' | 'runners'>;
  github: GitHubPort;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
  /** How long a robbed job waits for the runner of the job that robbed it. Default 15 s. */
  swapGraceMs?: number;
}

export const DEFAULT_SWAP_GRACE_MS = 15_000;

/** 15 s with the default one-minute reconcile interval; shorter when the operator reconciles faster (≥ 2 s). */
export function swapGraceMs(config: Pick<Config, 'timeouts'>): number {
  return Math.min(DEFAULT_SWAP_GRACE_MS, Math.max(2_000, 5_000 * config.timeouts.reconcileIntervalSeconds));
}

/**
 * Stolen runners (DESIGN §4 `stolen`): JIT runners take any queued job their labels match, so runner
 * `jr-A-1` may start job B. Job A is then robbed; if GitHub still shows A queued it needs a runner.
 *
 * Why a swap window: when B had its own runner `jr-B-1` that has taken nothing yet, that runner is now
 * free and will usually take A within seconds (both were minted with every served label). Minting a
 * replacement at once would leave a spare behind for every swap in a burst. So A goes back to `queued`
 * under the next attempt with `notBefore` a few seconds away: if A starts on `jr-B-1` meanwhile, its
 * `in_progress` moves it to `running` and the provisioner skips it; if not, the replacement is minted.
 * Without a free partner the replacement is dispatched at once. The next attempt (a new runner name)
 * is what keeps a replacement from adopting the busy `jr-A-1` through the 409 path; it is bounded by
 * `MAX_ATTEMPTS_PER_JOB` like every other attempt.
 */
export function createReplaceRobbedJob(deps: ReplaceRobbedJobDeps) {
  const { config, store, github, dispatcher, logger, metrics } = deps;
  const swapGraceMs = deps.swapGraceMs ?? DEFAULT_SWAP_GRACE_MS;

  /** Whether the robber's own runner exists and has taken no job yet (so it can take the robbed one). */
  async function freePartner(takenBy: number | undefined, runnerName: string): Promise<string | undefined> {
    if (takenBy === undefined) return undefined;
    const robber = await store.jobs.get(takenBy);
    const own = robber?.runnerName;
    if (!robber || own === undefined || own === runnerName || robber.launchId === undefined) return undefined;
    const record = await store.runners.get(own);
    if (record && (record.tookJobId !== undefined || record.state === 'stopping' || record.state === 'stopped')) {
      return undefined;
    }
    return own;
  }

  return async function replaceRobbedJob(robbed: RobbedRunner): Promise<RobbedOutcome> {
    const job = await store.jobs.get(robbed.jobId);
    if (!job || isTerminal(job.status)) return RobbedOutcome.notRobbed;
    // Only the job's current runner matters: an older attempt's runner taking a job robs nobody.
    if (job.status !== JobStatus.launched || job.runnerName !== robbed.runnerName) return RobbedOutcome.notRobbed;

    const state = await github.getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId);
    if (!state || (state.status !== 'queued' && state.status !== 'waiting' && state.status !== 'pending')) {
      return RobbedOutcome.notQueued;
    }

    const by = robbed.takenBy === undefined ? 'another job' : `job ${robbed.takenBy}`;
    const expect = { statusIn: [JobStatus.launched], attempt: job.attempt } as const;
    try {
      if (job.attempt + 1 > config.limits.maxAttemptsPerJob && !robbed.final) {
        // Why not fail at once: in a burst every theft frees the robber's own runner for another job,
        // so this one is usually taken by a spare within seconds. The reconciler decides after the
        // start timeout, from GitHub's view (`final`).
        await store.jobs.update(
          job.jobId,
          expect,
          {
            set: { failureClass: FailureClass.stolen },
            event: {
              status: JobStatus.launched,
              note: `stolen: runner ${robbed.runnerName} was taken by ${by}; attempt budget (${config.limits.maxAttemptsPerJob}) spent, no replacement: waiting for a spare runner of the scope`,
            },
          },
          robbed.at,
        );
        return RobbedOutcome.budgetSpent;
      }
      if (job.attempt + 1 > config.limits.maxAttemptsPerJob) {
        const reason = `runner ${robbed.runnerName} was taken by ${by} and the attempt budget (${config.limits.maxAttemptsPerJob}) is spent`;
        await store.jobs.update(
          job.jobId,
          expect,
          {
            set: { status: JobStatus.failed, failureClass: FailureClass.stolen, reason },
            remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
            event: { status: JobStatus.failed, note: `stolen: ${reason}` },
          },
          robbed.at,
        );
        metrics.count('JobFailed', 1, { failureClass: FailureClass.stolen });
        logger.warn('robbed job failed: attempt budget spent', { jobId: job.jobId, runnerName: robbed.runnerName });
        return RobbedOutcome.failed;
      }

      const partner = await freePartner(robbed.takenBy, robbed.runnerName);
      const delayMs = partner === undefined ? 0 : swapGraceMs;
      const next = job.attempt + 1;
      const note =
        partner === undefined
          ? `stolen: runner ${robbed.runnerName} was taken by ${by}; replacement under attempt ${next}`
          : `stolen: runner ${robbed.runnerName} was taken by ${by}; its runner ${partner} is free, replacement under attempt ${next} in ${Math.round(delayMs / 1000)} s unless the job starts`;
      await store.jobs.update(
        job.jobId,
        expect,
        {
          set: {
            status: JobStatus.queued,
            attempt: next,
            failureClass: FailureClass.stolen,
            notBefore: robbed.at + delayMs,
          },
          // The robbed runner belongs to the other job now: nothing of it stays on this one.
          remove: ['runnerName', 'runnerId', 'launchId', 'launchedAt', 'leaseOwner', 'leaseExpiresAt'],
          event: { status: JobStatus.queued, note },
        },
        robbed.at,
      );
      metrics.count('RunnerStolen', 1, { swap: partner === undefined ? 'no' : 'yes' });
      logger.info('robbed job re-queued', {
        jobId: job.jobId,
        runnerName: robbed.runnerName,
        takenBy: robbed.takenBy,
        nextAttempt: next,
        delayMs,
      });
      await dispatcher.dispatch(job.jobId, delayMs > 0 ? { delayMs } : undefined);
      return partner === undefined ? RobbedOutcome.replaced : RobbedOutcome.swapWindow;
    } catch (error) {
      if (error instanceof ConditionFailedError) return RobbedOutcome.raced;
      throw error;
    }
  };
}

export type ReplaceRobbedJob = ReturnType<typeof createReplaceRobbedJob>;
