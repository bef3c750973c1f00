import type { Job } from './job.ts';
import { normaliseLabels } from './labels.ts';
import type { LauncherKind } from './launcher-kind.ts';
import type { WarmSettings } from './warm-pool.ts';

/** The one pool a deployment without `RUNNER_POOLS` has, built from `RUNNER_LABELS`, `LAUNCHER`, `RUNNER_DIR`. */
export const DEFAULT_POOL_NAME = 'default';

/**
 * One kind of runner a deployment serves (docs/design.md "Configuration", Pools): the labels its runners
 * carry and serve, where they run, and how many may exist at once. Labels are lower-cased by the parser;
 * the functions below compare case-insensitively anyway.
 */
export interface RunnerPool {
  /** Unique, `[a-z0-9-]`, at most 32 characters. */
  readonly name: string;
  /** At least one; a job is served when every label it asks for is here. */
  readonly labels: readonly string[];
  readonly launcher: LauncherKind;
  /** `local` launcher: the extracted actions runner copied per runner. */
  readonly runnerDir?: string;
  /** At most this many of the pool's runners exist at once; absent: no cap. */
  readonly maxRunners?: number;
  /** Exact actions/runner version of the pool's runners; absent: the deployment's `RUNNER_VERSION`. */
  readonly runnerVersion?: string;
  /**
   * True: the pool follows the tracked runner version (`"runnerVersion": "auto"`, or `RUNNER_VERSION=auto`
   * for a pool without its own pin), and `runnerVersion` is only where it starts until the store holds an
   * adopted version. Absent: `runnerVersion` is an exact pin.
   */
  readonly tracksRunnerVersion?: true;
  /** Warm runners kept booted for the pool's jobs (docs/design.md "Warm runners"); absent: none. */
  readonly warm?: WarmSettings;
}

/** Every label of `wanted` is in `offered` (both already normalised). */
function covers(offered: readonly string[], wanted: readonly string[]): boolean {
  const set = new Set(offered);
  return wanted.every((l) => set.has(l));
}

/**
 * The pool that serves a job: the first, in listed order, whose labels include every label the job asks
 * for (case-insensitive). Undefined when none does, and for a job that asks for no label at all (as
 * `isServed`: such a job is GitHub-hosted or a mistake, never ours). Listed order, not best fit, so a
 * person reading the list can tell which pool a label set lands in without computing overlaps.
 */
export function matchPool<P extends RunnerPool>(pools: readonly P[], jobLabels: readonly string[]): P | undefined {
  const wanted = normaliseLabels(jobLabels);
  if (wanted.length === 0) return undefined;
  return pools.find((pool) => covers(normaliseLabels(pool.labels), wanted));
}

/**
 * The earlier pool that makes `pools[index]` impossible to choose, if any: one listed before it whose
 * labels include all of its labels. Every job the later pool could serve asks only for labels it has, so
 * that earlier pool matches the job first. Exact: when no single earlier pool covers it, the job asking
 * for exactly its labels lands in it.
 */
export function shadowedBy<P extends RunnerPool>(pools: readonly P[], index: number): P | undefined {
  const pool = pools[index];
  if (!pool) return undefined;
  const wanted = normaliseLabels(pool.labels);
  return pools.slice(0, index).find((earlier) => covers(normaliseLabels(earlier.labels), wanted));
}

/** The pool a job was recorded in; a job recorded before pools existed has none and reads as `default`. */
export function poolNameOf(job: Pick<Job, 'pool'>): string {
  return job.pool ?? DEFAULT_POOL_NAME;
}

/**
 * The pool a recorded job's runners are minted in: the one named on the job. When the configuration no
 * longer has a pool of that name (renamed, or an item recorded before pools, read as `default`, under a
 * pool list without one), the pool its labels match now; undefined when none does. Why fall back to
 * matching and not fail at once: the job was served when it was recorded, and its labels still say what
 * it needs.
 */
export function poolForJob<P extends RunnerPool>(
  pools: readonly P[],
  job: Pick<Job, 'pool' | 'labels'>,
): P | undefined {
  const name = poolNameOf(job);
  return pools.find((pool) => pool.name === name) ?? matchPool(pools, job.labels);
}
