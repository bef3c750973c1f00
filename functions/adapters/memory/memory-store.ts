import type { Baseline } from '../../domain/baseline.ts';
import type { Breaker } from '../../domain/breaker.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { compareWaiting } from '../../domain/launch-order.ts';
import { newJobRecord } from '../../domain/new-job.ts';
import type { PoolCapacity } from '../../domain/pool-capacity.ts';
import { type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import { ConditionFailedError, type Store, StoreUnavailableError } from '../../ports/store.ts';
import { checkJobChanges, checkRunnerChanges, definedEntries, expectationParts } from '../../ports/store-rules.ts';
import {
  checkVersionRecordState,
  parseStoredVersionRecord,
  storedVersionState,
  versionPutWhat,
} from '../../ports/version-record-rules.ts';
import { jobExpectationHolds } from './job-expectation.ts';

/** Every store operation, as `repository.method`; used to inject failures. */
export type StoreOperation = {
  [R in keyof Store]: `${R & string}.${keyof Store[R] & string}`;
}[keyof Store];

export interface MemoryStore extends Store {
  /**
   * The next `times` calls of `operation` throw `error` (default: a `StoreUnavailableError`) without
   * touching the data, like a throttled or unreachable DynamoDB. Queued failures apply in order.
   */
  failNext(operation: StoreOperation, error?: Error, times?: number): void;
  /**
   * Test hook: stores `raw` as the runner version record exactly as given, as if another writer (an older
   * release, a person with the console) had written it, so that reads can be seen to validate it.
   */
  writeRawVersionRecord(raw: unknown): void;
}

interface Lease {
  owner: string;
  leaseExpiresAt: number;
}

/** Deep copy without `undefined` members, the shape DynamoDB (removeUndefinedValues) gives back. */
function copy<T>(value: T): T {
  const clone = structuredClone(value);
  if (clone && typeof clone === 'object' && !Array.isArray(clone)) {
    for (const [key, member] of Object.entries(clone)) {
      if (member === undefined) delete (clone as Record<string, unknown>)[key];
    }
  }
  return clone;
}

function byThenKey<T>(order: (item: T) => number, key: (item: T) => string | number) {
  return (a: T, b: T) => order(a) - order(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * In-memory {@link Store} with the same conditional semantics as the DynamoStore (the shared contract suite
 * runs against both): version bumps, history, expectations, `ConditionFailedError`. Each operation runs to
 * completion before the next starts (single thread, no await inside), which is what DynamoDB guarantees for a
 * single-item conditional write. Everything returned is a deep copy, so callers cannot alias stored state.
 */
export function createMemoryStore(): MemoryStore {
  const jobs = new Map<number, Job>();
  const baselines = new Map<string, Baseline>();
  const breakers = new Map<string, Breaker>();
  const runners = new Map<string, RunnerRecord>();
  const locks = new Map<string, Lease>();
  const values = new Map<string, string>();
  const marks = new Map<string, number>();
  const pools = new Map<string, PoolCapacity>();
  const failures = new Map<StoreOperation, Error[]>();
  /** The version record as stored: unknown until read, like the DynamoStore's item. */
  let versionRecord: unknown;

  /** Throws the next injected failure of `operation`, if any. */
  async function enter(operation: StoreOperation): Promise<void> {
    const queued = failures.get(operation);
    const failure = queued?.shift();
    if (queued && queued.length === 0) failures.delete(operation);
    if (failure) throw failure;
  }

  function putVersioned<T extends { version: number; updatedAt: number }>(
    map: Map<string, T>,
    what: string,
    key: string,
    record: Omit<T, 'version' | 'updatedAt'>,
    expectVersion: number,
    now: number,
  ): T {
    const current = map.get(key);
    const holds = expectVersion === 0 ? current === undefined : current?.version === expectVersion;
    if (!holds) throw new ConditionFailedError(`${what} put (expect version ${expectVersion}): condition failed`);
    const stored = copy({ ...record, version: expectVersion + 1, updatedAt: now } as T);
    map.set(key, stored);
    return copy(stored);
  }

  return {
    failNext(operation, error, times = 1) {
      const queued = failures.get(operation) ?? [];
      for (let i = 0; i < times; i++) {
        queued.push(error ?? new StoreUnavailableError(`${operation}: store unavailable (injected)`));
      }
      failures.set(operation, queued);
    },

    jobs: {
      async create(job, deliveryId, now, lease, note) {
        await enter('jobs.create');
        const existing = jobs.get(job.jobId);
        if (existing) {
          // Like the DynamoStore's one UpdateItem: a duplicate only adds its delivery id to the set (no
          // version bump, a redelivery is not a state change); every other field stays as stored.
          if (!existing.deliveryIds.includes(deliveryId))
            existing.deliveryIds = [...existing.deliveryIds, deliveryId].sort();
          return existing.status === JobStatus.waiting ? { created: false, waiting: true } : { created: false };
        }
        const stored = newJobRecord(job, deliveryId, now, lease, note);
        jobs.set(job.jobId, stored);
        return lease ? { created: true, leased: copy(stored) } : { created: true };
      },

      async get(jobId) {
        await enter('jobs.get');
        const job = jobs.get(jobId);
        return job ? copy(job) : undefined;
      },

      async update(jobId, expect, changes, now) {
        checkJobChanges(changes);
        await enter('jobs.update');
        const current = jobs.get(jobId);
        if (!jobExpectationHolds(current, expect)) {
          throw new ConditionFailedError(
            `job ${jobId} update [${expectationParts(expect).join(', ')}]: condition failed`,
          );
        }
        const next: Record<string, unknown> = { ...current };
        for (const [field, value] of definedEntries(changes.set)) next[field] = structuredClone(value);
        for (const field of changes.remove ?? []) delete next[field];
        next.version = current.version + 1;
        next.updatedAt = now;
        if (changes.event) {
          next.history = [...current.history, { at: now, status: changes.event.status, note: changes.event.note }];
        }
        const stored = copy(next as unknown as Job);
        jobs.set(jobId, stored);
        return copy(stored);
      },

      async listOpen(limit) {
        await enter('jobs.listOpen');
        const open = [...jobs.values()]
          .filter((job) => job.status !== JobStatus.completed && job.status !== JobStatus.failed)
          .sort(
            byThenKey(
              (job) => job.createdAt,
              (job) => job.jobId,
            ),
          );
        return (limit === undefined ? open : open.slice(0, Math.max(0, limit))).map(copy);
      },

      async listBacklog(pool, limit) {
        await enter('jobs.listBacklog');
        const waiting = [...jobs.values()].filter(
          (job) => job.status === JobStatus.waitingCapacity && job.pool === pool && job.turn !== undefined,
        );
        const asWaiting = (job: Job) => ({
          jobId: job.jobId,
          repository: `${job.owner}/${job.repo}`,
          queuedAt: job.backlogSince ?? 0,
          turn: job.turn ?? 0,
        });
        return waiting
          .sort((a, b) => compareWaiting(asWaiting(a), asWaiting(b)))
          .slice(0, Math.max(0, limit))
          .map(copy);
      },

      async listEndedSince(since, limit) {
        await enter('jobs.listEndedSince');
        const ended = [...jobs.values()]
          .filter(
            (job) => (job.status === JobStatus.completed || job.status === JobStatus.failed) && job.updatedAt >= since,
          )
          .sort(
            byThenKey(
              (job) => job.updatedAt,
              (job) => job.jobId,
            ),
          );
        return (limit === undefined ? ended : ended.slice(0, Math.max(0, limit))).map(copy);
      },
    },

    baselines: {
      async get(scopeKey) {
        await enter('baselines.get');
        const baseline = baselines.get(scopeKey);
        return baseline ? copy(baseline) : undefined;
      },
      async list() {
        await enter('baselines.list');
        return [...baselines.values()]
          .sort(
            byThenKey(
              (b) => b.updatedAt,
              (b) => b.scopeKey,
            ),
          )
          .map(copy);
      },
      async put(baseline, expectVersion, now) {
        await enter('baselines.put');
        const what = `baseline ${baseline.scopeKey}`;
        return putVersioned(baselines, what, baseline.scopeKey, baseline, expectVersion, now);
      },
    },

    breakers: {
      async get(scopeKey) {
        await enter('breakers.get');
        const breaker = breakers.get(scopeKey);
        return breaker ? copy(breaker) : undefined;
      },
      async list() {
        await enter('breakers.list');
        return [...breakers.values()]
          .sort(
            byThenKey(
              (b) => b.updatedAt,
              (b) => b.scopeKey,
            ),
          )
          .map(copy);
      },
      async put(breaker, expectVersion, now) {
        await enter('breakers.put');
        return putVersioned(breakers, `breaker ${breaker.scopeKey}`, breaker.scopeKey, breaker, expectVersion, now);
      },
    },

    runners: {
      async put(runner, now) {
        await enter('runners.put');
        runners.set(runner.name, copy({ ...runner, updatedAt: now }));
      },
      async get(name) {
        await enter('runners.get');
        const runner = runners.get(name);
        return runner ? copy(runner) : undefined;
      },
      async update(name, set, now, expectState) {
        checkRunnerChanges(set);
        await enter('runners.update');
        const current = runners.get(name);
        if (!current || (expectState !== undefined && !expectState.includes(current.state))) {
          const parts = expectState === undefined ? '' : ' [exists, stateIn]';
          throw new ConditionFailedError(`runner ${name} update${parts}: condition failed`);
        }
        const next: Record<string, unknown> = { ...current };
        for (const [field, value] of definedEntries(set)) next[field] = structuredClone(value);
        next.updatedAt = now;
        const stored = copy(next as unknown as RunnerRecord);
        runners.set(name, stored);
        return copy(stored);
      },
      async listActive() {
        await enter('runners.listActive');
        return [...runners.values()]
          .filter((runner) => runner.state !== RunnerState.stopped)
          .sort(
            byThenKey(
              (r) => r.createdAt,
              (r) => r.name,
            ),
          )
          .map(copy);
      },
    },

    writeRawVersionRecord(raw) {
      versionRecord = structuredClone(raw);
    },

    versions: {
      async get() {
        await enter('versions.get');
        return versionRecord === undefined ? undefined : copy(parseStoredVersionRecord(versionRecord));
      },
      async put(record, expectRevision, now) {
        checkVersionRecordState(record);
        await enter('versions.put');
        const stored = versionRecord as { revision?: unknown } | undefined;
        const holds = expectRevision === 0 ? stored === undefined : stored?.revision === expectRevision;
        if (!holds) throw new ConditionFailedError(`${versionPutWhat(expectRevision)}: condition failed`);
        versionRecord = copy({ ...storedVersionState(record), revision: expectRevision + 1, updatedAt: now });
        return copy(parseStoredVersionRecord(versionRecord));
      },
    },

    pools: {
      async get(pool) {
        await enter('pools.get');
        const capacity = pools.get(pool);
        return capacity ? copy(capacity) : undefined;
      },
      async put(capacity, expectVersion, now) {
        await enter('pools.put');
        return putVersioned(pools, `pool ${capacity.pool}`, capacity.pool, capacity, expectVersion, now);
      },
    },

    locks: {
      async acquire(name, owner, now, ttlMs) {
        await enter('locks.acquire');
        const lease = locks.get(name);
        if (lease && lease.leaseExpiresAt >= now && lease.owner !== owner) return false;
        locks.set(name, { owner, leaseExpiresAt: now + ttlMs });
        return true;
      },
      async release(name, owner) {
        await enter('locks.release');
        if (locks.get(name)?.owner === owner) locks.delete(name);
      },
      async getValue(name) {
        await enter('locks.getValue');
        return values.get(name);
      },
      async setValue(name, value) {
        await enter('locks.setValue');
        values.set(name, value);
      },
      async mark(name, now, ttlMs) {
        await enter('locks.mark');
        const until = marks.get(name);
        if (until !== undefined && until >= now) return false;
        marks.set(name, now + ttlMs);
        return true;
      },
    },
  };
}
