import { FailureClass } from './failure-class.ts';
import { type PlatformChecksums, RunnerPlatform, type RunnerRelease } from './release-checksums.ts';
import { compareVersions, isExactVersion } from './runner-version.ts';
import {
  type CanaryFailureKind,
  canaryPromotion,
  formatDuration,
  judgeCanary,
  type PromotionRules,
  type VersionHealth,
} from './version-canary.ts';
import { isMarkedBad, type VersionRecordState, withBadRelease } from './version-record.ts';

/**
 * Runner version policy (docs/design.md "Runner version policy"): a pinned exact version, an optional fallback used after a
 * version-class failure, and a floor below which we refuse to start. Versions are exact semver
 * (`2.330.0`): no ranges, no `latest`, no `v` prefix.
 */

export type VersionFloorCheck = { ok: true } | { ok: false; message: string };

/** Whether `version` may be used: exact semver and not below `floor`. The message names both versions. */
export function checkVersionFloor(version: string, floor: string): VersionFloorCheck {
  if (!isExactVersion(floor)) {
    return { ok: false, message: `the version floor "${floor}" is not an exact version such as 2.329.0` };
  }
  if (!isExactVersion(version)) {
    return {
      ok: false,
      message: `runner version "${version}" is not an exact version such as 2.330.0 (no ranges, "latest" or "v" prefix): the runner must stay pinned`,
    };
  }
  if (compareVersions(version, floor) < 0) {
    return {
      ok: false,
      message: `runner version ${version} is below the minimum ${floor} GitHub accepts for registration; pin ${floor} or newer`,
    };
  }
  return { ok: true };
}

export interface VersionChoiceInput {
  pinned: string;
  fallback?: string | undefined;
  floor: string;
  /** Class of the failure that ended the previous attempt, if any. */
  lastFailureClass?: FailureClass | undefined;
  /** Version the previous attempt ran, if any. */
  previousVersion?: string | undefined;
}

export interface VersionChoice {
  version: string;
  usedFallback: boolean;
  /** Why this version: for the job's history. */
  reason: string;
}

/**
 * Picks the version for the next runner of a job. The fallback is used after a version-class
 * failure, and kept for later attempts of the same job: going back to a pin GitHub just refused
 * would fail the same way. A fallback below the floor is never used.
 * Throws {@link RangeError} when the pinned version itself is refused by {@link checkVersionFloor}.
 */
export function chooseRunnerVersion(input: VersionChoiceInput): VersionChoice {
  const pinnedCheck = checkVersionFloor(input.pinned, input.floor);
  if (!pinnedCheck.ok) throw new RangeError(pinnedCheck.message);

  const fallback = input.fallback;
  const fallbackUsable =
    fallback !== undefined && fallback !== input.pinned && checkVersionFloor(fallback, input.floor).ok;

  if (input.lastFailureClass === FailureClass.versionDeprecated) {
    if (fallbackUsable) {
      return {
        version: fallback,
        usedFallback: true,
        reason: `fallback ${fallback} after a version failure of ${input.previousVersion ?? input.pinned}`,
      };
    }
    return {
      version: input.pinned,
      usedFallback: false,
      reason:
        fallback === undefined
          ? `pinned ${input.pinned} (no fallback version configured)`
          : `pinned ${input.pinned} (fallback ${fallback} is not usable)`,
    };
  }
  if (fallbackUsable && input.previousVersion === fallback) {
    return { version: fallback, usedFallback: true, reason: `fallback ${fallback}, kept from the previous attempt` };
  }
  return { version: input.pinned, usedFallback: false, reason: `pinned ${input.pinned}` };
}

// ───────────── tracking: RUNNER_VERSION=auto ─────────────

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * GitHub stops serving a runner once a newer release has been out this long (it must not lag the latest
 * release by more than 30 days). Counted from the publish date of the first release newer than the runner.
 */
export const GITHUB_CUTOFF_MS = 30 * DAY_MS;
/**
 * From this long before the cut-off a release is adopted even if it has not soaked yet. Why 10 days: a
 * canary period (1 day), a rollback and a second candidate's canary still fit before the alarm (7 days) and
 * the cut-off itself; a fleet that reaches the cut-off stops getting jobs, which is worse than a young release.
 */
export const FORCED_ADOPTION_MARGIN_MS = 10 * DAY_MS;
/** The running version is this close to its cut-off: time to alarm (a person should look). */
export const CUTOFF_ALARM_MARGIN_MS = 7 * DAY_MS;
/** The platform every adopted release must carry a digest for: the fleet's default runners. */
export const REQUIRED_PLATFORM: RunnerPlatform = RunnerPlatform.linuxX64;

export const VersionMode = { pinned: 'pinned', auto: 'auto' } as const;
export type VersionMode = (typeof VersionMode)[keyof typeof VersionMode];

/** What the configuration says about version tracking (times in ms; see the constants for defaults). */
export interface VersionPolicySettings {
  /** An exact pin: it always wins, nothing is tracked. Undefined: `RUNNER_VERSION=auto`. */
  readonly pin?: string | undefined;
  /** A release is adopted once it is this old (`RUNNER_VERSION_SOAK_DAYS`). */
  readonly soakMs: number;
  /** No release below this is adopted (`RUNNER_VERSION_FLOOR`); a current version below it is urgent. */
  readonly floor: string;
  /** Percent of jobs (1–100) a newly adopted version serves first (`RUNNER_VERSION_CANARY_PERCENT`). */
  readonly canaryPercent: number;
  /** Default {@link GITHUB_CUTOFF_MS}. */
  readonly cutoffMs?: number;
  /** Default {@link FORCED_ADOPTION_MARGIN_MS}. */
  readonly forcedAdoptionMarginMs?: number;
  /** Default {@link CUTOFF_ALARM_MARGIN_MS}. */
  readonly alarmMarginMs?: number;
  /** Canary promotion (defaults in version-canary.ts). */
  readonly promotion?: PromotionRules;
}

export interface VersionPolicyInput {
  readonly settings: VersionPolicySettings;
  /** actions/runner releases, any order (drafts and prereleases included: the policy skips them). */
  readonly releases: readonly RunnerRelease[];
  /** The stored record; undefined before anything was adopted. */
  readonly record: VersionRecordState | undefined;
  /** What runs while there is no record: the configured start version (`config.runner.version`). */
  readonly startVersion: string;
  /** The canary's and the current version's health over the canary's window; read only while a canary runs. */
  readonly health?: { readonly canary: VersionHealth; readonly current: VersionHealth };
  readonly now: number;
}

/** A newer release the policy did not adopt, and why (for `version status`). */
export interface SkippedRelease {
  readonly version: string;
  readonly reason: string;
}

/** Where the fleet stands, whatever the decision: what `version status`, metrics and alarms show. */
export interface VersionOutlook {
  /** The version most jobs run (the record's current, else the start version). */
  readonly current: string;
  /** When GitHub stops serving `current`; undefined while no newer release exists. */
  readonly cutoffAt?: number;
  /** Days from now to `cutoffAt` (negative: past it). */
  readonly daysToCutoff?: number;
  /** True within {@link CUTOFF_ALARM_MARGIN_MS} of the cut-off (or past it). */
  readonly cutoffAlarm: boolean;
  /** The release that would be adopted next, and from when (soak end, or the forced-adoption date). */
  readonly candidate?: { readonly version: string; readonly adoptableAt: number };
  /** Newer releases that are not candidates, newest first. */
  readonly skipped: readonly SkippedRelease[];
}

export const AdoptionReason = {
  /** The release is at least soakDays old. */
  soaked: 'soaked',
  /** The current version is near GitHub's cut-off (or below the floor): adopted before its soak ended. */
  cutoff: 'cut-off',
} as const;
export type AdoptionReason = (typeof AdoptionReason)[keyof typeof AdoptionReason];

export type VersionDecision =
  /** An exact pin: the version is the pin, the record is not consulted nor written. */
  | { readonly kind: 'pinned'; readonly version: string; readonly outlook: VersionOutlook }
  /** Nothing to change. */
  | { readonly kind: 'keep'; readonly reason: string; readonly outlook: VersionOutlook }
  /** Start `release` as a canary at `share` percent; `current` is what the record holds as current. */
  | {
      readonly kind: 'adopt';
      readonly release: { readonly version: string; readonly checksums: PlatformChecksums };
      readonly share: number;
      readonly because: AdoptionReason;
      readonly current: AdoptedVersionInput;
      readonly reason: string;
      readonly outlook: VersionOutlook;
    }
  /** The canary becomes the current version; the current one becomes previous. */
  | { readonly kind: 'promote'; readonly version: string; readonly reason: string; readonly outlook: VersionOutlook }
  /** The canary is dropped and marked bad; jobs return to `to` (the current version). */
  | {
      readonly kind: 'rollback';
      readonly version: string;
      readonly to: string;
      readonly failure: CanaryFailureKind;
      readonly reason: string;
      readonly outlook: VersionOutlook;
    }
  /** The version must move (cut-off near, or below the floor) and no release may be adopted: alarm. */
  | { readonly kind: 'refuse'; readonly reason: string; readonly outlook: VersionOutlook };

export type VersionDecisionKind = VersionDecision['kind'];

/** The current version as an adoption records it (a record's first write starts from the start version). */
export interface AdoptedVersionInput {
  readonly version: string;
  readonly checksums: PlatformChecksums;
}

/** Why a release newer than the current one cannot be a candidate, or undefined when it can. */
function ineligibility(release: RunnerRelease, input: VersionPolicyInput): string | undefined {
  if (release.draft) return 'draft';
  if (release.prerelease) return 'prerelease';
  if (isMarkedBad(input.record, release.version)) {
    const bad = input.record?.bad.find((b) => b.version === release.version);
    return `marked bad: ${bad?.reason ?? 'no reason recorded'}`;
  }
  if (compareVersions(release.version, input.settings.floor) < 0) return `below the floor ${input.settings.floor}`;
  if (release.publishedAt === undefined) return 'no publish date';
  if (release.publishedAt > input.now) return 'published in the future (clock skew): not adopted early';
  if (release.checksums[REQUIRED_PLATFORM] === undefined) {
    const problem = release.checksumProblems?.find((p) => p.platform === REQUIRED_PLATFORM);
    return problem
      ? `${REQUIRED_PLATFORM} SHA-256 in the release notes is ${problem.kind}`
      : `no ${REQUIRED_PLATFORM} SHA-256 in the release notes`;
  }
  return undefined;
}

/** When GitHub stops serving `version`: 30 days after the earliest published release newer than it. */
export function cutoffFor(
  version: string,
  releases: readonly RunnerRelease[],
  cutoffMs: number = GITHUB_CUTOFF_MS,
): number | undefined {
  let first: number | undefined;
  for (const release of releases) {
    // GitHub's window follows its published releases, whatever we think of them (bad ones count too).
    if (release.draft || release.prerelease || release.publishedAt === undefined) continue;
    if (compareVersions(release.version, version) <= 0) continue;
    if (first === undefined || release.publishedAt < first) first = release.publishedAt;
  }
  return first === undefined ? undefined : first + cutoffMs;
}

/**
 * The runner version lifecycle's decision for one reconcile pass (docs/design.md "Runner version lifecycle").
 * In order: an exact pin wins; a running canary is rolled back (judged failing against the current version),
 * promoted (clean jobs, its period, or the current version's cut-off is near) or kept; otherwise the newest
 * eligible release at least `soakMs` old is adopted as a canary, or, from {@link FORCED_ADOPTION_MARGIN_MS}
 * before the current version's cut-off (or when it is below the floor), the eligible release out longest.
 * Eligible: newer than current, published (not draft, not prerelease, not in the future), at or above the
 * floor, not marked bad, with a linux-x64 SHA-256. Pure: `now` and every input are passed in.
 */
export function decideRunnerVersion(input: VersionPolicyInput): VersionDecision {
  const { settings, releases, record, now } = input;
  const cutoffMs = settings.cutoffMs ?? GITHUB_CUTOFF_MS;
  const forcedMargin = settings.forcedAdoptionMarginMs ?? FORCED_ADOPTION_MARGIN_MS;
  const alarmMargin = settings.alarmMarginMs ?? CUTOFF_ALARM_MARGIN_MS;

  const current = settings.pin ?? record?.current.version ?? input.startVersion;
  const cutoffAt = cutoffFor(current, releases, cutoffMs);
  const newer = releases
    .filter((r) => compareVersions(r.version, current) > 0)
    .sort((a, b) => compareVersions(b.version, a.version));
  const skipped: SkippedRelease[] = [];
  const eligible: RunnerRelease[] = [];
  for (const release of newer) {
    const why = ineligibility(release, input);
    if (why === undefined) eligible.push(release);
    else skipped.push({ version: release.version, reason: why });
  }
  const forcedFrom = cutoffAt === undefined ? undefined : cutoffAt - forcedMargin;
  const belowFloor = compareVersions(current, settings.floor) < 0;
  const urgent = belowFloor || (forcedFrom !== undefined && now >= forcedFrom);

  // The candidate a later pass would adopt: the newest soaked release, else the one out longest (it soaks
  // first, and it is what a forced adoption takes), from its soak end or the forced-adoption date if earlier.
  const soakedAt = (r: RunnerRelease) => (r.publishedAt ?? now) + settings.soakMs;
  const soaked = eligible.filter((r) => soakedAt(r) <= now);
  const oldest = [...eligible].sort((a, b) => (a.publishedAt ?? 0) - (b.publishedAt ?? 0))[0];
  const canary = record?.canary;
  let candidate: VersionOutlook['candidate'];
  if (canary) candidate = undefined;
  else if (soaked[0]) candidate = { version: soaked[0].version, adoptableAt: soakedAt(soaked[0]) };
  else if (oldest) {
    const at = urgent ? now : Math.min(soakedAt(oldest), forcedFrom ?? Number.POSITIVE_INFINITY);
    candidate = { version: oldest.version, adoptableAt: at };
  }

  const outlook: VersionOutlook = {
    current,
    ...(cutoffAt !== undefined && { cutoffAt, daysToCutoff: (cutoffAt - now) / DAY_MS }),
    cutoffAlarm: cutoffAt !== undefined && now >= cutoffAt - alarmMargin,
    ...(candidate && { candidate }),
    skipped,
  };

  if (settings.pin !== undefined) return { kind: 'pinned', version: settings.pin, outlook };

  if (canary) {
    const verdict = input.health
      ? judgeCanary(input.health.canary, input.health.current)
      : { kind: 'healthy' as const };
    if (verdict.kind === 'failing') {
      return {
        kind: 'rollback',
        version: canary.version,
        to: current,
        failure: verdict.failure,
        reason: `canary ${canary.version} rolled back to ${current}: ${verdict.reason}`,
        outlook,
      };
    }
    const promotion = canaryPromotion(canary, input.health?.canary, now, settings.promotion);
    if (promotion.ready) {
      return {
        kind: 'promote',
        version: canary.version,
        reason: `canary ${canary.version} ${promotion.reason}`,
        outlook,
      };
    }
    if (urgent) {
      const why = belowFloor ? `${current} is below the floor ${settings.floor}` : `${current} is near its cut-off`;
      return {
        kind: 'promote',
        version: canary.version,
        reason: `canary ${canary.version} promoted early: ${why}`,
        outlook,
      };
    }
    return {
      kind: 'keep',
      reason: `canary ${canary.version} serves ${canary.share}% of jobs until ${new Date(promotion.readyAt).toISOString()} at the latest`,
      outlook,
    };
  }

  const pick = soaked[0] ?? (urgent ? oldest : undefined);
  if (pick) {
    const because = soaked[0] ? AdoptionReason.soaked : AdoptionReason.cutoff;
    const age = formatDuration(now - (pick.publishedAt ?? now));
    const currentChecksums = record?.current.checksums ?? releases.find((r) => r.version === current)?.checksums ?? {};
    return {
      kind: 'adopt',
      release: { version: pick.version, checksums: pick.checksums },
      share: settings.canaryPercent,
      because,
      current: { version: current, checksums: currentChecksums },
      reason:
        because === AdoptionReason.soaked
          ? `${pick.version} is ${age} old (soak ${formatDuration(settings.soakMs)})`
          : `${pick.version} adopted after ${age}, before its soak ended: ${belowFloor ? `${current} is below the floor ${settings.floor}` : `${current} reaches its cut-off ${formatDuration((cutoffAt ?? now) - now)} from now`}`,
      outlook,
    };
  }
  if (urgent) {
    const why = belowFloor
      ? `${current} is below the floor ${settings.floor}`
      : `${current} reaches GitHub's cut-off ${formatDuration((cutoffAt ?? now) - now)} from now`;
    const none =
      skipped.length === 0
        ? 'no newer release'
        : `no adoptable release (${skipped.map((s) => `${s.version}: ${s.reason}`).join('; ')})`;
    return { kind: 'refuse', reason: `${why}, and ${none}`, outlook };
  }
  return {
    kind: 'keep',
    reason: candidate
      ? `${current} stays; ${candidate.version} becomes adoptable at ${new Date(candidate.adoptableAt).toISOString()}`
      : `${current} is the newest adoptable release`,
    outlook,
  };
}

/**
 * The record a decision leads to, or undefined when there is nothing to write (`pinned`, `keep`, `refuse`).
 * The caller writes it conditionally on the revision it read, so of two reconcilers only one adopts.
 */
export function applyVersionDecision(
  record: VersionRecordState | undefined,
  decision: VersionDecision,
  now: number,
): VersionRecordState | undefined {
  switch (decision.kind) {
    case 'pinned':
    case 'keep':
    case 'refuse':
      return undefined;
    case 'adopt': {
      const current = record?.current ?? { ...decision.current, adoptedAt: now };
      return {
        current,
        ...(record?.previous && { previous: record.previous }),
        canary: {
          version: decision.release.version,
          checksums: decision.release.checksums,
          since: now,
          share: decision.share,
        },
        bad: record?.bad ?? [],
      };
    }
    case 'promote': {
      const canary = record?.canary;
      if (!record || !canary || canary.version !== decision.version) return undefined;
      return {
        current: { version: canary.version, checksums: canary.checksums, adoptedAt: now },
        previous: record.current,
        bad: record.bad,
      };
    }
    case 'rollback': {
      const canary = record?.canary;
      if (!record || !canary || canary.version !== decision.version) return undefined;
      return {
        current: record.current,
        ...(record.previous && { previous: record.previous }),
        bad: withBadRelease(record.bad, canary.version, decision.reason, now),
      };
    }
    default: {
      const unreachable: never = decision;
      return unreachable;
    }
  }
}
