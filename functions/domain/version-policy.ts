import { FailureClass } from './failure-class.ts';
import { compareVersions, isExactVersion } from './runner-version.ts';

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
