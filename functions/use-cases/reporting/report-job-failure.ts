import type { Config } from '../../config/config.ts';
import { failureCheckRun } from '../../domain/failure-advice.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { type GitHubPort, GitHubRequestError } from '../../ports/github.ts';
import type { Clock, Logger } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobRepository } from '../../ports/store.ts';

/** The permission a failure check run needs, as GitHub names it in an installation's permissions. */
export const CHECKS_PERMISSION = 'checks';

export interface ReportJobFailureDeps {
  config: Pick<Config, 'failureCheckRuns' | 'github'>;
  github: Pick<GitHubPort, 'installationPermissions' | 'createCheckRun'>;
  jobs: Pick<JobRepository, 'update'>;
  clock: Clock;
  logger: Logger;
  /** The whole report (permission look-up, claim, post) gives up after this. Default 5 000 ms. */
  timeoutMs?: number;
}

/** What one report did, for specs and logs. */
export type FailureReportOutcome =
  | 'off'
  | 'not-failed'
  | 'no-commit'
  | 'no-permission'
  | 'claimed-elsewhere'
  | 'posted'
  | 'error'
  | 'timed-out';

export type ReportJobFailure = (failed: Job) => Promise<FailureReportOutcome>;

export const DEFAULT_FAILURE_REPORT_TIMEOUT_MS = 5_000;

/**
 * Failures visible on GitHub (docs/design.md "Failures on GitHub"): after a job's write to `failed`, posts
 * one completed check run with conclusion `failure` on the job's commit, naming the job, the failure class,
 * the reason and what to do. Opt-in (`FAILURE_CHECK_RUNS=on`) and only where the installation's token
 * has `checks: write`; without it nothing is posted and one warning per installation names the permission.
 *
 * Best effort: it never throws and gives up after `timeoutMs`, so the failure handling that called it is
 * never failed or held up by it. Exactly once per failure: the post is claimed with one write on the failed
 * job conditioned on the version the failure wrote, so a second call for the same failure claims nothing.
 */
export function createReportJobFailure(deps: ReportJobFailureDeps): ReportJobFailure {
  const { config, github, jobs, clock, logger } = deps;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_FAILURE_REPORT_TIMEOUT_MS;
  /** Per process (cold start): an installation's answer, so a burst of failures asks once. */
  const permitted = new Map<number, Promise<boolean>>();
  const warned = new Set<number>();

  function mayPost(installationId: number): Promise<boolean> {
    let answer = permitted.get(installationId);
    if (!answer) {
      answer = github.installationPermissions(installationId).then(
        (permissions) => permissions[CHECKS_PERMISSION] === 'write',
        (error: unknown) => {
          // A failed look-up is asked again next time; only an answer is kept.
          permitted.delete(installationId);
          throw error;
        },
      );
      permitted.set(installationId, answer);
    }
    return answer;
  }

  function warnMissing(installationId: number): void {
    if (warned.has(installationId)) return;
    warned.add(installationId);
    logger.warn(
      'FAILURE_CHECK_RUNS is on but the installation lacks the Checks permission: grant the GitHub App "Checks: Read and write" (checks: write) and accept it for the installation; no failure check run is posted until then',
      { installationId, permission: `${CHECKS_PERMISSION}: write` },
    );
  }

  async function report(failed: Job): Promise<FailureReportOutcome> {
    const body = failureCheckRun(failed, config.github.serverUrl, clock.now());
    if (!body) {
      logger.info('no failure check run: the job was recorded before its commit was kept', { jobId: failed.jobId });
      return 'no-commit';
    }
    if (!(await mayPost(failed.installationId))) {
      warnMissing(failed.installationId);
      return 'no-permission';
    }
    try {
      await jobs.update(
        failed.jobId,
        { statusIn: [JobStatus.failed], version: failed.version },
        {
          set: { failureCheckRunAt: clock.now() },
          event: {
            status: JobStatus.failed,
            note: `failure reported as a check run on commit ${failed.headSha?.slice(0, 12)}`,
          },
        },
        clock.now(),
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) return 'claimed-elsewhere';
      throw error;
    }
    try {
      const created = await github.createCheckRun(failed.installationId, failed.owner, failed.repo, body);
      logger.info('failure check run posted', { jobId: failed.jobId, checkRunId: created.id, url: created.htmlUrl });
      return 'posted';
    } catch (error) {
      if (error instanceof GitHubRequestError && error.status === 403) {
        // The permission was withdrawn since it was read: read it again next time.
        permitted.delete(failed.installationId);
        warnMissing(failed.installationId);
        return 'no-permission';
      }
      throw error;
    }
  }

  return async function reportJobFailure(failed: Job): Promise<FailureReportOutcome> {
    if (!config.failureCheckRuns) return 'off';
    if (failed.status !== JobStatus.failed) return 'not-failed';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'timed-out'>((resolve) => {
      timer = setTimeout(() => resolve('timed-out'), timeoutMs);
      timer.unref?.();
    });
    try {
      const outcome = await Promise.race([report(failed), deadline]);
      if (outcome === 'timed-out') {
        logger.warn('failure check run given up: GitHub did not answer in time', { jobId: failed.jobId, timeoutMs });
      }
      return outcome;
    } catch (error) {
      logger.warn('failure check run not posted', {
        jobId: failed.jobId,
        error: error instanceof Error ? error.message : String(error),
      });
      return 'error';
    } finally {
      clearTimeout(timer);
    }
  };
}
