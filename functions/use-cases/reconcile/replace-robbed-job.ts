import type { Config } from '../../config/config.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import { giveUpReason, JobStep, spentBudget, theftsOf } from '../../domain/job-budget.ts';
import { isTerminal, JobStatus } from '../../domain/job-status.ts';
import type { GitHubPort } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import type { ReportJobFailure } from '../reporting/report-job-failure.ts';

/** When a theft is looked at (see {@link createReplaceRobbedJob}). */
export const RobbedPhase = {
  /** First sight (the robber's `in_progress`, or the Actions API showing the runner busy). */
  seen: 'seen',
  /** The reconciler, after the swap window: GitHub still shows the job queued. */
  windowOver: 'window-over',
  /** The reconciler, after the start timeout: GitHub still shows it queued and its runner busy elsewhere. */
  final: 'final',
} as const;
export type RobbedPhase = (typeof RobbedPhase)[keyof typeof RobbedPhase];

/** A runner minted for `jobId` was seen running another job (`takenBy`, when known). */
export interface RobbedRunner {
  jobId: number;
  runnerName: string;
  takenBy?: number | undefined;
  at: number;
  /** Default `seen`. */
  phase?: RobbedPhase;
  /**
   * The job was already in its swap window and its free partner (`runnerName` of the robber's own runner)
   * has just taken job `jobId` instead: the partner to wait for is now that job's own runner, if it has one.
   */
  partnerTook?: { runnerName: string; jobId: number } | undefined;
}

export const RobbedOutcome = {
  /** Re-queued under the next attempt and dispatched. */
  replaced: 'replaced',
  /** Marked stolen and left `launched`: the robber's own free runner gets the swap window to take it. */
  swapWindow: 'swap-window',
  /** Theft budget spent: the job ended `failed` with the reason. */
  failed: 'failed',
  /** Theft budget spent: noted; a spare runner of the scope may still take it before the reconciler decides. */
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
  /** Tells GitHub why the job failed (a check run, when opted in); best effort, never throws. */
  reportFailure?: ReportJobFailure | undefined;
}

export const DEFAULT_SWAP_GRACE_MS = 15_000;

/** 15 s with the default one-minute reconcile interval; shorter when the operator reconciles faster (≥ 2 s). */
export function swapGraceMs(config: Pick<Config, 'timeouts'>): number {
  return Math.min(DEFAULT_SWAP_GRACE_MS, Math.max(2_000, 5_000 * config.timeouts.reconcileIntervalSeconds));
}

/**
 * Stolen runners (docs/design.md "Failure classes" `stolen`): JIT runners take any queued job their labels match, so runner
 * `jr-A-1` may start job B. Job A is then robbed; if GitHub still shows A queued it needs a runner.
 *
 * A replacement takes the next attempt (a new runner name: the same name would answer 409 and the
 * provisioner would adopt the busy `jr-A-1`) and counts one theft (`Job.thefts`, in the same conditional
 * write). A theft is not a failure — the robbed runner ran one of our jobs — so it does not spend the
 * failure budget (`MAX_ATTEMPTS_PER_JOB` bounds `failureAttempts`); thefts have their own bound,
 * `MAX_THEFTS_PER_JOB`, so minting can never run away. A replacement is minted only when really needed:
 *
 * - Swap window: when B had its own runner `jr-B-1` that has taken nothing yet, that runner is now free
 *   and will usually take A within seconds (both were minted with every served label). A is only marked
 *   `stolen` and stays `launched`; if A starts meanwhile its `in_progress` settles it, and after the
 *   window (`windowOver`, the reconciler) a replacement is minted if GitHub still shows A queued.
 * - No free partner: the replacement is minted at once.
 * - Theft budget spent: noted, and decided only at the start timeout (`final`): in a burst every theft
 *   frees the robber's own runner for another job, so a spare usually takes A first.
 */
export function createReplaceRobbedJob(deps: ReplaceRobbedJobDeps) {
  const { config, store, github, dispatcher, logger, metrics } = deps;
  const maxThefts = config.limits.maxTheftsPerJob;

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
    const phase = robbed.phase ?? RobbedPhase.seen;
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
    /** Marks the job stolen without spending an attempt (its runner fields stay: that runner is busy elsewhere). */
    const mark = async (note: string) => {
      await store.jobs.update(
        job.jobId,
        expect,
        { set: { failureClass: FailureClass.stolen }, event: { status: JobStatus.launched, note } },
        robbed.at,
      );
    };
    try {
      if (phase === RobbedPhase.seen) {
        const took = robbed.partnerTook;
        // A partner that took another job hands the wait on to that job's own runner (it is free now).
        const partner = await freePartner(took ? took.jobId : robbed.takenBy, robbed.runnerName);
        if (partner !== undefined) {
          await mark(
            took
              ? `stolen: runner ${robbed.runnerName} was taken by ${by}; its swap partner ${took.runnerName} took job ${took.jobId}, whose runner ${partner} is free: a replacement only if the job has not started when the swap window ends`
              : `stolen: runner ${robbed.runnerName} was taken by ${by}; its runner ${partner} is free: a replacement only if the job has not started when the swap window ends`,
          );
          metrics.count(CountMetric.runnerStolen, 1, { swap: 'yes' });
          return RobbedOutcome.swapWindow;
        }
      }
      const thefts = theftsOf(job);
      const spent = spentBudget(job, JobStep.replaceStolen, config.limits);
      if (spent) {
        if (phase !== RobbedPhase.final) {
          if (job.failureClass !== FailureClass.stolen || phase === RobbedPhase.seen) {
            await mark(
              `stolen: runner ${robbed.runnerName} was taken by ${by}; theft budget (${maxThefts}) spent, no replacement: waiting for a spare runner of the scope`,
            );
          }
          return RobbedOutcome.budgetSpent;
        }
        const reason = `runner ${robbed.runnerName} was taken by ${by} and ${giveUpReason(spent)}`;
        const failed = await store.jobs.update(
          job.jobId,
          expect,
          {
            set: { status: JobStatus.failed, failureClass: FailureClass.stolen, reason },
            remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
            event: { status: JobStatus.failed, note: `stolen: ${reason}` },
          },
          robbed.at,
        );
        metrics.count(CountMetric.jobFailed, 1, { failureClass: FailureClass.stolen });
        logger.warn('robbed job failed: theft budget spent', { jobId: job.jobId, runnerName: robbed.runnerName });
        await deps.reportFailure?.(failed);
        return RobbedOutcome.failed;
      }

      const next = job.attempt + 1;
      await store.jobs.update(
        job.jobId,
        expect,
        {
          // One write: the theft is counted with the attempt it spends, so the failure budget is untouched.
          set: { status: JobStatus.queued, attempt: next, thefts: thefts + 1, failureClass: FailureClass.stolen },
          // The robbed runner belongs to the other job now: nothing of it stays on this one.
          remove: [
            'runnerName',
            'runnerId',
            'launchId',
            'launchedAt',
            'warmName',
            'leaseOwner',
            'leaseExpiresAt',
            'notBefore',
          ],
          event: {
            status: JobStatus.queued,
            note:
              phase === RobbedPhase.seen
                ? `stolen: runner ${robbed.runnerName} was taken by ${by}${robbed.partnerTook ? ` and its swap partner ${robbed.partnerTook.runnerName} took job ${robbed.partnerTook.jobId}` : ''}; replacement under attempt ${next} (theft ${thefts + 1} of ${maxThefts})`
                : `stolen: runner ${robbed.runnerName} was taken by ${by} and GitHub still shows the job queued; replacement under attempt ${next} (theft ${thefts + 1} of ${maxThefts})`,
          },
        },
        robbed.at,
      );
      if (phase === RobbedPhase.seen) metrics.count(CountMetric.runnerStolen, 1, { swap: 'no' });
      logger.info('robbed job re-queued', {
        jobId: job.jobId,
        runnerName: robbed.runnerName,
        takenBy: robbed.takenBy,
        nextAttempt: next,
        thefts: thefts + 1,
        phase,
      });
      await dispatcher.dispatch(job.jobId);
      return RobbedOutcome.replaced;
    } catch (error) {
      if (error instanceof ConditionFailedError) return RobbedOutcome.raced;
      throw error;
    }
  };
}

export type ReplaceRobbedJob = ReturnType<typeof createReplaceRobbedJob>;
