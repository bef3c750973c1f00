import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import { hasBacklog, room } from '../../domain/pool-capacity.ts';
import type { RunnerPool } from '../../domain/runner-pool.ts';
import { RunnerKind, type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import { versionRecordState } from '../../domain/version-record.ts';
import {
  claimOrder,
  isIdleWarm,
  isWarmRunnerName,
  planWarmPass,
  type WarmRunnerState,
  type WarmStopReason,
  warmBoots,
  warmRunnerName,
  warmTarget,
} from '../../domain/warm-pool.ts';
import type { LaunchRequest, RunnerLauncher, RunnerTarballDigests } from '../../ports/launcher.ts';
import { CountMetric, MeasureMetric, MetricUnit } from '../../ports/metric-names.ts';
import type { Clock, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store, type VersionRepository } from '../../ports/store.ts';
import { isWarmCapable, type WarmRunnerLauncher } from '../../ports/warm-launcher.ts';
import type { RunnerCapacity } from '../provisioning/runner-capacity.ts';
import { pinnedVersion, trackedTarballDigests } from '../provisioning/runner-version-for.ts';

export interface WarmPoolDeps {
  config: Pick<Config, 'pools' | 'runner' | 'timeouts'>;
  store: Pick<Store, 'runners' | 'jobs' | 'pools'>;
  launcher: RunnerLauncher;
  /** Slots of capped pools: warm runners hold one each, so they count against `maxRunners`. */
  capacity?: Pick<RunnerCapacity, 'active' | 'reserveWarm' | 'release'> | undefined;
  /** The version record, for pools that follow the tracked version. */
  versions?: Pick<VersionRepository, 'get'> | undefined;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** A record younger than this is never read as gone (default 15 s, as the capacity's lost-slot grace). */
  graceMs?: number;
  /** A claimed warm runner whose job did not run on it by then is stopped (default 60 s: 3 provisioning leases). */
  handoffBoundMs?: number;
  /** Random hex for warm names (tests pin it). */
  nonce?: () => string;
}

/** A warm runner a job holds: one conditional write made it the job's, nobody else can claim it. */
export interface WarmClaim {
  warmName: string;
  launchId: string;
  pool: string;
  claimedAt: number;
}

/** What a reconciler pass did with warm runners (the report's `warm`). */
export interface WarmReport {
  booted: string[];
  stopped: { name: string; reason: WarmStopReason }[];
  closed: { name: string; reason: WarmStopReason }[];
  /** Warm launches the platform runs with no record (after a restart that lost them): stopped, never leaked. */
  strays: string[];
}

const DEFAULT_GRACE_MS = 15_000;
const DEFAULT_HANDOFF_BOUND_MS = 60_000;
/** Warm runners a job tries before it launches cold (each failed try lost a race to another claimer). */
const MAX_CLAIM_TRIES = 8;
/** How long this process remembers a warm runner it booted, in case the store's listing does not show it yet. */
const RECENT_BOOT_MS = 30_000;

const IDLE_STATES = [RunnerState.booting, RunnerState.ready] as const;

/**
 * Warm runners of pools with `warm` (docs/design.md "Warm runners"): booting them (each holds a capacity slot
 * in a capped pool), the claim a job makes on one, the hand-off of the job's JIT config to it, and what the
 * reconciler does each pass: recycle idle ones past `maxIdleMinutes`, stop those that never got their job,
 * close records whose launch ended, stop warm launches without a record, and refill up to the target.
 * Inert (no store or launcher call) when no pool has `warm`.
 */
export function createWarmPool(deps: WarmPoolDeps) {
  const { config, store, clock, logger, metrics, capacity } = deps;
  const prefix = config.runner.namePrefix;
  const graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;
  const handoffBoundMs = deps.handoffBoundMs ?? DEFAULT_HANDOFF_BOUND_MS;
  const nonce = deps.nonce ?? (() => randomBytes(4).toString('hex'));
  const launcher: WarmRunnerLauncher | undefined = isWarmCapable(deps.launcher) ? deps.launcher : undefined;
  const warmPools = () => config.pools.filter((pool) => pool.warm !== undefined);
  const poolNamed = (name: string) => config.pools.find((pool) => pool.name === name);
  const capped = (poolName: string) => capacity?.active === true && poolNamed(poolName)?.maxRunners !== undefined;

  /** Boots this process started and may not see listed yet (the store's list index is eventually consistent). */
  const recent = new Map<string, RunnerRecord>();
  /** Refills in flight (one per pool at a time in this process, so a burst of claims boots once). */
  const refilling = new Map<string, Promise<string[]>>();
  /** Set by {@link WarmPool.stopRefilling} at shutdown: no new warm runner is booted after it. */
  let refillsStopped = false;
  const background = new Set<Promise<unknown>>();
  /**
   * Warm runners this process is claiming right now: a burst's provisionings list the same candidates in the
   * same order, and would otherwise all race for the first one (the store's condition still decides).
   */
  const claiming = new Set<string>();

  const stateOf = (r: RunnerRecord): WarmRunnerState => ({
    name: r.name,
    pool: r.pool ?? '',
    state: r.state as WarmRunnerState['state'],
    version: r.version,
    createdAt: r.createdAt,
    readyAt: r.readyAt,
    claimedAt: r.claimedAt,
    jobId: r.jobId,
  });

  async function records(poolName?: string): Promise<RunnerRecord[]> {
    const listed = (await store.runners.listActive()).filter((r) => r.kind === RunnerKind.warm);
    const names = new Set(listed.map((r) => r.name));
    const now = clock.now();
    for (const [name, r] of recent) {
      if (names.has(name) || now - r.createdAt > RECENT_BOOT_MS) recent.delete(name);
      else listed.push(r);
    }
    return poolName === undefined ? listed : listed.filter((r) => r.pool === poolName);
  }

  /** The version a pool's warm runners boot with: what its jobs get now (the tracked current version, or the pin). */
  async function bootVersion(pool: RunnerPool): Promise<{ version: string; runnerSha256?: RunnerTarballDigests }> {
    if (pool.tracksRunnerVersion === true && deps.versions) {
      const record = await deps.versions.get().catch(() => undefined);
      const tracked = record && versionRecordState(record);
      if (tracked) {
        const version = tracked.current.version;
        const runnerSha256 = trackedTarballDigests(version, tracked);
        return { version, ...(runnerSha256 ? { runnerSha256 } : {}) };
      }
    }
    return { version: pinnedVersion(config.runner, pool) };
  }

  async function releaseSlot(poolName: string, name: string, why: string): Promise<void> {
    if (!capped(poolName)) return;
    await capacity?.release({ pool: poolName, labels: [] }, name, why).catch((error: unknown) =>
      logger.warn('cannot release a warm runner slot; the reconciler frees it', {
        runnerName: name,
        error: String(error),
      }),
    );
  }

  /**
   * Stops a warm runner: its record goes `stopping` (conditional on `from`, so a stop and a claim never both
   * win), then the launch, then `stopped`. `slot`: give the warm slot back (an unclaimed runner's; a claimed
   * one's slot is its job's runner's by then).
   */
  async function stop(
    record: Pick<RunnerRecord, 'name' | 'pool' | 'launchId'>,
    from: readonly RunnerState[],
    reason: string,
    slot: boolean,
  ): Promise<boolean> {
    const now = clock.now();
    try {
      await store.runners.update(record.name, { state: RunnerState.stopping }, now, from);
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
    recent.delete(record.name);
    const launchId = record.launchId ?? (await launchIdOf(record.name));
    if (launchId !== undefined) {
      try {
        await deps.launcher.stop(launchId);
      } catch (error) {
        logger.warn('cannot stop a warm runner; the reconciler tries again', {
          runnerName: record.name,
          error: String(error),
        });
        return false;
      }
    }
    if (slot && record.pool !== undefined)
      await releaseSlot(record.pool, record.name, `warm runner stopped: ${reason}`);
    await store.runners.update(record.name, { state: RunnerState.stopped }, clock.now());
    logger.info('warm runner stopped', { runnerName: record.name, pool: record.pool, reason });
    return true;
  }

  async function launchIdOf(name: string): Promise<string | undefined> {
    const listed = await deps.launcher.listActive().catch(() => []);
    return listed.find((l) => l.runnerName === name)?.launchId;
  }

  /** Boots one warm runner whose slot (capped pool) is already held. */
  async function boot(pool: RunnerPool, name: string): Promise<boolean> {
    if (!launcher || !pool.warm) return false;
    const { version, runnerSha256 } = await bootVersion(pool);
    const createdAt = clock.now();
    const record: RunnerRecord = {
      name,
      kind: RunnerKind.warm,
      pool: pool.name,
      scopeKey: '',
      installationId: 0,
      version,
      state: RunnerState.booting,
      createdAt,
      updatedAt: createdAt,
    };
    // The record first: a crash after the boot leaves a record the reconciler adopts or closes, never a leak.
    await store.runners.put(record, createdAt);
    recent.set(name, record);
    let launch: Awaited<ReturnType<WarmRunnerLauncher['bootWarm']>>;
    try {
      launch = await launcher.bootWarm({
        warmName: name,
        pool: pool.name,
        runnerVersion: version,
        ...(runnerSha256 ? { runnerSha256 } : {}),
        maxIdleMs: pool.warm.maxIdleMs,
      });
    } catch (error) {
      // A boot refused because the process is shutting down is expected, not a warning.
      if (refillsStopped) logger.debug('warm runner not booted: shutting down', { runnerName: name, pool: pool.name });
      else logger.warn('warm runner boot failed', { runnerName: name, pool: pool.name, error: String(error) });
      recent.delete(name);
      await releaseSlot(pool.name, name, 'warm boot failed');
      await store.runners.update(name, { state: RunnerState.stopped }, clock.now()).catch(() => undefined);
      return false;
    }
    const ready = (launch as { ready?: boolean }).ready === true;
    const now = clock.now();
    try {
      const stored = await store.runners.update(
        name,
        { launchId: launch.launchId, ...(ready ? { state: RunnerState.ready, readyAt: now } : {}) },
        now,
        [RunnerState.booting],
      );
      recent.set(name, stored);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      // Stopped meanwhile (a reconciler pass read it as gone): nobody may claim it; do not leave it running.
      recent.delete(name);
      await deps.launcher.stop(launch.launchId).catch(() => undefined);
      return false;
    }
    logger.info('warm runner booted', { runnerName: name, pool: pool.name, ready, version });
    return true;
  }

  async function refillPool(poolName: string): Promise<string[]> {
    const pool = poolNamed(poolName);
    if (!launcher || !pool?.warm || refillsStopped) return [];
    const now = clock.now();
    const target = warmTarget(pool.warm, now);
    const idle = (await records(poolName)).filter((r) => isIdleWarm(r)).length;
    let free: number | undefined;
    let backlog = false;
    if (capped(poolName) && pool.maxRunners !== undefined) {
      const state = await store.pools.get(poolName);
      free = state ? room(state, pool.maxRunners) : pool.maxRunners;
      backlog = state ? hasBacklog(state) : false;
    }
    const k = warmBoots({ target, idle, room: free, backlog });
    if (k === 0) return [];
    const names = Array.from({ length: k }, () => warmRunnerName(prefix, pool.name, nonce()));
    const reserved = capacity && capped(poolName) ? await capacity.reserveWarm(poolName, names) : names;
    const booted = await Promise.all(reserved.map(async (name) => ((await boot(pool, name)) ? name : undefined)));
    return booted.filter((n): n is string => n !== undefined);
  }

  /** Boots the pool's missing warm runners (one refill per pool at a time in this process). */
  function refill(poolName: string): Promise<string[]> {
    const running = refilling.get(poolName);
    const next = (running ?? Promise.resolve([] as string[]))
      .catch(() => [] as string[])
      .then(() => refillPool(poolName));
    refilling.set(poolName, next);
    void next
      .finally(() => {
        if (refilling.get(poolName) === next) refilling.delete(poolName);
      })
      .catch(() => undefined);
    return next;
  }

  function inBackground(work: Promise<unknown>): void {
    background.add(work);
    void work.finally(() => background.delete(work));
  }

  /** A refill off the hot path (after a claim): never throws, never awaited by the job. */
  function refillSoon(poolName: string): void {
    inBackground(
      refill(poolName).catch((error: unknown) =>
        logger.warn('warm refill failed; the reconciler refills', { pool: poolName, error: String(error) }),
      ),
    );
  }

  return {
    /** Whether any pool keeps warm runners. */
    get active(): boolean {
      return warmPools().length > 0;
    },

    /** Whether jobs of `pool` may be served warm (the pool has `warm` and its launcher can keep warm runners). */
    serves(pool: Pick<RunnerPool, 'warm'>): boolean {
      return launcher !== undefined && pool.warm !== undefined;
    },

    /**
     * Claims one warm runner of `pool` booted with `version` for `job`'s runner `runnerName`: ready ones before
     * booting ones, oldest first. The claim is one conditional write on the warm runner's record — it exists and
     * its state is `booting` or `ready` — that sets `claimed` and the job: of two provisioners racing for one
     * warm runner exactly one write succeeds; the other tries the next one, and after {@link MAX_CLAIM_TRIES}
     * launches cold. Undefined: no warm runner for this job.
     */
    async claim(
      job: Job,
      pool: RunnerPool,
      runnerName: string,
      version: string,
      now: number,
    ): Promise<WarmClaim | undefined> {
      if (!launcher || !pool.warm) return undefined;
      const all = await records(pool.name);
      const withLaunch = new Set(all.filter((r) => r.launchId !== undefined).map((r) => r.name));
      const candidates = claimOrder(all.map(stateOf), pool.name, version, now, pool.warm.maxIdleMs).filter(
        (c) => withLaunch.has(c.name) && !claiming.has(c.name),
      );
      for (const candidate of candidates.slice(0, MAX_CLAIM_TRIES)) {
        if (claiming.has(candidate.name)) continue;
        claiming.add(candidate.name);
        try {
          const claimed = await store.runners.update(
            candidate.name,
            {
              state: RunnerState.claimed,
              claimedAt: now,
              jobId: job.jobId,
              scopeKey: job.scopeKey,
              installationId: job.installationId,
              servesRunnerName: runnerName,
            },
            now,
            IDLE_STATES,
          );
          recent.delete(candidate.name);
          if (claimed.launchId === undefined) continue;
          return { warmName: claimed.name, launchId: claimed.launchId, pool: pool.name, claimedAt: now };
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
          logger.debug('warm runner claimed by another provisioner; trying the next', { runnerName: candidate.name });
        } finally {
          claiming.delete(candidate.name);
        }
      }
      return undefined;
    },

    /** Hands the job's JIT config to the claimed warm runner (only it can read it). Throws as the launcher does. */
    async handOff(claim: WarmClaim, request: LaunchRequest): Promise<void> {
      if (!launcher) throw new Error('no warm-capable launcher');
      await launcher.handOffWarm({ ...request, warm: { launchId: claim.launchId, warmName: claim.warmName } });
    },

    /**
     * A claimed warm runner that will not serve its job (the mint or the hand-off failed, the pool had no room):
     * stopped; its slot, moved to the job's runner, stays with the job.
     */
    async abandon(claim: WarmClaim, why: string): Promise<void> {
      await stop(
        { name: claim.warmName, pool: claim.pool, launchId: claim.launchId },
        [RunnerState.claimed],
        why,
        false,
      ).catch((error: unknown) =>
        logger.warn('cannot stop an abandoned warm runner; the reconciler does', { error: String(error) }),
      );
    },

    refill,

    refillSoon,

    /**
     * A job was served warm, its hand-off written at `handedAt`: counted, and its pickup latency (recorded, or
     * assignable again after an approval, → handed) measured for its first runner.
     */
    noteServed(
      poolName: string,
      job: Pick<Job, 'createdAt' | 'assignableAt' | 'launchedAt' | 'thefts'>,
      handedAt: number,
    ) {
      metrics.count(CountMetric.warmClaimed, 1, { pool: poolName });
      if (job.launchedAt !== undefined || (job.thefts ?? 0) > 0) return;
      const since = job.assignableAt ?? job.createdAt;
      metrics.measure(MeasureMetric.warmPickup, Math.max(0, handedAt - since), MetricUnit.milliseconds, {
        pool: poolName,
      });
    },

    /** A job of a warm pool launched cold (no warm runner free, a lost race, a failed hand-off). */
    noteMissed(poolName: string) {
      metrics.count(CountMetric.warmMissed, 1, { pool: poolName });
    },

    /**
     * Shutdown: no refill boots a warm runner from now on (a refill already booting finishes, or is refused by
     * the closing launcher without a warning). Warm runners already up are left to the launcher's close.
     */
    stopRefilling(): void {
      refillsStopped = true;
    },

    /** Resolves when the background refills started so far are done (tests, shutdown). */
    async settled(): Promise<void> {
      while (background.size > 0) await Promise.allSettled([...background]);
    },

    /**
     * A warm runner on AWS said it is ready (the bootstrap's line, `domain/warm-ready-line.ts`, through the
     * runner log subscription): its runner is extracted and verified and it waits for its hand-off. Only a
     * `booting` record whose launch is the one the line came from moves to `ready` — the log stream names
     * the launch, so a line from another build or instance (or a late line after a claim) changes nothing.
     * `ready` only orders claims (ready before booting), so a lost or late line costs nothing but that order.
     */
    async runnerReady(name: string, launchId: string | undefined, at: number): Promise<boolean> {
      if (!isWarmRunnerName(prefix, name) || launchId === undefined) return false;
      const record = await store.runners.get(name);
      if (record?.kind !== RunnerKind.warm || record.state !== RunnerState.booting) return false;
      if (record.launchId !== launchId) return false;
      try {
        // Conditional on `booting`: a claim (or a recycle) that won meanwhile keeps its state.
        const stored = await store.runners.update(name, { state: RunnerState.ready, readyAt: at }, clock.now(), [
          RunnerState.booting,
        ]);
        if (recent.has(name)) recent.set(name, stored);
      } catch (error) {
        if (error instanceof ConditionFailedError) return false;
        throw error;
      }
      logger.info('warm runner ready', { runnerName: name, pool: record.pool, launchId });
      return true;
    },

    /**
     * A runner process, build or instance ended (its exit or state signal). A warm runner that ended before
     * any job claimed it (its own idle bound, a crash) is closed, its slot goes back and the pool refills.
     */
    async runnerEnded(name: string): Promise<boolean> {
      if (!isWarmRunnerName(prefix, name)) return false;
      const record = await store.runners.get(name);
      if (!record || record.kind !== RunnerKind.warm) return false;
      if (!isIdleWarm(record)) return false;
      try {
        await store.runners.update(name, { state: RunnerState.stopped }, clock.now(), IDLE_STATES);
      } catch (error) {
        if (error instanceof ConditionFailedError) return false;
        throw error;
      }
      recent.delete(name);
      if (record.pool !== undefined) {
        await releaseSlot(record.pool, name, 'warm runner ended');
        refillSoon(record.pool);
      }
      return true;
    },

    /**
     * The reconciler's warm step, per pool (pools that lost `warm` too: their target is 0): close records whose
     * launch is gone, recycle idle runners past `maxIdleMinutes`, stop booting runners past the start timeout
     * and claimed runners whose job never ran on them, trim above the target, stop warm launches that have no
     * record (after a restart that lost them), then refill.
     */
    async reconcile(now: number): Promise<WarmReport> {
      const report: WarmReport = { booted: [], stopped: [], closed: [], strays: [] };
      if (!launcher) return report;
      const all = await records();
      if (all.length === 0 && warmPools().length === 0) return report;
      const launches = await deps.launcher.listActive();
      const live = new Set(launches.map((l) => l.runnerName));
      const byName = new Map(all.map((r) => [r.name, r]));
      const jobs = new Map<number, Job | undefined>();
      for (const r of all) {
        if (r.state === RunnerState.claimed && r.jobId !== undefined && !jobs.has(r.jobId)) {
          jobs.set(r.jobId, await store.jobs.get(r.jobId));
        }
      }
      const poolNames = new Set([...warmPools().map((p) => p.name), ...all.map((r) => r.pool ?? '')]);
      for (const poolName of poolNames) {
        const pool = poolNamed(poolName);
        const runners = all.filter((r) => r.pool === poolName);
        const plan = planWarmPass({
          runners: runners.map(stateOf),
          live,
          served: (r) => {
            const record = byName.get(r.name);
            const job = r.jobId === undefined ? undefined : jobs.get(r.jobId);
            return {
              runnerName: record?.servesRunnerName,
              handed: job !== undefined && record?.launchId !== undefined && job.launchId === record.launchId,
            };
          },
          target: warmTarget(pool?.warm, now),
          now,
          maxIdleMs: pool?.warm?.maxIdleMs ?? 0,
          bootTimeoutMs: config.timeouts.runnerStartSeconds * 1000,
          handoffBoundMs,
          graceMs,
        });
        for (const { name, reason } of plan.close) {
          const record = byName.get(name);
          if (!record) continue;
          const unclaimed = record.state !== RunnerState.claimed;
          await store.runners.update(name, { state: RunnerState.stopped }, now).catch(() => undefined);
          recent.delete(name);
          if (unclaimed) await releaseSlot(poolName, name, `warm runner ${reason}`);
          report.closed.push({ name, reason });
        }
        for (const { name, reason } of plan.stop) {
          const record = byName.get(name);
          if (!record) continue;
          const from =
            record.state === RunnerState.claimed
              ? [RunnerState.claimed]
              : record.state === RunnerState.stopping
                ? [RunnerState.stopping]
                : IDLE_STATES;
          if (await stop(record, from, reason, record.state !== RunnerState.claimed))
            report.stopped.push({ name, reason });
        }
        if (pool?.warm) report.booted.push(...(await refill(poolName)));
        if (pool?.warm) {
          const left = await records(poolName);
          metrics.measure(MeasureMetric.warmIdle, left.filter(isIdleWarm).length, MetricUnit.count, { pool: poolName });
          metrics.measure(
            MeasureMetric.warmInUse,
            left.filter((r) => r.state === RunnerState.claimed).length,
            MetricUnit.count,
            { pool: poolName },
          );
        }
      }
      // Warm launches with no open record: nobody can claim them and nothing would stop them.
      for (const launch of launches) {
        if (!isWarmRunnerName(prefix, launch.runnerName) || byName.has(launch.runnerName)) continue;
        if (recent.has(launch.runnerName) || now - launch.startedAt < graceMs) continue;
        const record = await store.runners.get(launch.runnerName);
        if (record && record.state !== RunnerState.stopped) continue;
        await deps.launcher
          .stop(launch.launchId)
          .then(() => report.strays.push(launch.runnerName))
          .catch((error: unknown) =>
            logger.warn('cannot stop a warm launch without a record', {
              runnerName: launch.runnerName,
              error: String(error),
            }),
          );
      }
      if (report.stopped.length + report.closed.length + report.strays.length > 0) {
        logger.info('warm runners reconciled', {
          stopped: report.stopped,
          closed: report.closed,
          strays: report.strays,
          booted: report.booted.length,
        });
      }
      if (report.booted.length > 0) metrics.count(CountMetric.warmBooted, report.booted.length);
      return report;
    },
  };
}

export type WarmPool = ReturnType<typeof createWarmPool>;
