import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import {
  type Admission,
  admit,
  type BacklogHead,
  emptyCapacity,
  handOut,
  hasBacklog,
  lostSlots,
  type PoolCapacity,
  type PoolCapacityState,
  releaseSlot,
  room,
  slotsInUse,
} from '../../domain/pool-capacity.ts';
import { parseRunnerName, runnerName } from '../../domain/runner-name.ts';
import { poolForJob, type RunnerPool } from '../../domain/runner-pool.ts';
import { moveWarmSlot, reserveWarmSlots } from '../../domain/warm-pool.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Clock, Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store, StoreUnavailableError } from '../../ports/store.ts';

export interface RunnerCapacityDeps {
  config: Pick<Config, 'pools' | 'runner'>;
  store: Pick<Store, 'pools' | 'jobs'>;
  /** For the reconciler's pass: the launches still running tell which slots lost their runner's end. */
  launcher: Pick<RunnerLauncher, 'listActive'>;
  dispatcher: Dispatcher;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /**
   * A slot whose runner the platform does not list is freed only after this long (default 15 s), and never
   * while its job is being provisioned under a live lease: it covers a launch that the platform's listing
   * does not show yet (EC2's DescribeInstances is eventually consistent).
   */
  lostSlotGraceMs?: number;
  random?: () => number;
}

/** What {@link RunnerCapacity.admit} decided for one runner about to be minted. */
export type CapacityVerdict = { kind: 'admitted' } | { kind: 'wait'; turn: number; alive: number };

/** Read-modify-write tries of one pool record before giving up (a burst of jobs into one pool contends). */
const MAX_TRIES = 25;
const DEFAULT_LOST_SLOT_GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether a job a repository's turn names may still be waiting in the backlog. Why `provisioning` and
 * `queued` count: a job writes its turn into the pool record before its own `waiting-capacity` write, so
 * right after its turn is given it is still `provisioning`; a turn forgotten then would let the next job of
 * the repository jump it, and a pool whose turns are all forgotten stops looking at its backlog. A turn kept
 * a little too long only costs a later job of that repository one turn.
 */
function mayStillWait(job: Job | undefined): boolean {
  if (!job) return false;
  switch (job.status) {
    case JobStatus.waitingCapacity:
    case JobStatus.provisioning:
    case JobStatus.queued:
    case JobStatus.waitingBreaker:
    case JobStatus.healing:
      return true;
    case JobStatus.launched:
    case JobStatus.running:
    case JobStatus.waiting:
    case JobStatus.completed:
    case JobStatus.failed:
      return false;
  }
}

const withoutMeta = ({ version: _v, updatedAt: _u, ...state }: PoolCapacity): PoolCapacityState => state;
const repositoryOf = (job: Pick<Job, 'owner' | 'repo'>) => `${job.owner}/${job.repo}`;

/**
 * Runner capacity of the pools with `maxRunners` (docs/design.md "Capacity"). A runner takes a slot in its
 * pool's `POOL#<name>` record before it is minted and gives it back when it ends; a job that finds no slot
 * waits in the pool's backlog (`waiting-capacity`) with a turn, and every slot given back goes to the head of
 * the backlog, whose provisioning is dispatched then. Nothing polls: a runner's end (exit, build or instance
 * state, retire) releases, and the reconciler's pass repairs what a crash or a lost event left behind.
 * Pools without `maxRunners` never touch the store here.
 */
export function createRunnerCapacity(deps: RunnerCapacityDeps) {
  const { config, store, dispatcher, clock, logger, metrics } = deps;
  const graceMs = deps.lostSlotGraceMs ?? DEFAULT_LOST_SLOT_GRACE_MS;
  const random = deps.random ?? Math.random;
  const capped = () => config.pools.filter((pool) => pool.maxRunners !== undefined);
  const capOf = (poolName: string) => config.pools.find((pool) => pool.name === poolName)?.maxRunners;

  /**
   * One decision on a pool record: read, decide, write back if it changed, conditional on the version read.
   * Why optimistic and not a counter update: a decision needs the whole record (who holds which slot, the
   * turns), and a lost race must decide again on what the winner wrote, never on a stale count.
   */
  async function change<R extends { next: PoolCapacityState; changed: boolean }>(
    poolName: string,
    decide: (state: PoolCapacityState) => R | Promise<R>,
  ): Promise<R & { stored: PoolCapacityState }> {
    for (let tries = 1; ; tries++) {
      const stored = await store.pools.get(poolName);
      const decision = await decide(stored ? withoutMeta(stored) : emptyCapacity(poolName));
      if (!decision.changed) return { ...decision, stored: decision.next };
      try {
        await store.pools.put(decision.next, stored?.version ?? 0, clock.now());
        return { ...decision, stored: decision.next };
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        if (tries >= MAX_TRIES) {
          throw new StoreUnavailableError(`pool ${poolName}: record still contended after ${tries} tries`, {
            cause: error,
          });
        }
        // Jittered and doubling up to 400 ms: writers that collided spread out instead of colliding again.
        // Why that cap: a burst of a few hundred jobs into one pool all write its record once; the 25 tries
        // then span about 8 s, room for that many writes, and stay well inside the provisioning lease (20 s).
        await sleep(Math.min(400, 10 * 2 ** (tries - 1)) * (0.5 + random()));
      }
    }
  }

  /** Hands the pool's free slots to the head of its backlog and dispatches those jobs. */
  async function fill(poolName: string): Promise<number[]> {
    const maxRunners = capOf(poolName);
    if (maxRunners === undefined) return [];
    const current = await store.pools.get(poolName);
    const state = current ? withoutMeta(current) : emptyCapacity(poolName);
    const free = room(state, maxRunners);
    // Why the backlog is listed on every release with room, and not only when the record names a waiting
    // repository: the turns serve fairness, the listing serves liveness. A turn forgotten too early (a race
    // between a job entering and another leaving) must never leave a job waiting with slots free.
    if (free === 0) return [];
    const waiting = await store.jobs.listBacklog(poolName, free);
    const heads: BacklogHead[] = waiting.map((job) => ({
      jobId: job.jobId,
      repository: repositoryOf(job),
      queuedAt: job.backlogSince ?? job.updatedAt,
      turn: job.turn ?? 0,
      runnerName: runnerName(config.runner.namePrefix, job.jobId, job.attempt),
    }));
    // A backlog listed empty forgets the turns of jobs that ended while waiting; a turn whose job is still
    // waiting (just written, not yet in the eventually consistent index) is kept.
    let empty = false;
    if (heads.length === 0 && hasBacklog(state)) {
      const jobs = await Promise.all(Object.values(state.turns).map((t) => store.jobs.get(t.jobId)));
      empty = !jobs.some(mayStillWait);
    }
    if (heads.length === 0 && !empty) return [];
    const out = await change(poolName, (s) => handOut(s, heads, maxRunners, clock.now(), empty));
    for (const head of out.given) {
      await dispatcher.dispatch(head.jobId);
      logger.info('backlog: a slot was handed to the next waiting job', {
        pool: poolName,
        jobId: head.jobId,
        repository: head.repository,
        turn: head.turn,
        alive: slotsInUse(out.stored),
      });
    }
    if (out.given.length > 0) metrics.count(CountMetric.backlogReleased, out.given.length, { pool: poolName });
    return out.given.map((head) => head.jobId);
  }

  /**
   * Gives a runner's slot back (a name without one changes nothing), then fills the pool from its backlog.
   * `heldFor`: only a slot held for that job is given back; otherwise nothing changes and nothing is filled.
   */
  async function release(poolName: string, name: string, why: string, heldFor?: number): Promise<boolean> {
    if (capOf(poolName) === undefined) return false;
    const out = await change(poolName, (s) =>
      heldFor === undefined || s.slots[name]?.jobId === heldFor ? releaseSlot(s, name) : { next: s, changed: false },
    );
    if (out.changed) logger.debug('runner slot released', { pool: poolName, runnerName: name, why });
    else if (heldFor !== undefined) return false;
    await fill(poolName);
    return out.changed;
  }

  return {
    /** Whether any pool has a cap (without one, callers skip every capacity step). */
    get active(): boolean {
      return capped().length > 0;
    },

    /**
     * Before `runnerName` is minted for `job` in `pool`: admitted (a slot is held under the name), or the
     * pool is full and the job must wait with the turn given.
     */
    async admit(job: Job, pool: RunnerPool, name: string, now: number): Promise<CapacityVerdict> {
      const { maxRunners } = pool;
      if (maxRunners === undefined) return { kind: 'admitted' };
      const repository = repositoryOf(job);
      const out = await change<Admission>(pool.name, async (state) => {
        const own = state.turns[repository];
        // The repository's newest waiting job may have ended while it waited (cancelled): then the new job
        // must not queue behind it. One read, only when the repository has a turn and the job would wait.
        let lastStillWaiting: boolean | undefined;
        if (own !== undefined && own.jobId !== job.jobId && state.slots[name] === undefined) {
          lastStillWaiting = mayStillWait(await store.jobs.get(own.jobId));
        }
        return admit(state, { runnerName: name, jobId: job.jobId, repository, maxRunners, now, lastStillWaiting });
      });
      if (out.kind === 'admitted') return { kind: 'admitted' };
      return { kind: 'wait', turn: out.turn, alive: slotsInUse(out.stored) };
    },

    /**
     * The job's runner is known not to be alive (its mint or launch failed, it was retired, its job left it
     * unminted): its slot goes back to the pool.
     */
    async release(job: Pick<Job, 'pool' | 'labels'>, name: string, why: string): Promise<boolean> {
      const pool = poolForJob(config.pools, job);
      return pool ? release(pool.name, name, why) : false;
    },

    /**
     * A runner's process, build or instance ended (an exit or a state-change signal, with its name): its slot
     * goes back to its job's pool. One job read, only while some pool has a cap.
     */
    async runnerEnded(name: string): Promise<boolean> {
      if (capped().length === 0) return false;
      const parsed = parseRunnerName(config.runner.namePrefix, name);
      if (!parsed) return false;
      const job = await store.jobs.get(parsed.jobId);
      const pool = job ? poolForJob(config.pools, job) : undefined;
      return pool ? release(pool.name, name, 'runner ended') : false;
    },

    /**
     * A provisioning found its job moved on (its lease write failed): if the job's pool holds a slot under
     * the name of the job's current attempt and no runner of that name was launched, the slot goes back.
     * Why: the backlog hands a slot to a job it listed as waiting, and the job may leave the backlog before
     * its provisioning runs (another runner took it, it was cancelled); nobody else would give that slot back
     * before the reconciler's pass. Not while the job is provisioning (another holder is minting that name)
     * or waiting for capacity (the slot is its own, used at its next dispatch). One job read, then one pool
     * read (and a write when the slot was its own) only for a capped pool.
     */
    async unclaimed(jobId: number): Promise<boolean> {
      if (capped().length === 0) return false;
      const job = await store.jobs.get(jobId);
      if (!job || job.status === JobStatus.provisioning || job.status === JobStatus.waitingCapacity) return false;
      const pool = poolForJob(config.pools, job);
      if (pool?.maxRunners === undefined) return false;
      const name = runnerName(config.runner.namePrefix, job.jobId, job.attempt);
      if (job.runnerName === name) return false;
      // Only a slot held for this job: checked and given back in one decision on the record.
      return release(pool.name, name, `job moved on (${job.status}) before its runner was minted`, jobId);
    },

    /**
     * Warm runners about to boot in `poolName` take their slots (docs/design.md "Warm runners"): as many of
     * `names` as there is room for, none while a job waits. Returns the names that got a slot.
     */
    async reserveWarm(poolName: string, names: readonly string[]): Promise<string[]> {
      const maxRunners = capOf(poolName);
      if (maxRunners === undefined) return [...names];
      const out = await change(poolName, (s) => reserveWarmSlots(s, names, maxRunners, clock.now()));
      return out.reserved;
    },

    /**
     * The admission of a job that claimed warm runner `warmName`: the warm runner's slot becomes the slot of the
     * job's runner `name`, in the same one write a cold admission makes. A warm slot no longer held (the
     * lost-slot pass freed it) admits the job as a cold launch would, which may mean waiting.
     */
    async admitWarm(job: Job, pool: RunnerPool, name: string, warmName: string, now: number): Promise<CapacityVerdict> {
      if (pool.maxRunners === undefined) return { kind: 'admitted' };
      const out = await change(pool.name, (s) => moveWarmSlot(s, warmName, name, job.jobId, now));
      if (out.moved) return { kind: 'admitted' };
      return this.admit(job, pool, name, now);
    },

    /** Hands free slots of `poolName` to its backlog (after a job started waiting: a slot may have been freed meanwhile). */
    fill: (poolName: string) => fill(poolName),

    /**
     * The reconciler's pass over every capped pool: slots whose runner the platform no longer lists are freed
     * (their end was lost: a crash, a missed event), unless their job is still being provisioned under a live
     * lease; then the free slots go to the backlog.
     */
    async reconcile(now: number): Promise<{ freed: string[]; released: number[] }> {
      const pools = capped();
      if (pools.length === 0) return { freed: [], released: [] };
      const alive = new Set((await deps.launcher.listActive()).map((launch) => launch.runnerName));
      const freed: string[] = [];
      const released: number[] = [];
      for (const pool of pools) {
        const current = await store.pools.get(pool.name);
        const candidates = current ? lostSlots(current, alive, now, graceMs) : [];
        const lost: string[] = [];
        for (const name of candidates) {
          const jobId = current?.slots[name]?.jobId;
          const job = jobId === undefined ? undefined : await store.jobs.get(jobId);
          const minting =
            job?.status === JobStatus.provisioning && job.leaseExpiresAt !== undefined && job.leaseExpiresAt >= now;
          if (!minting) lost.push(name);
        }
        if (lost.length > 0) {
          await change(pool.name, (s) => {
            let next = s;
            let changed = false;
            for (const name of lost) {
              const r = releaseSlot(next, name);
              next = r.next;
              changed ||= r.changed;
            }
            return { next, changed };
          });
          freed.push(...lost);
          logger.info('capacity: freed slots whose runner is gone', { pool: pool.name, runners: lost });
        }
        released.push(...(await fill(pool.name)));
      }
      return { freed, released };
    },
  };
}

export type RunnerCapacity = ReturnType<typeof createRunnerCapacity>;
