import { CheckStatus, checkFrom, type DoctorCheck, DoctorCheckId, type Finding, finding } from '../doctor-check.ts';
import type { RunnerRelease } from '../release-checksums.ts';
import { compareVersions } from '../runner-version.ts';
import { CUTOFF_ALARM_MARGIN_MS, cutoffFor, GITHUB_CUTOFF_MS } from '../version-policy.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A runner version the fleet runs, and who runs it (pools, the fallback). */
export interface VersionInUse {
  readonly version: string;
  /** `pool linux-x64`, `RUNNER_FALLBACK_VERSION`, … */
  readonly usedBy: readonly string[];
  /** Follows the tracked version (`RUNNER_VERSION=auto` or a pool's `auto`): the reconciler moves it. */
  readonly tracked: boolean;
  /** A fallback only runs after a version-class failure: at most a warning. */
  readonly fallback?: boolean;
}

export interface RunnerVersionFacts {
  readonly versions: readonly VersionInUse[];
  /** actions/runner releases as the policy reads them (the listed page). */
  readonly releases: readonly RunnerRelease[];
  readonly now: number;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const days = (ms: number) => {
  const d = Math.round(Math.abs(ms) / DAY_MS);
  return `${d} ${d === 1 ? 'day' : 'days'}`;
};

/** The newest published, stable release. */
export function latestRelease(releases: readonly RunnerRelease[]): RunnerRelease | undefined {
  return releases
    .filter((r) => !r.draft && !r.prerelease && r.publishedAt !== undefined)
    .sort((a, b) => compareVersions(b.version, a.version))[0];
}

/**
 * Check 6: every version the fleet runs against GitHub's 30-day cut-off (30 days after the first newer
 * release): past it fail (GitHub no longer serves those runners), within 7 days of it warn (the same
 * margin as the cut-off alarm), else ok.
 */
export function evaluateRunnerVersions(facts: RunnerVersionFacts): DoctorCheck {
  const latest = latestRelease(facts.releases);
  const findings: Finding[] = [];
  for (const use of facts.versions) {
    const cutoff = cutoffFor(use.version, facts.releases, GITHUB_CUTOFF_MS);
    if (cutoff === undefined) continue;
    const who = use.usedBy.join(', ');
    const fix = use.tracked
      ? 'RUNNER_VERSION=auto should have moved it: see jit-runners version status (a rollback or bad releases may hold it)'
      : use.fallback
        ? `update RUNNER_FALLBACK_VERSION to ${latest?.version ?? 'a current release'}`
        : `set RUNNER_VERSION=auto, or update the pin (${who}) to ${latest?.version ?? 'a current release'}`;
    if (facts.now >= cutoff) {
      findings.push(
        finding(
          use.fallback ? CheckStatus.warn : CheckStatus.fail,
          `runner ${use.version} (${who}) passed GitHub's cut-off on ${day(cutoff)}, ${days(facts.now - cutoff)} ago`,
          fix,
        ),
      );
    } else if (facts.now >= cutoff - CUTOFF_ALARM_MARGIN_MS) {
      findings.push(
        finding(
          CheckStatus.warn,
          `runner ${use.version} (${who}) reaches GitHub's cut-off on ${day(cutoff)}, in ${days(cutoff - facts.now)}`,
          fix,
        ),
      );
    }
  }
  const running = [...new Set(facts.versions.filter((v) => !v.fallback).map((v) => v.version))];
  const latestText = latest
    ? `latest release ${latest.version} (${day(latest.publishedAt ?? 0)})`
    : 'no release listed';
  const cutoffs = running
    .map((v) => ({ v, at: cutoffFor(v, facts.releases, GITHUB_CUTOFF_MS) }))
    .filter((c): c is { v: string; at: number } => c.at !== undefined);
  const okSummary =
    cutoffs.length === 0
      ? `runs ${running.join(', ')}; ${latestText}`
      : `runs ${running.join(', ')}; ${latestText}; cut-off ${cutoffs.map((c) => `${c.v} ${day(c.at)} (in ${days(c.at - facts.now)})`).join(', ')}`;
  return checkFrom(DoctorCheckId.runnerVersion, findings, okSummary);
}
