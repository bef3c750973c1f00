import type { Job } from './job.ts';
import { JobStatus } from './job-status.ts';
import { poolNameOf } from './runner-pool.ts';

/** What one pool looks like at a reconciler pass. */
export interface PoolGauge {
  pool: string;
  /** Open jobs holding a runner: launched (starting), healing (being replaced), running. */
  runnersAlive: number;
  /** Jobs waiting for room in the pool (`waiting-capacity`). */
  backlog: number;
}

export interface FleetGauges {
  /** One entry per configured pool, in configured order, zeros included (a chart shows 0, not a gap). */
  pools: PoolGauge[];
  /** Scopes whose open breaker holds at least one job back (`waiting-breaker` until a later time). */
  breakerOpenScopes: number;
}

const HOLDS_RUNNER: ReadonlySet<JobStatus> = new Set([JobStatus.launched, JobStatus.healing, JobStatus.running]);

type GaugedJob = Pick<Job, 'jobId' | 'status' | 'pool' | 'scopeKey' | 'notBefore'>;

/**
 * The gauges the reconciler publishes every pass, from the open jobs the pass has already read (no store
 * request of their own). `released`: backlogged jobs this pass handed a slot (no longer waiting). Jobs of a
 * pool no longer configured are left out: the dashboard charts the configured pools.
 */
export function fleetGauges(
  poolNames: readonly string[],
  openJobs: readonly GaugedJob[],
  now: number,
  released: ReadonlySet<number> = new Set(),
): FleetGauges {
  const pools = new Map<string, PoolGauge>(poolNames.map((pool) => [pool, { pool, runnersAlive: 0, backlog: 0 }]));
  const openBreakers = new Set<string>();
  for (const job of openJobs) {
    const gauge = pools.get(poolNameOf(job));
    if (gauge && HOLDS_RUNNER.has(job.status)) gauge.runnersAlive++;
    if (gauge && job.status === JobStatus.waitingCapacity && !released.has(job.jobId)) gauge.backlog++;
    if (job.status === JobStatus.waitingBreaker && (job.notBefore ?? 0) > now) openBreakers.add(job.scopeKey);
  }
  return { pools: [...pools.values()], breakerOpenScopes: openBreakers.size };
}
