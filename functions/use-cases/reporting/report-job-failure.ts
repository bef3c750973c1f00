import type { Config } from '../../config/config.ts';
import { failureCheckRun } from '../../domain/failure-advice.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { Clock, Logger } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobRepository } from '../../ports/store.ts';
import { type Delivery, deliverFailureCheckRun, recordDelivery } from './deliver-failure-check-run.ts';

/** The permission a failure check run needs, as GitHub names it in an installation's permissions. */
export const CHECKS_PERMISSION = 'checks';

export interface ReportJobFailureDeps {
  config: Pick<Config, 'failureCheckRuns' | 'github'>;
  github: Pick<GitHubPort, 'installationPermissions' | 'createCheckRun' | 'findCheckRun'>;
  jobs: Pick<JobRepository, 'update'>;
  clock: Clock;
  logger: Logger;
  /** The whole report (permission look-up, claim, posts) gives up after this. Default 5 000 ms. */
  timeoutMs?: number;
  /** Posts at most within the report; each after the first follows a look-up. Default 3. */
  posts?: number;
  /** Wait before the n-th look-up after a failed post: n × this. Default 250 ms. */
  retryDelayMs?: number;
}

/** What one report did, for specs and logs. */
export type FailureReportOutcome =
  | 'off'
  | 'not-failed'
  | 'no-commit'
  | 'no-permission'
  | 'claimed-elsewhere'
  | 'posted'
  /** A post that failed had landed: the look-up found it, nothing more was posted. */
  | 'found'
  /** GitHub refused it for good (a 4xx other than 403/429): given up, recorded on the job. */
  | 'refused'
  /** Not posted yet (5xx, timeouts, rate limit, a failed look-up): the reconciler tries again. */
  | 'pending'
  | 'error'
  | 'timed-out';

export type ReportJobFailure = (failed: Job) => Promise<FailureReportOutcome>;

export const DEFAULT_FAILURE_REPORT_TIMEOUT_MS = 5_000;
export const DEFAULT_FAILURE_REPORT_POSTS = 3;

/**
 * Failures visible on GitHub (docs/design.md "Failures on GitHub"): after a job's write to `failed`, posts
 * one completed check run with conclusion `failure` on the job's commit, naming the job, the failure class,
 * the reason and what to do. Opt-in (`FAILURE_CHECK_RUNS=on`) and only where the installation's token
 * has `checks: write`; without it nothing is posted and one warning per installation names the permission.
 *
 * Never in the way: it never throws and gives up after `timeoutMs`, so the failure handling that called
 * it is never failed or held up by it. At least once, never twice: the post is claimed with one write on
 * the failed job conditioned on the version the failure wrote (a second call for the same failure claims
 * nothing); the client sends the POST once, and a post whose outcome is unknown (5xx, timeout, network) is
 * looked up by `external_id` before it is sent again, up to `posts` times. What is still not posted when
 * the report stops stays claimed on the job, and the reconciler retries it (reconcile/retry-failure-check-runs.ts).
 */
export function createReportJobFailure(deps: ReportJobFailureDeps): ReportJobFailure {
  const { config, github, jobs, clock, logger } = deps;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_FAILURE_REPORT_TIMEOUT_MS;
  const posts = deps.posts ?? DEFAULT_FAILURE_REPORT_POSTS;
  const retryDelayMs = deps.retryDelayMs ?? 250;
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

  async function report(failed: Job, stopped: () => boolean): Promise<FailureReportOutcome> {
    // The claim's time is the body's completed_at, so a later retry posts the very same body.
    const at = clock.now();
    const body = failureCheckRun(failed, config.github.serverUrl, at);
    if (!body) {
      logger.info('no failure check run: the job was recorded before its commit was kept', { jobId: failed.jobId });
      return 'no-commit';
    }
    if (!(await mayPost(failed.installationId))) {
      warnMissing(failed.installationId);
      return 'no-permission';
    }
    let claimed: Job;
    try {
      claimed = await jobs.update(
        failed.jobId,
        { statusIn: [JobStatus.failed], version: failed.version },
        {
          set: { failureCheckRunAt: at, failureCheckRunTries: 1 },
          event: {
            status: JobStatus.failed,
            note: `failure check run claimed for commit ${failed.headSha?.slice(0, 12)}`,
          },
        },
        clock.now(),
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) return 'claimed-elsewhere';
      throw error;
    }
    const delivery = await deliverFailureCheckRun(github, claimed, body, {
      posts,
      lookFirst: false,
      delayMs: retryDelayMs,
      stopped,
    });
    return settle(claimed, delivery);
  }

  /** Logs and records what the posts came to. */
  async function settle(claimed: Job, delivery: Delivery): Promise<FailureReportOutcome> {
    const context = { jobId: claimed.jobId, posts: delivery.posts };
    const logOutcome = () => {
      switch (delivery.kind) {
        case 'posted':
        case 'found':
          logger.info(delivery.kind === 'posted' ? 'failure check run posted' : 'failure check run found posted', {
            ...context,
            checkRunId: delivery.run.id,
            url: delivery.run.htmlUrl,
          });
          break;
        case 'permission':
          // The permission was withdrawn since it was read: read it again next time.
          permitted.delete(claimed.installationId);
          warnMissing(claimed.installationId);
          break;
        case 'refused':
          logger.warn('failure check run refused by GitHub: given up', { ...context, error: delivery.error });
          break;
        case 'pending':
          logger.warn('failure check run not posted yet: the reconciler tries again', {
            ...context,
            error: delivery.error,
          });
          break;
      }
    };
    // Recorded first, then logged: the line says what is already on the job (`job show`, a reader
    // waiting for it), and it is still written when the record fails.
    try {
      await recordDelivery(jobs, claimed, delivery, clock.now());
    } finally {
      logOutcome();
    }
    switch (delivery.kind) {
      case 'posted':
        return 'posted';
      case 'found':
        return 'found';
      case 'permission':
        return 'no-permission';
      case 'refused':
        return 'refused';
      case 'pending':
        return 'pending';
    }
  }

  return async function reportJobFailure(failed: Job): Promise<FailureReportOutcome> {
    if (!config.failureCheckRuns) return 'off';
    if (failed.status !== JobStatus.failed) return 'not-failed';
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    const deadline = new Promise<'timed-out'>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        resolve('timed-out');
      }, timeoutMs);
      timer.unref?.();
    });
    try {
      // Past the deadline no new request starts (one in flight may still land: the reconciler waits for it).
      const outcome = await Promise.race([report(failed, () => late), deadline]);
      if (outcome === 'timed-out') {
        logger.warn(
          'failure check run not posted in time: GitHub did not answer (a claimed one is retried by the reconciler)',
          {
            jobId: failed.jobId,
            timeoutMs,
          },
        );
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
