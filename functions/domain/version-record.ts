import type { PlatformChecksums } from './release-checksums.ts';

/**
 * The runner version record: which actions/runner version the fleet runs, which one it came from, which one
 * is being tried on a share of jobs, and which releases were found bad. Runtime state, never configuration:
 * a deploy or a cold start never overwrites it (docs/design.md "Runner version lifecycle"). One record per
 * deployment, read-modify-written under a revision number so two reconcilers cannot both adopt.
 * Times are epoch milliseconds.
 */

/** A version the fleet ran or runs, with the package digests it was adopted with. */
export interface AdoptedVersion {
  readonly version: string;
  /** SHA-256 per platform from the release notes; may be empty for the version a record started from. */
  readonly checksums: PlatformChecksums;
  readonly adoptedAt: number;
}

/** A newly adopted version serving `share` percent of jobs since `since`, before it becomes current. */
export interface CanaryVersion {
  readonly version: string;
  readonly checksums: PlatformChecksums;
  readonly since: number;
  /** Percent of jobs (0–100) whose runners get the canary; see `canaryVersionFor`. */
  readonly share: number;
}

/** A release that must never be adopted again, and why (shown by `version status`). */
export interface BadRelease {
  readonly version: string;
  readonly reason: string;
  readonly at: number;
}

/** The record as written: what the caller decides. */
export interface VersionRecordState {
  readonly current: AdoptedVersion;
  /** The version `current` replaced: where a rollback goes, and the fallback when none is configured. */
  readonly previous?: AdoptedVersion;
  readonly canary?: CanaryVersion;
  /** Oldest first; a version appears at most once. */
  readonly bad: readonly BadRelease[];
}

/** The record as stored: the state plus the store's revision (1 after the first write) and last write time. */
export interface VersionRecord extends VersionRecordState {
  readonly revision: number;
  readonly updatedAt: number;
}

/** Whether `version` was marked bad in `record`. */
export function isMarkedBad(record: Pick<VersionRecordState, 'bad'> | undefined, version: string): boolean {
  return record?.bad.some((b) => b.version === version) ?? false;
}

/** `bad` with `version` added (an existing entry for it is kept, with its first reason). */
export function withBadRelease(
  bad: readonly BadRelease[],
  version: string,
  reason: string,
  at: number,
): readonly BadRelease[] {
  return bad.some((b) => b.version === version) ? bad : [...bad, { version, reason, at }];
}

/** The state part of a stored record (drops `revision` and `updatedAt`), for a read-modify-write. */
export function versionRecordState(record: VersionRecord): VersionRecordState {
  const { revision: _revision, updatedAt: _updatedAt, ...state } = record;
  return state;
}
