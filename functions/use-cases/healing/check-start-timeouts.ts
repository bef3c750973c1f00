import type { Config } from '../../config/config.ts';
import { startTimeoutFrom } from '../../domain/approval-wait.ts';
import { type Classification, classifyApiError, classifyTimeout } from '../../domain/classify-failure.ts';
import type { ActionKind } from '../../domain/failure-policy.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { runnerName as nameOf } from '../../domain/runner-name.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type GitHubRunner, type GitHubTarget } from '../../ports/github.ts';
import type { Logger } from '../../ports/runtime.ts';
import type { JobRepository } from '../../ports/store.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';
import type { RunnerFailureActions } from './runner-failure-actions.ts';

export interface CheckStartTimeoutsDeps {
  config: Pick<Config, 'runner' | 'timeouts'>;
  jobs: Pick<JobRepository, 'listOpen'>;
  github: GitHubPort;
  scopeGuard: ScopeGuard;
  actions: RunnerFailureActions;
  logger: Logger;
  /** Jobs looked at per call, oldest created first (the next timer tick takes the rest). */
  batchSize?: number;
}

export interface StartTimeoutResult {
  jobId: number;
  runnerName: string;
  /** Signature of what was found (e.g. `timeout-never-online`, `api-runner-lookup-5xx`), or why it was skipped. */
  finding: string;
  action?: ActionKind;
  acted: boolean;
  note: string;
}

export interface StartTimeoutReport {
  /** Launched jobs whose runner is past `RUNNER_START_TIMEOUT_SECONDS`. */
  overdue: number;
  results: StartTimeoutResult[];
}

const DEFAULT_BATCH = 50;

/**
 * The watcher for what no log says (docs/design.md "Failure classes"): a job still `launched` after
 * `RUNNER_START_TIMEOUT_SECONDS` has a runner that was never seen working. One runner lookup tells why —
 * 500/503 for our runner is the metadata failure, 404 means the registration is gone, `offline` means it
 * never came online — and the same actions as for runner signals follow. Quiet when idle: with no
 * overdue job it makes no GitHub call at all; a scope whose breaker is open is not asked.
 */
export function createCheckStartTimeouts(deps: CheckStartTimeoutsDeps) {
  const { config, jobs, github, scopeGuard, actions, logger } = deps;
  const timeoutMs = config.timeouts.runnerStartSeconds * 1000;
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;

  async function lookUp(target: GitHubTarget, job: Job, runnerName: string): Promise<GitHubRunner | undefined> {
    return job.runnerId !== undefined && job.runnerName === runnerName
      ? github.getRunner(target, job.runnerId)
      : github.findRunnerByName(target, runnerName);
  }

  async function check(job: Job, now: number): Promise<StartTimeoutResult> {
    const runnerName = job.runnerName ?? nameOf(config.runner.namePrefix, job.jobId, job.attempt);
    const result = (finding: string, note: string): StartTimeoutResult => ({
      jobId: job.jobId,
      runnerName,
      finding,
      acted: false,
      note,
    });
    if ((await scopeGuard.openUntil(job.scopeKey, now)) !== undefined) {
      return result('breaker-open', `the breaker for ${job.scopeKey} is open: no GitHub call`);
    }
    const waitedMs = now - startTimeoutFrom(job);
    const target: GitHubTarget = {
      installationId: job.installationId,
      scope: scopeForRepository(config.runner.scope, job.owner, job.repo),
    };

    let classification: Classification;
    try {
      const runner = await lookUp(target, job, runnerName);
      await scopeGuard.recordSuccess(job.scopeKey, now);
      if (!runner) {
        classification = classifyTimeout({ kind: 'never-online', runnerName, waitedMs, runnerGone: true });
      } else if (runner.busy) {
        // Working (the in_progress webhook was missed or is late): nothing is wrong with the runner.
        return result('runner-busy', `runner ${runnerName} is busy; the job is being run`);
      } else if (runner.status === 'offline') {
        classification = classifyTimeout({ kind: 'never-online', runnerName, waitedMs });
      } else {
        // Online and idle: make sure the job still waits before blaming the runner (it may have been
        // cancelled or taken by another runner while webhooks were lost; the reconciler settles those).
        const state = await github.getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId);
        // `waiting` (an approval wait whose delivery was missed) is no failure: the reconciler's look-up
        // puts the job to `waiting` and retires this runner (docs/design.md "Approval waits").
        if (state?.status !== 'queued') {
          return result('job-not-queued', `GitHub shows the job ${state?.status ?? 'unknown'}; left to the reconciler`);
        }
        classification = classifyTimeout({ kind: 'not-picked', runnerName, jobId: job.jobId, waitedMs });
      }
    } catch (error) {
      if (!(error instanceof GitHubRequestError)) throw error;
      classification = classifyApiError({
        status: error.status,
        body: error.body,
        endpoint: error.endpoint,
        scopeKey: job.scopeKey,
        runnerLaunched: true,
      });
      // 5xx and `breaker open` count toward the scope's breaker like any other call's.
      await scopeGuard.recordFailure(job.scopeKey, error, now);
    }

    const failure = { job, runnerName, classification };
    const action = await actions.decideFor(failure, now);
    const outcome = await actions.act(failure, action, now);
    return {
      jobId: job.jobId,
      runnerName,
      finding: classification.signature,
      action: outcome.action,
      acted: outcome.acted,
      note: outcome.note,
    };
  }

  return async function checkStartTimeouts(now: number): Promise<StartTimeoutReport> {
    const open = await jobs.listOpen();
    const overdue = open.filter(
      // From when the job became assignable, if later than the launch (docs/design.md "Approval waits").
      (job) => job.status === JobStatus.launched && startTimeoutFrom(job) + timeoutMs <= now,
    );
    const results: StartTimeoutResult[] = [];
    // One at a time: a handful of overdue jobs per tick, and a burst of lookups is what trips breakers.
    for (const job of overdue.slice(0, batchSize)) {
      try {
        results.push(await check(job, now));
      } catch (error) {
        // One job's trouble (store hiccup, launcher) must not stop the sweep; the next tick retries it.
        logger.error('start-timeout check failed', { jobId: job.jobId, error: String(error) });
        results.push({
          jobId: job.jobId,
          runnerName: job.runnerName ?? '',
          finding: 'error',
          acted: false,
          note: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const acted = results.filter((r) => r.acted);
    if (acted.length > 0) logger.info('start timeouts handled', { overdue: overdue.length, acted: acted.length });
    return { overdue: overdue.length, results };
  };
}

export type CheckStartTimeouts = ReturnType<typeof createCheckStartTimeouts>;
