import { FailureClass } from './failure-class.ts';
import type { JobEvent } from './job.ts';
import { parseFailureNote, parseLaunchNote } from './job-notes.ts';
import type { VersionHealth } from './version-canary.ts';

/**
 * What the runners of two versions did over a canary's window, read from the jobs' own histories (the
 * store keeps no other per-runner record of the version): a launch note names the runner and its version
 * (`runner jr-7-2 (id 55, v2.331.0) launch …`), a failure note names its class and the runner
 * (`version-deprecated (…) on runner jr-7-2: …`). Pure: the window start is passed in.
 */
export interface VersionPair {
  readonly canary: string;
  readonly current: string;
}

const empty = (): { jobs: number; versionFailures: number; startTimeouts: number; checksumFailures: number } => ({
  jobs: 0,
  versionFailures: 0,
  startTimeouts: 0,
  checksumFailures: 0,
});

/**
 * Counts, per version of `versions`, the jobs with a runner launched on it since `since` and the failures of
 * those runners that a canary is judged on (version-deprecated, start-timeout, checksum-mismatch). A job
 * counts once per version however many of its attempts ran on it; other versions are ignored.
 */
export function versionHealthOf(
  histories: readonly (readonly JobEvent[])[],
  versions: VersionPair,
  since: number,
): { canary: VersionHealth; current: VersionHealth } {
  const health = { [versions.canary]: empty(), [versions.current]: empty() };
  for (const history of histories) {
    const versionOf = new Map<string, string>();
    const launchedOn = new Set<string>();
    for (const event of history) {
      if (event.at < since) continue;
      const launch = parseLaunchNote(event.note);
      if (launch) {
        const { runnerName: runner, version } = launch;
        versionOf.set(runner, version);
        if (health[version]) launchedOn.add(version);
        continue;
      }
      const failure = parseFailureNote(event.note);
      if (!failure) continue;
      const { failureClass, runnerName: runner } = failure;
      const counts = health[versionOf.get(runner) ?? ''];
      if (!counts) continue;
      if (failureClass === FailureClass.versionDeprecated) counts.versionFailures += 1;
      else if (failureClass === FailureClass.startTimeout) counts.startTimeouts += 1;
      else if (failureClass === FailureClass.checksumMismatch) counts.checksumFailures += 1;
    }
    for (const version of launchedOn) {
      const counts = health[version];
      if (counts) counts.jobs += 1;
    }
  }
  return { canary: health[versions.canary] ?? empty(), current: health[versions.current] ?? empty() };
}
