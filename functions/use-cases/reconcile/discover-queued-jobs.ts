import type { Config } from '../../config/config.ts';
import { isAllowed } from '../../domain/allowlist.ts';
import type { NewJob } from '../../domain/job.ts';
import { matchPool } from '../../domain/runner-pool.ts';
import { scopeForRepository, scopeKey } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type OpenRunStatus, type WorkflowRunJob } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import type { JobRepository } from '../../ports/store.ts';
import type { RecordQueuedJob } from '../ingress/accept-webhook.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';

export interface DiscoverQueuedJobsDeps {
  config: Pick<Config, 'runner' | 'allowlist' | 'discoverQueuedJobs' | 'pools'>;
  github: Pick<GitHubPort, 'findInstallation' | 'listWorkflowRuns' | 'listWorkflowRunJobs'>;
  jobs: Pick<JobRepository, 'get'>;
  /** The webhook's own recording path (conditional create, then dispatch). */
  recordQueuedJob: RecordQueuedJob;
  scopeGuard?: Pick<ScopeGuard, 'openUntil'>;
  /**
   * A job queued for less than this is left to its webhook (still in flight, or redelivered by the
   * `deliveries` step of this very run). See {@link discoveryGraceMs}.
   */
  graceMs: number;
  /** GitHub calls per run, all repositories together. Default {@link MAX_DISCOVERY_CALLS_PER_RUN}. */
  maxCallsPerRun?: number;
  /** GitHub calls per repository and run. Default {@link MAX_DISCOVERY_CALLS_PER_REPOSITORY}. */
  maxCallsPerRepository?: number;
  logger: Logger;
  metrics: Metrics;
}

export interface DiscoveryReport {
  /** Repositories looked at this run (`owner/repo`, lower-case). */
  repositories: string[];
  /** GitHub calls made. */
  calls: number;
  /** Queued jobs with served labels that the store already knew (no write). */
  known: number;
  /** Queued jobs this run recorded and dispatched. */
  discovered: number[];
  /** Queued jobs younger than the grace period, left to their webhook. */
  young: number;
  /** Queued jobs whose labels this fleet does not serve. */
  unserved: number;
  /** Repositories skipped because their scope's breaker is open. */
  breakerOpen: string[];
  /** Repositories the per-run call budget did not reach, or did not finish. */
  cut: string[];
  /** GitHub requests that failed (the repository is looked at again next run). */
  errors: number;
}

export const MAX_DISCOVERY_CALLS_PER_RUN = 50;
export const MAX_DISCOVERY_CALLS_PER_REPOSITORY = 10;

/**
 * Grace before a queued job is discovered rather than delivered: twice the reconcile interval, at least
 * 15 s (GitHub waits up to 10 s for a delivery's answer, and a delivery is listed only once answered) and
 * at most 2 minutes (a lost job should not wait longer than that on top of the interval).
 */
export function discoveryGraceMs(config: Pick<Config, 'timeouts'>): number {
  return Math.min(120_000, Math.max(15_000, 2 * config.timeouts.reconcileIntervalSeconds * 1000));
}

/** Run statuses that can hold a queued job, in the order they are looked at. */
const OPEN_RUNS: readonly OpenRunStatus[] = [
  // Every job of a `queued` run is still waiting: the likeliest place of a lost job, looked at first.
  'queued',
  // A run turns `in_progress` when its first job starts, so a later job (a `needs:` chain, a matrix
  // larger than the fleet) waits queued in an `in_progress` run.
  'in_progress',
];

interface Repository {
  owner: string;
  repo: string;
  key: string;
}

/** Thrown inside a repository's scan when its share of the call budget is spent. */
class BudgetSpent extends Error {}

/**
 * Missed webhooks, optional part (docs/design.md "Crash safety"): for repositories that opt in (`DISCOVER_QUEUED_JOBS`),
 * queued jobs are looked up in the Actions API, so a job whose `queued` webhook GitHub never sent, whose
 * redeliveries all failed, or that was queued while the App's webhook was deactivated, still runs.
 *
 * - **Same filters and path as the webhook:** a repository outside `REPO_ALLOWLIST` is never looked at, a
 *   job whose labels are not all served is skipped, and a new job goes through `recordQueuedJob`, the
 *   webhook's conditional create and dispatch. A webhook arriving later is a duplicate (it adds its
 *   delivery id, dispatches nothing), and a job recorded here twice is recorded once.
 * - **Ordering with redelivery:** the reconciler runs this after the `deliveries` step, and a job queued
 *   for less than `graceMs` is left alone: its webhook may still be in flight or was just redelivered.
 *   Discovery is the last resort, not a race with the webhook (which would only cost a duplicate).
 * - **A job already in the store costs no write:** one read tells, and a known job (open or finished)
 *   is left to the other steps.
 * - **Bounded:** at most `maxCallsPerRun` GitHub calls per run and `maxCallsPerRepository` per
 *   repository; a repository whose scope's breaker is open costs none. Repositories the budget did not
 *   reach are looked at first next run (the start rotates, in this process).
 * - **Quiet:** with no repository opted in (the default), no call and no store request.
 */
export function createDiscoverQueuedJobs(deps: DiscoverQueuedJobsDeps) {
  const { config, github, jobs, recordQueuedJob, scopeGuard, graceMs, logger, metrics } = deps;
  const maxCallsPerRun = deps.maxCallsPerRun ?? MAX_DISCOVERY_CALLS_PER_RUN;
  const maxCallsPerRepository = deps.maxCallsPerRepository ?? MAX_DISCOVERY_CALLS_PER_REPOSITORY;

  const repositories: Repository[] = [];
  for (const entry of config.discoverQueuedJobs) {
    const [owner = '', repo = ''] = entry.split('/');
    const key = `${owner}/${repo}`.toLowerCase();
    if (repositories.some((r) => r.key === key)) continue;
    if (!isAllowed(config.allowlist, owner, repo)) {
      // Like the webhook, which ignores its jobs: a repository we do not serve is never looked at.
      logger.warn('DISCOVER_QUEUED_JOBS names a repository outside REPO_ALLOWLIST; it is not looked at', {
        repo: entry,
      });
      continue;
    }
    repositories.push({ owner, repo, key });
  }
  /** Installation per repository; found once per process (an App JWT call), forgotten on a 404. */
  const installations = new Map<string, number>();
  /** Where the next run starts, so a budget too small for every repository still reaches them all in turn. */
  let start = 0;

  return async function discoverQueuedJobs(now: number): Promise<DiscoveryReport> {
    const report: DiscoveryReport = {
      repositories: [],
      calls: 0,
      known: 0,
      discovered: [],
      young: 0,
      unserved: 0,
      breakerOpen: [],
      cut: [],
      errors: 0,
    };
    if (repositories.length === 0) return report;

    let nextStart: number | undefined;
    for (let i = 0; i < repositories.length; i++) {
      const index = (start + i) % repositories.length;
      const repository = repositories[index] as Repository;
      if (report.calls >= maxCallsPerRun) {
        nextStart ??= index;
        report.cut.push(repository.key);
        continue;
      }
      const scope = scopeKey(scopeForRepository(config.runner.scope, repository.owner, repository.repo));
      if (scopeGuard && (await scopeGuard.openUntil(scope, now)) !== undefined) {
        report.breakerOpen.push(repository.key); // no call for a scope whose API is failing
        continue;
      }
      report.repositories.push(repository.key);
      const allowed = Math.min(maxCallsPerRepository, maxCallsPerRun - report.calls);
      let used = 0;
      const spend = () => {
        if (used >= allowed) throw new BudgetSpent();
        used += 1;
        report.calls += 1;
      };
      try {
        await scanRepository(repository, scope, spend, now, report);
      } catch (error) {
        if (error instanceof BudgetSpent) {
          // This repository's share is spent: the rest of it waits for the next run.
          if (report.calls >= maxCallsPerRun) nextStart ??= index;
          report.cut.push(repository.key);
          continue;
        }
        if (!(error instanceof GitHubRequestError)) throw error;
        report.errors += 1;
        if (error.status === 404) installations.delete(repository.key);
        logger.warn('cannot look up queued jobs', { repo: repository.key, status: error.status });
      }
    }
    start = nextStart ?? start;

    if (report.discovered.length > 0) {
      metrics.count(CountMetric.jobDiscovered, report.discovered.length);
      logger.info('queued jobs discovered in the Actions API (no queued webhook reached us)', {
        jobIds: report.discovered,
        calls: report.calls,
      });
    }
    logger.debug('discovery of queued jobs', { ...report, discovered: report.discovered.length });
    return report;
  };

  async function scanRepository(
    repository: Repository,
    scope: string,
    spend: () => void,
    now: number,
    report: DiscoveryReport,
  ): Promise<void> {
    let installationId = installations.get(repository.key);
    if (installationId === undefined) {
      spend();
      installationId = await github.findInstallation({ kind: 'repo', owner: repository.owner, repo: repository.repo });
      if (installationId === undefined) {
        logger.warn('DISCOVER_QUEUED_JOBS names a repository the App is not installed on', { repo: repository.key });
        return;
      }
      installations.set(repository.key, installationId);
    }
    const { owner, repo } = repository;
    const seen = new Set<number>();
    for (const status of OPEN_RUNS) {
      for (let page = 1; ; page++) {
        spend();
        const runs = await github.listWorkflowRuns(installationId, owner, repo, { status, page });
        for (const run of runs.items) {
          if (seen.has(run.id)) continue; // a run that started between the two listings
          seen.add(run.id);
          for (let jobsPage = 1; ; jobsPage++) {
            spend();
            const found = await github.listWorkflowRunJobs(installationId, owner, repo, {
              runId: run.id,
              page: jobsPage,
            });
            for (const job of found.items) await consider(job, repository, scope, installationId, now, report);
            if (!found.more) break;
          }
        }
        if (!runs.more) break;
      }
    }
  }

  async function consider(
    job: WorkflowRunJob,
    repository: Repository,
    scope: string,
    installationId: number,
    now: number,
    report: DiscoveryReport,
  ): Promise<void> {
    if (job.status !== 'queued') return;
    // The webhook's rule: the first pool whose labels cover the job's serves it.
    const pool = matchPool(config.pools, job.labels);
    if (!pool) {
      report.unserved += 1;
      return;
    }
    const queuedAt = Date.parse(job.createdAt);
    if (Number.isFinite(queuedAt) && now - queuedAt < graceMs) {
      report.young += 1;
      return;
    }
    // A read, not the create's conditional write: the common case (the webhook did arrive) writes nothing.
    if (await jobs.get(job.id)) {
      report.known += 1;
      return;
    }
    const newJob: NewJob = {
      jobId: job.id,
      runId: job.runId,
      owner: repository.owner,
      repo: repository.repo,
      scopeKey: scope,
      installationId,
      labels: job.labels,
      pool: pool.name,
      ...(job.headSha !== undefined && { headSha: job.headSha }),
      ...(job.name !== undefined && { jobName: job.name }),
      ...(job.workflowName !== undefined && { workflowName: job.workflowName }),
    };
    const since = Number.isFinite(queuedAt) ? `, queued since ${new Date(queuedAt).toISOString()}` : '';
    const { created } = await recordQueuedJob(newJob, {
      deliveryId: `discovered:run-${job.runId}`,
      note: `discovered in the Actions API (run ${job.runId}${since}): no queued webhook was delivered`,
    });
    if (created) report.discovered.push(job.id);
    else report.known += 1; // its webhook got there between the read and the create
  }
}

export type DiscoverQueuedJobs = ReturnType<typeof createDiscoverQueuedJobs>;
