import type { Config } from '../../config/config.ts';
import { failureCheckRun } from '../../domain/failure-advice.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { Logger } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobRepository, type LockRepository } from '../../ports/store.ts';
import {
  deliverFailureCheckRun,
  FAILURE_CHECK_RUN_MAX_AGE_MS,
  FAILURE_CHECK_RUN_MAX_TRIES,
  failureCheckRunDueAt,
  failureCheckRunExpired,
  failureCheckRunPending,
  failureCheckRunTries,
  giveUp,
  recordDelivery,
} from '../reporting/deliver-failure-check-run.ts';

/** The `reconcile:failure-check-runs` value: ended jobs written since this (epoch ms) are read next pass. */
export const FAILURE_CHECK_RUNS_CURSOR = 'reconcile:failure-check-runs';
/** Jobs written this long before the cursor are read again (a write carries its writer's clock). */
export const FAILURE_CHECK_RUNS_MARGIN_MS = 10_000;
/** Ended jobs read per pass at most; the cursor stops at the last one read when the limit is hit. */
const ENDED_JOBS_LIMIT = 1_000;

export interface RetryFailureCheckRunsDeps {
  config: Pick<Config, 'failureCheckRuns' | 'github'>;
  github: Pick<GitHubPort, 'createCheckRun' | 'findCheckRun'>;
  store: {
    jobs: Pick<JobRepository, 'listEndedSince' | 'update'>;
    locks: Pick<LockRepository, 'getValue' | 'setValue'>;
  };
  logger: Logger;
}

export interface FailureCheckRunsReport {
  /** Ended jobs read this pass. */
  read: number;
  /** Claimed check runs retried this pass (one round each). */
  retried: number;
  posted: number;
  /** An earlier try had landed: recorded, nothing posted. */
  found: number;
  /** Still pending after this pass's round (tried again later), or not due yet. */
  pending: number;
  /** Given up this pass (refused, or the tries or the hour spent). */
  gaveUp: number;
}

function readCursor(text: string | undefined): number | undefined {
  if (!text) return undefined;
  try {
    const since = (JSON.parse(text) as { since?: unknown }).since;
    return typeof since === 'number' && Number.isFinite(since) ? since : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The reconciler's retry of failure check runs claimed but not posted (docs/design.md "Failures on
 * GitHub"): the report's posts failed with an unknown outcome or a rate limit, it ran out of time, or its
 * process died after the claim. Each due job gets one round: a version-checked write counting the try
 * (so two passes never both post), a look-up by `external_id` (an earlier post may have landed), and one
 * post only when none is found. Rounds back off (2, 4, 8, 16 min after the last), at most
 * {@link FAILURE_CHECK_RUN_MAX_TRIES} tries counting the report's, within an hour of the failure.
 *
 * How they are found, and what it costs: a failed job's claim (and each round) is a write, and every write
 * to an ended job moves it to "ended since now" in the listing index, so the jobs written since the
 * previous pass (kept in `reconcile:failure-check-runs`, a job not due yet holds the cursor at its last
 * write) are all the candidates. Per pass, only with `FAILURE_CHECK_RUNS=on`: one GetItem, one Query of the
 * ended list per shard and a BatchGetItem of the jobs that ended since (the orphan sweep reads the same
 * window once more), and one PutItem when any job ended. Nothing on GitHub unless a check run is due.
 */
export function createRetryFailureCheckRuns(deps: RetryFailureCheckRunsDeps) {
  const { config, github, store, logger } = deps;

  async function round(job: Job, now: number, report: FailureCheckRunsReport): Promise<void> {
    const body =
      job.failureCheckRunAt === undefined
        ? undefined
        : failureCheckRun(job, config.github.serverUrl, job.failureCheckRunAt);
    if (!body) {
      await giveUp(store.jobs, job, 'the job carries no commit', now);
      report.gaveUp += 1;
      return;
    }
    const tries = failureCheckRunTries(job) + 1;
    let claimed: Job;
    try {
      claimed = await store.jobs.update(
        job.jobId,
        { statusIn: [JobStatus.failed], version: job.version },
        {
          set: { failureCheckRunTries: tries },
          event: {
            status: JobStatus.failed,
            note: `failure check run retried (try ${tries} of ${FAILURE_CHECK_RUN_MAX_TRIES})`,
          },
        },
        now,
      );
    } catch (error) {
      // Written since it was read: the next pass reads it again (that write moved it past the cursor).
      if (error instanceof ConditionFailedError) return;
      throw error;
    }
    report.retried += 1;
    const delivery = await deliverFailureCheckRun(github, claimed, body, {
      posts: 1,
      lookFirst: true,
      delayMs: 0,
      stopped: () => false,
    });
    await recordDelivery(store.jobs, claimed, delivery, now);
    const context = { jobId: job.jobId, try: tries };
    switch (delivery.kind) {
      case 'posted':
        report.posted += 1;
        logger.info('failure check run posted by the reconciler', { ...context, checkRunId: delivery.run.id });
        return;
      case 'found':
        report.found += 1;
        logger.info('failure check run found posted by an earlier try', { ...context, checkRunId: delivery.run.id });
        return;
      case 'permission':
      case 'refused':
        report.gaveUp += 1;
        logger.warn('failure check run refused by GitHub: given up', { ...context, error: delivery.error });
        return;
      case 'pending':
        report.pending += 1;
        logger.warn('failure check run still not posted: tried again later', { ...context, error: delivery.error });
        return;
    }
  }

  return async function retryFailureCheckRuns(now: number): Promise<FailureCheckRunsReport> {
    const report: FailureCheckRunsReport = { read: 0, retried: 0, posted: 0, found: 0, pending: 0, gaveUp: 0 };
    if (!config.failureCheckRuns) return report;
    const stored = readCursor(await store.locks.getValue(FAILURE_CHECK_RUNS_CURSOR));
    const since = (stored ?? now - FAILURE_CHECK_RUN_MAX_AGE_MS) - FAILURE_CHECK_RUNS_MARGIN_MS;
    const ended = await store.jobs.listEndedSince(since, ENDED_JOBS_LIMIT);
    report.read = ended.length;
    // Where the next pass starts: now, unless a job is still to be looked at again from an older write.
    let cursor = ended.length >= ENDED_JOBS_LIMIT ? (ended.at(-1)?.updatedAt ?? now) : now;
    for (const job of ended) {
      if (!failureCheckRunPending(job)) continue;
      try {
        const expired = failureCheckRunExpired(job, now);
        if (expired) {
          await giveUp(store.jobs, job, expired, now);
          report.gaveUp += 1;
          logger.warn('failure check run given up', { jobId: job.jobId, why: expired });
          continue;
        }
        if (failureCheckRunDueAt(job) > now) {
          report.pending += 1;
          cursor = Math.min(cursor, job.updatedAt);
          continue;
        }
        await round(job, now, report);
      } catch (error) {
        // A store or GitHub error outside the round's own handling: looked at again next pass.
        cursor = Math.min(cursor, job.updatedAt);
        report.pending += 1;
        logger.warn('failure check run retry failed', {
          jobId: job.jobId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    // Written only when something ended since the last read: an idle reconciler makes no write for it.
    if (stored === undefined || (ended.length > 0 && cursor !== stored)) {
      await store.locks.setValue(FAILURE_CHECK_RUNS_CURSOR, JSON.stringify({ since: cursor }), now);
    }
    return report;
  };
}

export type RetryFailureCheckRuns = ReturnType<typeof createRetryFailureCheckRuns>;
