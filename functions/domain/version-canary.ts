import type { PlatformChecksums } from './release-checksums.ts';
import type { CanaryVersion, VersionRecordState } from './version-record.ts';

/**
 * Canary rules of the runner version lifecycle (docs/design.md "Runner version lifecycle"): which jobs run the
 * canary, when the canary is judged worse than the version it would replace, and when it has earned promotion.
 * Pure: counts and times are passed in.
 */

const HOUR_MS = 60 * 60 * 1000;

/**
 * Promotion after this many canary jobs with no failure of a watched kind. Why 20: at the default 10 % share
 * that is about 200 fleet jobs, enough for the version to have booted, registered and run a job many times
 * over, and a busy fleet gets there within hours instead of waiting out the period.
 */
export const CANARY_CLEAN_JOBS = 20;
/**
 * Promotion once the canary has served this long without being judged failing. Why one day: a quiet fleet
 * still moves on (waiting longer teaches nothing when few jobs arrive), and soak (7 days) + canary (1 day)
 * leaves most of GitHub's 30-day window for a rollback and a second candidate.
 */
export const CANARY_PERIOD_MS = 24 * HOUR_MS;
/**
 * A watched failure kind rolls the canary back only from this many occurrences on. Why 3: one start timeout
 * or one deprecated-version line can happen to any version (a slow boot, a GitHub hiccup, a job that landed
 * during an outage); three on the canary, within one window, are a pattern.
 */
export const MIN_CANARY_FAILURES = 3;
/**
 * Checksum failures need only one: a version's digest and tarball are fixed, so a mismatch is not a flake
 * that the next boot would avoid; running more of it only fails more jobs.
 */
export const MIN_CANARY_CHECKSUM_FAILURES = 1;
/**
 * "Clearly above": the canary's failure rate must exceed the previous version's by at least this much
 * (absolute, 10 percentage points) and be at least {@link CANARY_RATE_FACTOR} times it. Why both: the margin
 * stops a rollback over noise when both rates are tiny; the factor stops one when both versions suffer the
 * same outage at a high rate (the outage is not the canary's fault).
 */
export const CANARY_RATE_MARGIN = 0.1;
export const CANARY_RATE_FACTOR = 2;

/** Which version a job's runner gets while a canary runs. */
export const VersionRole = { current: 'current', canary: 'canary' } as const;
export type VersionRole = (typeof VersionRole)[keyof typeof VersionRole];

export interface JobVersion {
  readonly version: string;
  readonly checksums: PlatformChecksums;
  readonly role: VersionRole;
}

/**
 * The job's bucket, 0–99, for a canary of `version`: a stable hash (FNV-1a) of both, so the same job always
 * lands in the same bucket for one canary (its retries and relaunches keep their version), while each new
 * canary draws a different set of jobs (no repository is always the guinea pig). Salted with the version so
 * it does not follow the store's list shards, which hash the bare job id.
 */
export function canaryBucket(jobId: number, version: string): number {
  let hash = 0x811c9dc5;
  const text = `canary:${version}:${jobId}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 100;
}

/** Whether job `jobId` runs `canary`: its bucket is below the canary's share (percent). */
export function isCanaryJob(jobId: number, canary: Pick<CanaryVersion, 'version' | 'share'>): boolean {
  return canaryBucket(jobId, canary.version) < canary.share;
}

/** The tracked version for job `jobId`: the canary for its share of jobs, else the current version. */
export function trackedVersionFor(jobId: number, record: Pick<VersionRecordState, 'current' | 'canary'>): JobVersion {
  const canary = record.canary;
  if (canary && isCanaryJob(jobId, canary)) {
    return { version: canary.version, checksums: canary.checksums, role: VersionRole.canary };
  }
  return { version: record.current.version, checksums: record.current.checksums, role: VersionRole.current };
}

// ───────────── rollback comparison ─────────────

/** What one version's runners did over a window (the canary's, for both versions). */
export interface VersionHealth {
  /** Jobs whose runners were launched on this version in the window. */
  readonly jobs: number;
  /** Failures of the version-deprecated class (GitHub refused the version). */
  readonly versionFailures: number;
  /** Runners not seen working within the start timeout. */
  readonly startTimeouts: number;
  /** Tarballs whose SHA-256 did not match (bootstrap exit 4, `checksum-mismatch`). */
  readonly checksumFailures: number;
  /**
   * The jobs behind each failure count, when the health was read from jobs (`versionHealthOfJobs`): a
   * rollback's reason names them, so the decision can be followed to the jobs (`job show`).
   */
  readonly failedJobs?: Readonly<Partial<Record<CanaryFailureKind, readonly number[]>>>;
}

export const CanaryFailureKind = {
  version: 'version-failure',
  startTimeout: 'start-timeout',
  checksum: 'checksum-mismatch',
} as const;
export type CanaryFailureKind = (typeof CanaryFailureKind)[keyof typeof CanaryFailureKind];

export type CanaryVerdict =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'failing'; readonly failure: CanaryFailureKind; readonly reason: string };

const WATCHED: readonly { kind: CanaryFailureKind; count: (h: VersionHealth) => number; min: number }[] = [
  // Checksum first: the most certain signal, and the reason a person most needs to see.
  { kind: CanaryFailureKind.checksum, count: (h) => h.checksumFailures, min: MIN_CANARY_CHECKSUM_FAILURES },
  { kind: CanaryFailureKind.version, count: (h) => h.versionFailures, min: MIN_CANARY_FAILURES },
  { kind: CanaryFailureKind.startTimeout, count: (h) => h.startTimeouts, min: MIN_CANARY_FAILURES },
];

/** Failures per job; a count above `jobs` (a miscount upstream) is read as every job failing. */
function rate(failures: number, jobs: number): number {
  const denominator = Math.max(jobs, failures);
  return denominator === 0 ? 0 : failures / denominator;
}

/** `36 h`, `90 s`, `2.5 days`: durations for reasons people read. */
export function formatDuration(ms: number): string {
  const round = (n: number) => String(Math.round(n * 10) / 10);
  if (Math.abs(ms) >= 2 * 24 * HOUR_MS) return `${round(ms / (24 * HOUR_MS))} days`;
  if (Math.abs(ms) >= 2 * HOUR_MS) return `${round(ms / HOUR_MS)} h`;
  if (Math.abs(ms) >= 2 * 60_000) return `${round(ms / 60_000)} min`;
  return `${round(ms / 1000)} s`;
}

const percent = (r: number) => `${Math.round(r * 100)}%`;

/** At most this many job ids in a reason (it lands in a bad release's record and an alarm). */
export const MAX_NAMED_JOBS = 5;

/** ` (jobs 7, 9, 12 and 3 more)`, or nothing when the jobs are not known. */
function namedJobs(jobIds: readonly number[] | undefined): string {
  if (!jobIds || jobIds.length === 0) return '';
  const shown = jobIds.slice(0, MAX_NAMED_JOBS).join(', ');
  const more = jobIds.length - MAX_NAMED_JOBS;
  return ` (job${jobIds.length === 1 ? '' : 's'} ${shown}${more > 0 ? ` and ${more} more` : ''})`;
}

/**
 * Whether the canary shows failures the previous version did not, over the same window: for each watched
 * kind, at least its minimum count on the canary and a rate clearly above the previous version's (see
 * {@link CANARY_RATE_MARGIN}). A previous version that ran no job in the window counts as failing never.
 */
export function judgeCanary(canary: VersionHealth, previous: VersionHealth): CanaryVerdict {
  for (const watched of WATCHED) {
    const failures = watched.count(canary);
    if (failures < watched.min) continue;
    const canaryRate = rate(failures, canary.jobs);
    const previousRate = rate(watched.count(previous), previous.jobs);
    if (canaryRate < previousRate + CANARY_RATE_MARGIN || canaryRate < CANARY_RATE_FACTOR * previousRate) continue;
    return {
      kind: 'failing',
      failure: watched.kind,
      reason: `${watched.kind}: ${failures} of ${Math.max(canary.jobs, failures)} canary jobs (${percent(canaryRate)}) against ${percent(previousRate)} on the version it would replace${namedJobs(canary.failedJobs?.[watched.kind])}`,
    };
  }
  return { kind: 'healthy' };
}

// ───────────── promotion ─────────────

export interface PromotionRules {
  /** Default {@link CANARY_CLEAN_JOBS}. */
  readonly cleanJobs?: number;
  /** Default {@link CANARY_PERIOD_MS}. */
  readonly periodMs?: number;
}

export type PromotionReadiness =
  | { readonly ready: true; readonly reason: string }
  | { readonly ready: false; readonly readyAt: number };

/**
 * Whether a canary not judged failing may become the current version: after `cleanJobs` canary jobs with no
 * watched failure at all, or once its period has elapsed. A `since` in the future (clock skew) has not
 * elapsed. Without `health` only the period counts.
 */
export function canaryPromotion(
  canary: Pick<CanaryVersion, 'since'>,
  health: VersionHealth | undefined,
  now: number,
  rules: PromotionRules = {},
): PromotionReadiness {
  const cleanJobs = rules.cleanJobs ?? CANARY_CLEAN_JOBS;
  const periodMs = rules.periodMs ?? CANARY_PERIOD_MS;
  if (health && health.jobs >= cleanJobs && WATCHED.every((w) => w.count(health) === 0)) {
    return { ready: true, reason: `served ${health.jobs} jobs with no failure` };
  }
  const readyAt = canary.since + periodMs;
  if (now >= readyAt && now >= canary.since) {
    return { ready: true, reason: `canary period of ${formatDuration(periodMs)} elapsed` };
  }
  return { ready: false, readyAt };
}
