import type { Baseline } from '../domain/baseline.ts';
import type { Breaker } from '../domain/breaker.ts';
import { JitRunnersError } from '../domain/errors.ts';
import type { Job, JobEvent, NewJob } from '../domain/job.ts';
import type { JobStatus } from '../domain/job-status.ts';
import type { NewJobLease } from '../domain/new-job.ts';
import type { PoolCapacity, PoolCapacityState } from '../domain/pool-capacity.ts';
import type { RunnerRecord, RunnerState } from '../domain/runner-record.ts';
import type { VersionRecord, VersionRecordState } from '../domain/version-record.ts';

// ───────────── errors ─────────────

export class StoreError extends JitRunnersError {
  readonly area = 'store';
}
/** A conditional write found the item in another state: someone else got there first. */
export class ConditionFailedError extends StoreError {}
/** The store throttled or was unreachable; the caller may retry. */
export class StoreUnavailableError extends StoreError {}
/**
 * The stored runner version record does not have the shape of a {@link VersionRecord} (`cause`: the schema's
 * error). Never repaired or recreated by the store: a record that lost its bad releases or its previous
 * version would silently re-adopt a release that was rolled back. Start-up refuses it; a person fixes it.
 */
export class VersionRecordCorruptError extends StoreError {}

// ───────────── jobs ─────────────

/** Conditions a job write requires; every named part must hold (AND). */
export interface JobExpectation {
  /** The job's status is one of these. */
  statusIn?: readonly JobStatus[];
  /** The job's version is exactly this (optimistic concurrency). */
  version?: number;
  /** The job's attempt is exactly this. */
  attempt?: number;
  /** Nobody holds a live lease at this time (absent, expired, or held by `leaseHolder`). */
  leaseFreeAt?: number;
  /** Used with `leaseFreeAt`: this owner may re-take its own lease. Alone: the lease is held by this owner. */
  leaseHolder?: string;
}

/** Fields to set (undefined = leave alone) and fields to remove. `version`/`updatedAt` are managed by the store. */
export interface JobChanges {
  set?: Partial<Omit<Job, 'jobId' | 'version' | 'history' | 'createdAt' | 'deliveryIds'>>;
  remove?: readonly (keyof Job)[];
  /** Appended to the job's history. */
  event?: Omit<JobEvent, 'at'>;
}

/** Record a new job already leased to the provisioning it is dispatched to (status `provisioning`). */
export type CreateLease = NewJobLease;

export interface CreateResult {
  created: boolean;
  /** Set when the job was created with the requested lease (adapters may ignore the lease). */
  leased?: Job;
  /**
   * Set (true) on a duplicate that found the job `waiting` for an approval, read by the same write that
   * added the delivery id (no extra request): that `queued` may be the approval, not a duplicate.
   */
  waiting?: true;
}

export interface JobRepository {
  /**
   * Records a queued job once. Why conditional: GitHub may deliver the same event several times and
   * under several delivery ids; only the first creates the job, later ones only add their delivery id.
   * `note` is the first history line of a job this call creates (default: "recorded from webhook").
   */
  create(job: NewJob, deliveryId: string, now: number, lease?: CreateLease, note?: string): Promise<CreateResult>;
  get(jobId: number): Promise<Job | undefined>;
  /** Conditional update; throws {@link ConditionFailedError} when `expect` does not hold, returns the new item. */
  update(jobId: number, expect: JobExpectation, changes: JobChanges, now: number): Promise<Job>;
  /**
   * Non-terminal jobs (reconciler and crash recovery), oldest first: by creation, then job id. Why not by
   * last update (the order before the store was sharded): callers only need "the oldest first" (a limit keeps
   * the longest-open jobs), and a list sorted by last update has to move its index entry on every job write.
   */
  listOpen(limit?: number): Promise<Job[]>;
  /**
   * Completed and failed jobs whose last write was at or after `since` (epoch ms), oldest first: the
   * reconciler's orphan sweep learns from them which scopes had jobs it never saw open.
   */
  listEndedSince(since: number, limit?: number): Promise<Job[]>;
  /**
   * The jobs of `pool` waiting for room (`waiting-capacity`), in launch order (`launchOrder`), at most
   * `limit`, each read fresh. A write that makes a job wait must set its `pool`, `turn` and `backlogSince`.
   */
  listBacklog(pool: string, limit: number): Promise<Job[]>;
}

// ───────────── pool capacity ─────────────

export interface PoolRepository {
  get(pool: string): Promise<PoolCapacity | undefined>;
  /** Same version semantics as {@link BaselineRepository.put}: the record is read, decided on, written back. */
  put(capacity: PoolCapacityState, expectVersion: number, now: number): Promise<PoolCapacity>;
}

// ───────────── baselines ─────────────

export interface BaselineRepository {
  get(scopeKey: string): Promise<Baseline | undefined>;
  list(): Promise<Baseline[]>;
  /**
   * Writes the baseline if its current version is `expectVersion` (0 = item must not exist).
   * Throws {@link ConditionFailedError} otherwise. Returns the stored item (version bumped).
   */
  put(baseline: Omit<Baseline, 'version' | 'updatedAt'>, expectVersion: number, now: number): Promise<Baseline>;
}

// ───────────── breakers ─────────────

export interface BreakerRepository {
  get(scopeKey: string): Promise<Breaker | undefined>;
  /** Every breaker ever written (closed ones too), least recently changed first. */
  list(): Promise<Breaker[]>;
  /** Same version semantics as {@link BaselineRepository.put}. */
  put(breaker: Omit<Breaker, 'version' | 'updatedAt'>, expectVersion: number, now: number): Promise<Breaker>;
}

// ───────────── runners ─────────────

export interface RunnerRepository {
  put(runner: Omit<RunnerRecord, 'updatedAt'>, now: number): Promise<void>;
  get(name: string): Promise<RunnerRecord | undefined>;
  /** Sets fields; when `expectState` is given the write is conditional on it. */
  update(
    name: string,
    set: Partial<Omit<RunnerRecord, 'name' | 'createdAt' | 'updatedAt'>>,
    now: number,
    expectState?: readonly RunnerState[],
  ): Promise<RunnerRecord>;
  /** Runners not yet `stopped`. */
  listActive(): Promise<RunnerRecord[]>;
}

// ───────────── runner versions ─────────────

/**
 * The deployment's one runner version record (current, previous, canary, bad releases): runtime state that a
 * deploy or a cold start never overwrites (docs/design.md "Runner version lifecycle").
 */
export interface VersionRepository {
  /**
   * The record, validated; undefined when none was ever written. Throws {@link VersionRecordCorruptError}
   * when the stored item fails validation.
   */
  get(): Promise<VersionRecord | undefined>;
  /**
   * Replaces the whole record if the stored revision is `expectRevision` (0 = no record may exist yet), writing
   * `revision = expectRevision + 1` and `updatedAt = now`; returns the record as stored. Throws
   * {@link ConditionFailedError} (message part `[absent]` or `[revision]`) when another writer got there first,
   * so of two reconcilers deciding on the same revision only one adopts. An invalid `record` is a caller's
   * bug: `TypeError`, before any request.
   */
  put(record: VersionRecordState, expectRevision: number, now: number): Promise<VersionRecord>;
}

// ───────────── locks and markers ─────────────

export interface LockRepository {
  /** Takes or renews a named lease; false when another owner holds a live one. */
  acquire(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
  /** Small named values (e.g. the webhook-delivery cursor). */
  getValue(name: string): Promise<string | undefined>;
  setValue(name: string, value: string, now: number): Promise<void>;
  /** Records `name` once; false when it was already recorded (exactly-once markers, e.g. redeliveries). */
  mark(name: string, now: number, ttlMs: number): Promise<boolean>;
}

/** The whole table, as the use cases see it. */
export interface Store {
  jobs: JobRepository;
  baselines: BaselineRepository;
  breakers: BreakerRepository;
  runners: RunnerRepository;
  locks: LockRepository;
  pools: PoolRepository;
  versions: VersionRepository;
}
