import type { VersionRole } from './version-canary.ts';
import type { VersionRecordState } from './version-record.ts';

/**
 * Why a job's runner got its version (docs/design.md "Runner version lifecycle"), recorded on the job with the
 * version itself so one job tells whether it ran the canary:
 * - `canary`: the record's canary, for the canary's share of jobs;
 * - `current`: the record's current version (a tracking pool's other jobs, and a job its canary runner failed);
 * - `previous`: the version the current one replaced, after a version-class failure on the current version;
 * - `fallback`: `RUNNER_FALLBACK_VERSION`, after a version-class failure;
 * - `pinned`: the configured version: an exact pin (`RUNNER_VERSION` or the pool's own `runnerVersion`), or
 *   the start version of a tracking pool while the store holds no readable record.
 */
export const RunnerVersionRole = {
  current: 'current',
  canary: 'canary',
  previous: 'previous',
  fallback: 'fallback',
  pinned: 'pinned',
} as const;
export type RunnerVersionRole = (typeof RunnerVersionRole)[keyof typeof RunnerVersionRole];

export const RUNNER_VERSION_ROLES: readonly RunnerVersionRole[] = Object.values(RunnerVersionRole);

/** Whether `text` names a role (`jobs list --version-role`, `/api/jobs?versionRole=`). */
export function isRunnerVersionRole(text: string): text is RunnerVersionRole {
  return (RUNNER_VERSION_ROLES as readonly string[]).includes(text);
}

export interface VersionRoleInput {
  /** The version the runner gets. */
  readonly version: string;
  /** Whether the version choice took the fallback (after a version-class failure, or kept from one). */
  readonly usedFallback: boolean;
  /** `RUNNER_FALLBACK_VERSION`, when configured. */
  readonly configuredFallback?: string | undefined;
  /**
   * Present when the job's pool follows the version record and the record was read: the record, and which
   * of its versions the job's share gave it (`trackedVersionFor`).
   */
  readonly tracked?:
    | { readonly record: Pick<VersionRecordState, 'current' | 'previous'>; readonly pick: VersionRole }
    | undefined;
}

/**
 * The role of the version a job's runner gets. Without a record the version is the configured one (`pinned`,
 * or `fallback` when the fallback was taken). With one, the job's pick (`canary` or `current`) unless the
 * fallback was taken: then the configured fallback, else whichever record version it is (`current` off a
 * failed canary, `previous` off a failed current version).
 */
export function runnerVersionRole(input: VersionRoleInput): RunnerVersionRole {
  const { tracked } = input;
  if (!input.usedFallback) return tracked ? tracked.pick : RunnerVersionRole.pinned;
  if (!tracked || input.version === input.configuredFallback) return RunnerVersionRole.fallback;
  if (input.version === tracked.record.current.version) return RunnerVersionRole.current;
  if (input.version === tracked.record.previous?.version) return RunnerVersionRole.previous;
  return RunnerVersionRole.fallback;
}
