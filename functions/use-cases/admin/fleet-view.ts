import { createHash } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import type { Baseline } from '../../domain/baseline.ts';
import { isOpen, openRemainingMs } from '../../domain/breaker-policy.ts';
import type { Job } from '../../domain/job.ts';
import { type JobFilter, matchesJobFilter, newestFirst } from '../../domain/job-filter.ts';
import { isTerminal, JobStatus } from '../../domain/job-status.ts';
import { slotsInUse } from '../../domain/pool-capacity.ts';
import { poolNameOf } from '../../domain/runner-pool.ts';
import { RunnerKind, type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import type { RunnerVersionRole } from '../../domain/version-role.ts';
import { isIdleWarm, warmTarget } from '../../domain/warm-pool.ts';
import type { Clock } from '../../ports/runtime.ts';
import { type Store, VersionRecordCorruptError } from '../../ports/store.ts';

// The read model behind `jit-runners status|jobs|runners|baseline list`, the local status page and its
// `/api/…` paths: the same views whether they are read through the local server or straight from a deployed
// stack's table. Every time is ISO 8601 (UTC); field names are part of the documented JSON (README, "Operate").

export interface JobEventView {
  at: string;
  status: JobStatus;
  note: string;
}

export interface JobView {
  jobId: number;
  /** `owner/repo`. */
  repo: string;
  pool: string;
  status: JobStatus;
  labels: string[];
  attempt: number;
  heals: number;
  thefts: number;
  runnerName?: string;
  runnerId?: number;
  runnerVersion?: string;
  /** Why the runner got that version: `canary`, `current`, `previous`, `fallback` or `pinned`. */
  runnerVersionRole?: RunnerVersionRole;
  ranOn?: string;
  failureClass?: string;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  /** Recorded → launch request accepted, when it launched. */
  launchedAfterMs?: number;
  /** When it was launched (the last launch request accepted). */
  launchedAt?: string;
  /** Capacity: since when it waited for a slot of its pool, and its turn. */
  backlogSince?: string;
  turn?: number;
  /** Approval waits: since when it waits for an environment approval, when it became assignable again. */
  waitingSince?: string;
  assignableAt?: string;
  /** Runners retired by approval waits. */
  waits?: number;
  history: JobEventView[];
}

export interface PoolView {
  name: string;
  labels: string[];
  launcher: string;
  /** Absent: no cap. */
  maxRunners?: number;
  /** Slots held: runners alive or about to be. */
  inUse: number;
  /** Jobs waiting for room (`waiting-capacity`). */
  backlog: number;
  /** Open jobs of the pool, whatever their state. */
  openJobs: number;
  /**
   * Pools with `warm` only (absent otherwise, or when the pool lost `warm` and has none left): warm runners
   * booted or booting that no job claimed yet, warm runners a job claimed (serving it now), and how many idle
   * ones the pool keeps now (its schedule's window, or its size).
   */
  warmIdle?: number;
  warmInUse?: number;
  warmTarget?: number;
}

/**
 * One runner alive: a runner record (baseline, stolen and warm runners), or the JIT runner of a launched or
 * running job, which is named only on its job (kind `jit`, its state the job's status).
 */
export interface RunnerView {
  name: string;
  kind: string;
  state: string;
  scope: string;
  /** The pool it runs in: a job's runner and a warm runner; absent for a baseline or stolen runner's record. */
  pool?: string;
  /** Absent when its job recorded none (items written before runner versions were kept). */
  version?: string;
  /** A job's runner: why it got that version (`canary`, `current`, …), when its job recorded it. */
  versionRole?: RunnerVersionRole;
  jobId?: number;
  tookJobId?: number;
  /** Since when it is alive: a record's creation, or its job's launch. */
  createdAt: string;
  updatedAt: string;
}

export interface BaselineView {
  scope: string;
  state: string;
  method?: string;
  runnerName?: string;
  runnerId?: number;
  verifiedOnlineAt?: string;
  workarounds: number;
  /** While `healing`: until when the workaround holds the scope. */
  healingUntil?: string;
  reason?: string;
  updatedAt: string;
}

export interface BreakerView {
  scope: string;
  open: boolean;
  /** While open: when provisioning for the scope resumes. */
  openUntil?: string;
  openRemainingMs?: number;
  consecutiveFailures: number;
  opens: number;
  reason?: string;
  updatedAt: string;
}

export interface VersionSummaryView {
  /** The fleet's version: the adopted one, or the configured start/pin when none was adopted. */
  current: string;
  source: 'adopted' | 'configured';
  previous?: string;
  canary?: { version: string; since: string };
  bad: { version: string; reason: string }[];
  /** Set when the stored record cannot be read (a person must fix it; `jit-runners version status`). */
  error?: string;
}

export interface FleetStatus {
  generatedAt: string;
  pools: PoolView[];
  /** Open jobs by status (every status present, zeros included), and jobs that ended in the window. */
  jobs: { open: number; byStatus: Record<JobStatus, number>; endedRecently: { completed: number; failed: number } };
  /** Window of `endedRecently` and of the job list's default `since`. */
  recentWindowMs: number;
  /** The runners `runners()` lists (the records and the JIT runners of launched and running jobs), by state. */
  runners: { alive: number; byState: Record<string, number> };
  breakers: { open: number; scopes: BreakerView[] };
  baselines: { total: number; notPresent: number };
  version: VersionSummaryView;
  /**
   * Opaque; changes whenever anything the other views list changes (a job's record, a runner, a baseline, a
   * breaker opening or closing, a pool's slots, the version), and only then. The status page polls this
   * answer and fetches the lists only when the token moved.
   */
  changeToken: string;
}

export interface FleetView {
  status(): Promise<FleetStatus>;
  /** Open jobs and those that ended since `filter.since` (default: the recent window), newest first. */
  jobs(filter?: JobFilter, limit?: number): Promise<JobView[]>;
  job(jobId: number): Promise<JobView | undefined>;
  runners(): Promise<RunnerView[]>;
  baselines(): Promise<BaselineView[]>;
  breakers(): Promise<BreakerView[]>;
}

/** What the view reads of the configuration: the pools and the start version (a deployed stack's `describe` gives both). */
export interface FleetViewConfig {
  pools: readonly Pick<Config['pools'][number], 'name' | 'labels' | 'launcher' | 'maxRunners' | 'warm'>[];
  runner: Pick<Config['runner'], 'version'>;
}

export interface FleetViewDeps {
  config: FleetViewConfig;
  store: Store;
  clock: Clock;
  /** How far back "recent" reaches; default 24 hours. */
  recentWindowMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Listings are bounded so one view never turns into a full-table read. */
const MAX_LISTED = 1000;
const iso = (ms: number) => new Date(ms).toISOString();

export function jobView(job: Job): JobView {
  return {
    jobId: job.jobId,
    repo: `${job.owner}/${job.repo}`,
    pool: poolNameOf(job),
    status: job.status,
    labels: [...job.labels],
    attempt: job.attempt,
    heals: job.heals,
    thefts: job.thefts ?? 0,
    ...(job.runnerName === undefined ? {} : { runnerName: job.runnerName }),
    ...(job.runnerId === undefined ? {} : { runnerId: job.runnerId }),
    ...(job.runnerVersion === undefined ? {} : { runnerVersion: job.runnerVersion }),
    ...(job.runnerVersionRole === undefined ? {} : { runnerVersionRole: job.runnerVersionRole }),
    ...(job.ranOn === undefined ? {} : { ranOn: job.ranOn }),
    ...(job.failureClass === undefined ? {} : { failureClass: job.failureClass }),
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    ...(job.launchedAt === undefined
      ? {}
      : { launchedAfterMs: Math.max(0, job.launchedAt - job.createdAt), launchedAt: iso(job.launchedAt) }),
    ...(job.backlogSince === undefined ? {} : { backlogSince: iso(job.backlogSince) }),
    ...(job.turn === undefined ? {} : { turn: job.turn }),
    ...(job.waitingSince === undefined ? {} : { waitingSince: iso(job.waitingSince) }),
    ...(job.assignableAt === undefined ? {} : { assignableAt: iso(job.assignableAt) }),
    ...(job.waits ? { waits: job.waits } : {}),
    history: job.history.map((e) => ({ at: iso(e.at), status: e.status, note: e.note })),
  };
}

function runnerView(r: RunnerRecord): RunnerView {
  return {
    name: r.name,
    kind: r.kind,
    state: r.state,
    scope: r.scopeKey,
    ...(r.pool === undefined ? {} : { pool: r.pool }),
    version: r.version,
    ...(r.jobId === undefined ? {} : { jobId: r.jobId }),
    ...(r.tookJobId === undefined ? {} : { tookJobId: r.tookJobId }),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

/** Job states whose minted runner is alive. */
const LIVE_RUNNER_STATUSES: ReadonlySet<JobStatus> = new Set([JobStatus.launched, JobStatus.running]);

/**
 * The runners alive, oldest first: the runner records, and the JIT runner of each launched or running job,
 * which has no record (it is named on its job). A job's runner a record already names is listed once, as
 * that record: a stolen runner's record has its name, and a warm runner that serves a job records the job
 * runner's name (`servesRunnerName`). Pure: it reads only the lists it is given.
 */
function runnersAlive(records: readonly RunnerRecord[], jobs: readonly Job[]): RunnerView[] {
  const named = new Set(records.flatMap((r) => (r.servesRunnerName ? [r.name, r.servesRunnerName] : [r.name])));
  const ofJobs = jobs.flatMap((job): { since: number; view: RunnerView }[] => {
    const name = job.runnerName;
    if (name === undefined || !LIVE_RUNNER_STATUSES.has(job.status) || named.has(name)) return [];
    const since = job.launchedAt ?? job.updatedAt;
    return [
      {
        since,
        view: {
          name,
          kind: RunnerKind.jit,
          state: job.status,
          scope: job.scopeKey,
          pool: poolNameOf(job),
          ...(job.runnerVersion === undefined ? {} : { version: job.runnerVersion }),
          ...(job.runnerVersionRole === undefined ? {} : { versionRole: job.runnerVersionRole }),
          jobId: job.jobId,
          createdAt: iso(since),
          updatedAt: iso(job.updatedAt),
        },
      },
    ];
  });
  return [...records.map((r) => ({ since: r.createdAt, view: runnerView(r) })), ...ofJobs]
    .sort((a, b) => a.since - b.since || (a.view.name < b.view.name ? -1 : a.view.name > b.view.name ? 1 : 0))
    .map((r) => r.view);
}

export function baselineView(b: Baseline): BaselineView {
  return {
    scope: b.scopeKey,
    state: b.state,
    ...(b.method === undefined ? {} : { method: b.method }),
    ...(b.runnerName === undefined ? {} : { runnerName: b.runnerName }),
    ...(b.runnerId === undefined ? {} : { runnerId: b.runnerId }),
    ...(b.verifiedOnlineAt === undefined ? {} : { verifiedOnlineAt: iso(b.verifiedOnlineAt) }),
    workarounds: b.workarounds,
    ...(b.healingUntil === undefined ? {} : { healingUntil: iso(b.healingUntil) }),
    ...(b.reason === undefined ? {} : { reason: b.reason }),
    updatedAt: iso(b.updatedAt),
  };
}

export function createFleetView(deps: FleetViewDeps): FleetView {
  const { config, store, clock } = deps;
  const windowMs = deps.recentWindowMs ?? DAY_MS;

  async function listJobs(since: number): Promise<Job[]> {
    const [open, ended] = await Promise.all([
      store.jobs.listOpen(MAX_LISTED),
      store.jobs.listEndedSince(since, MAX_LISTED),
    ]);
    // A job can sit in both lists for a moment (its index entries move after the item): keep the fresher read.
    const byId = new Map<number, Job>();
    for (const job of [...open, ...ended]) {
      const seen = byId.get(job.jobId);
      if (!seen || seen.version < job.version) byId.set(job.jobId, job);
    }
    return [...byId.values()];
  }

  async function breakers(): Promise<BreakerView[]> {
    const now = clock.now();
    return (await store.breakers.list()).map((b) => {
      const open = isOpen(b, now);
      return {
        scope: b.scopeKey,
        open,
        ...(open ? { openUntil: iso(b.openUntil), openRemainingMs: openRemainingMs(b, now) } : {}),
        consecutiveFailures: b.consecutiveFailures,
        opens: b.opens,
        ...(b.reason === undefined ? {} : { reason: b.reason }),
        updatedAt: iso(b.updatedAt),
      };
    });
  }

  async function version(): Promise<VersionSummaryView> {
    try {
      const record = await store.versions.get();
      if (!record) return { current: config.runner.version, source: 'configured', bad: [] };
      return {
        current: record.current.version,
        source: 'adopted',
        ...(record.previous ? { previous: record.previous.version } : {}),
        ...(record.canary ? { canary: { version: record.canary.version, since: iso(record.canary.since) } } : {}),
        bad: record.bad.map((b) => ({ version: b.version, reason: b.reason })),
      };
    } catch (error) {
      if (!(error instanceof VersionRecordCorruptError)) throw error;
      return { current: config.runner.version, source: 'configured', bad: [], error: error.message };
    }
  }

  return {
    async status() {
      const now = clock.now();
      const [jobs, runners, breakerViews, baselines, capacities, versionView] = await Promise.all([
        listJobs(now - windowMs),
        store.runners.listActive(),
        breakers(),
        store.baselines.list(),
        Promise.all(config.pools.map((pool) => store.pools.get(pool.name))),
        version(),
      ]);
      const byStatus = Object.fromEntries(Object.values(JobStatus).map((s) => [s, 0])) as Record<JobStatus, number>;
      const endedRecently = { completed: 0, failed: 0 };
      for (const job of jobs) {
        if (job.status === JobStatus.completed) endedRecently.completed++;
        else if (job.status === JobStatus.failed) endedRecently.failed++;
        else byStatus[job.status]++;
      }
      const open = jobs.filter((j) => !isTerminal(j.status));
      const openIds = new Set(open.map((j) => j.jobId));
      // The runners list's own count, from the reads above (no more): the records and the open jobs' runners.
      const alive = runnersAlive(runners, open);
      const byState: Record<string, number> = {};
      for (const r of alive) byState[r.state] = (byState[r.state] ?? 0) + 1;
      const pools: PoolView[] = config.pools.map((pool, index) => {
        const capacity = capacities[index];
        const poolJobs = open.filter((j) => poolNameOf(j) === pool.name);
        const warm = runners.filter((r) => r.kind === RunnerKind.warm && r.pool === pool.name);
        return {
          name: pool.name,
          labels: [...pool.labels],
          launcher: pool.launcher,
          ...(pool.maxRunners === undefined ? {} : { maxRunners: pool.maxRunners }),
          inUse: capacity ? slotsInUse(capacity) : 0,
          backlog: poolJobs.filter((j) => j.status === JobStatus.waitingCapacity).length,
          openJobs: poolJobs.length,
          ...(pool.warm === undefined && warm.length === 0
            ? {}
            : {
                warmIdle: warm.filter(isIdleWarm).length,
                // Serving a job: claimed, and its job still open. A claimed warm runner whose job ended is
                // only waiting for the reconciler to close its record; it serves nothing.
                warmInUse: warm.filter(
                  (r) => r.state === RunnerState.claimed && (r.jobId === undefined || openIds.has(r.jobId)),
                ).length,
              }),
          ...(pool.warm === undefined ? {} : { warmTarget: warmTarget(pool.warm, now) }),
        };
      });
      const changeToken = createHash('sha256')
        .update(
          JSON.stringify([
            jobs.map((j) => [j.jobId, j.version, j.updatedAt]).sort((a, b) => Number(a[0]) - Number(b[0])),
            runners.map((r) => [r.name, r.state, r.updatedAt]).sort(),
            breakerViews.map((b) => [b.scope, b.open, b.updatedAt]),
            baselines.map((b) => [b.scopeKey, b.state, b.updatedAt]),
            capacities.map((c) => (c ? [c.pool, c.version] : null)),
            versionView,
          ]),
        )
        .digest('base64url')
        .slice(0, 16);
      return {
        generatedAt: iso(now),
        pools,
        jobs: { open: open.length, byStatus, endedRecently },
        recentWindowMs: windowMs,
        runners: { alive: alive.length, byState },
        breakers: { open: breakerViews.filter((b) => b.open).length, scopes: breakerViews },
        baselines: { total: baselines.length, notPresent: baselines.filter((b) => b.state !== 'present').length },
        version: versionView,
        changeToken,
      };
    },

    async jobs(filter = {}, limit = 200) {
      const since = filter.since ?? clock.now() - windowMs;
      const jobs = await listJobs(since);
      return (
        jobs
          // Without an explicit `since`, an open job is listed however old it is: it is what the fleet is doing.
          .filter((job) =>
            matchesJobFilter(
              job,
              filter.since === undefined && !isTerminal(job.status) ? filter : { ...filter, since },
            ),
          )
          .sort(newestFirst)
          .slice(0, Math.max(0, limit))
          .map(jobView)
      );
    },

    async job(jobId) {
      const job = await store.jobs.get(jobId);
      return job ? jobView(job) : undefined;
    },

    async runners() {
      // Costs one listing besides the runner records' own: the open jobs (on DynamoDB one Query per shard of
      // the open-jobs list, then consistent BatchGetItems of up to 100 jobs each; in memory one pass over the
      // jobs), the same read `status()` and `jobs()` make. Never a read per job or per runner.
      const [records, open] = await Promise.all([store.runners.listActive(), store.jobs.listOpen(MAX_LISTED)]);
      return runnersAlive(records, open);
    },

    async baselines() {
      return (await store.baselines.list()).map(baselineView);
    },

    breakers,
  };
}
