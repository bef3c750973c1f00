import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import { isTerminal } from '../../domain/job-status.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type GitHubRunner, type GitHubTarget } from '../../ports/github.ts';
import type { LaunchSummary, RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import type { Store } from '../../ports/store.ts';
import type { RetireRunner } from '../healing/retire-runner.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';

export interface CleanupOrphansDeps {
  config: Pick<Config, 'runner'>;
  store: { jobs: Pick<Store['jobs'], 'get' | 'listEndedSince'>; locks: Store['locks'] };
  github: GitHubPort;
  launcher: RunnerLauncher;
  retireRunner: RetireRunner;
  scopeGuard?: Pick<ScopeGuard, 'openUntil'>;
  /** A launch or registration younger than this is never an orphan (its job record may lag). */
  graceMs: number;
  logger: Logger;
  metrics: Metrics;
}

export interface OrphansReport {
  launchesStopped: string[];
  registrationsDeleted: string[];
  /** Scopes whose registrations were listed (none when idle: docs/design.md "Flow"). */
  scopesSwept: string[];
  errors: number;
}

/** A scope the registration sweep visits, with what it takes to call GitHub for it. */
interface ScopeRef {
  scopeKey: string;
  installationId: number;
  owner: string;
  repo: string;
  /** Sweeps since the scope's last job ended (absent while it has open jobs). */
  idleSweeps?: number;
}

export const SWEPT_SCOPES = 'reconcile:scopes';
/** An idle scope whose runners of ours are not all gone is given up after this many sweeps. */
const MAX_IDLE_SWEEPS = 30;
/**
 * Jobs that ended this long before the last sweep are read again. Why: a job's final write carries the
 * writer's clock, taken before the write lands; a sweep in between must not skip it for good.
 */
export const ENDED_JOBS_MARGIN_MS = 10_000;
/** With no sweep on record, jobs that ended this long ago are looked at (first run, or an old record). */
export const ENDED_JOBS_FIRST_LOOK_BACK_MS = 60 * 60 * 1000;
/** At most this many ended jobs are read per run (their scopes, deduplicated, are what counts). */
const ENDED_JOBS_LIMIT = 1_000;

/** The `reconcile:scopes` value: idle scopes still to sweep, and when ended jobs were last read. */
interface SweepState {
  scopes: ScopeRef[];
  endedSince?: number;
}

function readSweepState(text: string | undefined): SweepState {
  if (!text) return { scopes: [] };
  const scopesOf = (value: unknown) =>
    Array.isArray(value) ? (value as ScopeRef[]).filter((s) => typeof s?.scopeKey === 'string') : [];
  try {
    const parsed = JSON.parse(text) as unknown;
    // Older records were the bare list of scopes.
    if (Array.isArray(parsed)) return { scopes: scopesOf(parsed) };
    const state = parsed as { scopes?: unknown; endedSince?: unknown };
    return {
      scopes: scopesOf(state.scopes),
      ...(typeof state.endedSince === 'number' ? { endedSince: state.endedSince } : {}),
    };
  } catch {
    return { scopes: [] };
  }
}

/**
 * Orphans (docs/design.md "Crash safety"): runners of ours that no live job needs.
 *
 * - Launches (builds, instances, local processes) whose runner name belongs to no live job are stopped,
 *   and their registration deleted, unless GitHub shows the runner busy (it runs a job we were not told
 *   about; it ends by itself, being ephemeral).
 * - Registrations with our name prefix that are offline and belong to no live job are deleted.
 *
 * A runner is live when its job is open and it is the job's current runner (or the attempt being
 * provisioned right now), or when an open job runs on it (a stolen runner). Names of other fleets and
 * the workaround's baseline runners never parse as ours and are never touched.
 *
 * Quiet when idle (decision): registrations are listed only for scopes that have open jobs, plus a last
 * sweep of a scope on the first run after its last job ended, repeated while runners of ours are still
 * there (online, just launched, a failed delete or listing; at most 30 times; kept in `reconcile:scopes`). With no job work
 * and nothing of ours left there is no runner API call at all; listing launches is the launcher's own
 * platform API.
 *
 * Scopes the reconciler never saw open: a job can be queued, minted and finished between two runs (a
 * short job, or a crash that kept its mint unrecorded while another runner took the job). The jobs that
 * ended since the last run (one Query of the ended list, no extra write on the job path) add their scopes
 * to the last sweep, so a registration minted for such a job is still found.
 */
export function createCleanupOrphans(deps: CleanupOrphansDeps) {
  const { config, store, github, launcher, retireRunner, scopeGuard, graceMs, logger, metrics } = deps;
  const prefix = config.runner.namePrefix;

  const refOf = (job: Job): ScopeRef => ({
    scopeKey: job.scopeKey,
    installationId: job.installationId,
    owner: job.owner,
    repo: job.repo,
  });
  const targetOf = (ref: ScopeRef): GitHubTarget => ({
    installationId: ref.installationId,
    scope: scopeForRepository(config.runner.scope, ref.owner, ref.repo),
  });

  return async function cleanupOrphans(open: readonly Job[], now: number): Promise<OrphansReport> {
    const report: OrphansReport = { launchesStopped: [], registrationsDeleted: [], scopesSwept: [], errors: 0 };
    const openById = new Map(open.filter((j) => !isTerminal(j.status)).map((j) => [j.jobId, j]));
    /** Runner name → open jobs of the snapshot that ran on it (a stolen runner is live while its job is). */
    const ranOnBy = new Map<string, number[]>();
    for (const j of openById.values()) if (j.ranOn) ranOnBy.set(j.ranOn, [...(ranOnBy.get(j.ranOn) ?? []), j.jobId]);

    /** Live by its own job: the job is open and it is the job's runner (or the attempt being provisioned). */
    const liveFor = (name: string, job: Job | undefined): boolean => {
      const minted = parseRunnerName(prefix, name);
      if (!minted) return true; // not a JIT name of ours: never ours to judge
      return job !== undefined && !isTerminal(job.status) && (job.runnerName === name || minted.attempt >= job.attempt);
    };
    const isLive = (name: string): boolean =>
      ranOnBy.has(name) || liveFor(name, openById.get(parseRunnerName(prefix, name)?.jobId ?? -1));
    /**
     * Why read the jobs again: the snapshot of open jobs is older than the listing of launches and
     * registrations, so a runner minted after it (for a job queued after it) would look like an orphan.
     * A job is recorded before its runner is minted, so a read after the listing always knows it.
     *
     * And the other way round: the open list is an index, which can hold a job that is no longer open
     * (DynamoDB's index lags the item; the embedded store of local mode can keep an entry for good when
     * the process is killed in the middle of a write). Such an entry must not keep a runner alive: the
     * jobs that say it is live, by its name or by having run on it, are read again too.
     */
    const stillLive = async (name: string, jobId: number): Promise<{ live: boolean; job: Job | undefined }> => {
      const job = await store.jobs.get(jobId);
      if (liveFor(name, job)) return { live: true, job };
      for (const otherId of ranOnBy.get(name) ?? []) {
        const other = otherId === jobId ? job : await store.jobs.get(otherId);
        if (other && !isTerminal(other.status) && other.ranOn === name) return { live: true, job };
      }
      return { live: false, job };
    };

    const listed = new Map<string, GitHubRunner[] | undefined>();
    async function registrations(ref: ScopeRef): Promise<GitHubRunner[] | undefined> {
      if (listed.has(ref.scopeKey)) return listed.get(ref.scopeKey);
      let runners: GitHubRunner[] | undefined;
      if (scopeGuard && (await scopeGuard.openUntil(ref.scopeKey, now)) !== undefined) {
        runners = undefined; // breaker open: no call for this scope now
      } else {
        try {
          runners = await github.listRunners(targetOf(ref));
          report.scopesSwept.push(ref.scopeKey);
        } catch (error) {
          if (!(error instanceof GitHubRequestError)) throw error;
          report.errors += 1;
          logger.warn('cannot list runners for the orphan sweep', { scope: ref.scopeKey, status: error.status });
        }
      }
      listed.set(ref.scopeKey, runners);
      return runners;
    }

    // ── launches ──
    let launches: LaunchSummary[] = [];
    try {
      launches = await launcher.listActive();
    } catch (error) {
      report.errors += 1;
      logger.warn('cannot list launches for the orphan sweep', { error: String(error) });
    }
    const youngLaunches = new Set(launches.filter((l) => now - l.startedAt < graceMs).map((l) => l.runnerName));
    for (const launch of launches) {
      const minted = parseRunnerName(prefix, launch.runnerName);
      if (!minted || isLive(launch.runnerName) || youngLaunches.has(launch.runnerName)) continue;
      try {
        const { live, job } = await stillLive(launch.runnerName, minted.jobId);
        if (live) continue;
        let runnerId: number | undefined;
        let target: GitHubTarget | undefined;
        if (job) {
          target = targetOf(refOf(job));
          const found = (await registrations(refOf(job)))?.find((r) => r.name === launch.runnerName);
          if (found?.busy) continue;
          runnerId = found?.id;
        }
        if (!job || !target) {
          // A launch for a job this store never recorded: stop the process; no scope to clean up in.
          await launcher.stop(launch.launchId);
          report.launchesStopped.push(launch.runnerName);
          continue;
        }
        const outcome = await retireRunner(
          {
            runnerName: launch.runnerName,
            target,
            scopeKey: job.scopeKey,
            jobId: job.jobId,
            runnerId,
            launchId: launch.launchId,
            reason: `orphan launch: job ${job.jobId} is ${job.status}${job.runnerName && job.runnerName !== launch.runnerName ? ` on runner ${job.runnerName}` : ''}`,
            // Idle in the listing above, but it may take a job before the stop: GitHub decides.
            onlyIdle: true,
          },
          now,
        );
        if (outcome.stopped) report.launchesStopped.push(launch.runnerName);
        if (outcome.deleted && runnerId !== undefined) report.registrationsDeleted.push(launch.runnerName);
        if (outcome.deleted && runnerId !== undefined) {
          // Listed before the delete: drop it so the registration sweep does not delete it again.
          listed.set(
            job.scopeKey,
            listed.get(job.scopeKey)?.filter((r) => r.id !== runnerId),
          );
        }
      } catch (error) {
        report.errors += 1;
        logger.warn('cannot retire an orphan launch', { runnerName: launch.runnerName, error: String(error) });
      }
    }

    // ── registrations ──
    const current = new Map<string, ScopeRef>();
    for (const job of openById.values()) if (!current.has(job.scopeKey)) current.set(job.scopeKey, refOf(job));
    const stored = readSweepState(await store.locks.getValue(SWEPT_SCOPES));
    const previous = stored.scopes;
    const sweep = new Map(current);
    for (const ref of previous) if (!sweep.has(ref.scopeKey)) sweep.set(ref.scopeKey, ref);
    const endedSince = (stored.endedSince ?? now - ENDED_JOBS_FIRST_LOOK_BACK_MS) - ENDED_JOBS_MARGIN_MS;
    const ended = await store.jobs.listEndedSince(endedSince, ENDED_JOBS_LIMIT);
    for (const job of ended) if (!sweep.has(job.scopeKey)) sweep.set(job.scopeKey, refOf(job));
    /** Idle scopes still holding registrations of ours (or not listed): swept again next run. */
    const unfinished: ScopeRef[] = [];
    for (const ref of sweep.values()) {
      const runners = await registrations(ref);
      let left = 0;
      for (const runner of runners ?? []) {
        const minted = parseRunnerName(prefix, runner.name);
        if (!minted) continue;
        left += 1;
        const keptFor =
          runner.status !== 'offline'
            ? runner.status
            : runner.busy
              ? 'busy'
              : youngLaunches.has(runner.name)
                ? 'young'
                : undefined;
        if (keptFor !== undefined) {
          logger.debug('registration kept', { runnerName: runner.name, keptFor });
          continue;
        }
        try {
          // An offline registration is judged on a fresh read of its jobs, never on the snapshot alone
          // (see stillLive): a stale open entry would otherwise keep it for good.
          if ((await stillLive(runner.name, minted.jobId)).live) {
            logger.debug('registration kept', { runnerName: runner.name, keptFor: 'live' });
            continue;
          }
          const outcome = await retireRunner(
            {
              runnerName: runner.name,
              target: targetOf(ref),
              scopeKey: ref.scopeKey,
              jobId: minted.jobId,
              runnerId: runner.id,
              reason: 'orphan registration: offline, and no live job needs it',
            },
            now,
          );
          if (!outcome.deleted) {
            report.errors += 1; // logged by the retire path; swept again next run
            continue;
          }
          report.registrationsDeleted.push(runner.name);
          left -= 1;
        } catch (error) {
          report.errors += 1;
          logger.warn('cannot delete an orphan registration', { runnerName: runner.name, error: String(error) });
        }
      }
      if (!current.has(ref.scopeKey)) {
        // Anything of ours still there (online, young, a failed delete or listing) is looked at again.
        const idleSweeps = (ref.idleSweeps ?? 0) + 1;
        if ((runners === undefined || left > 0) && idleSweeps < MAX_IDLE_SWEEPS)
          unfinished.push({ ...ref, idleSweeps });
      }
    }
    const next = [...current.values(), ...unfinished].sort((a, b) => (a.scopeKey < b.scopeKey ? -1 : 1));
    // Written only when something happened (scopes changed, or jobs ended since the last read): an idle
    // reconciler makes no store write for it. Without a write the next run reads the same window again.
    if (JSON.stringify(previous) !== JSON.stringify(next) || ended.length > 0 || stored.endedSince === undefined) {
      const state: SweepState = { scopes: next, endedSince: now };
      await store.locks.setValue(SWEPT_SCOPES, JSON.stringify(state), now);
    }

    if (report.launchesStopped.length > 0)
      metrics.count(CountMetric.orphanLaunchStopped, report.launchesStopped.length);
    if (report.registrationsDeleted.length > 0) {
      metrics.count(CountMetric.orphanRegistrationDeleted, report.registrationsDeleted.length);
    }
    if (report.launchesStopped.length + report.registrationsDeleted.length > 0) {
      logger.info('orphans cleaned up', {
        launches: report.launchesStopped,
        registrations: report.registrationsDeleted,
      });
    }
    return report;
  };
}

export type CleanupOrphans = ReturnType<typeof createCleanupOrphans>;
