import { FailureClass } from './failure-class.ts';
import type { Job, JobEvent } from './job.ts';
import { parseFailureNote, parseLaunchNote } from './job-notes.ts';
import { CanaryFailureKind, type VersionHealth } from './version-canary.ts';

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

type Counts = {
  jobs: number;
  versionFailures: number;
  startTimeouts: number;
  checksumFailures: number;
  failedJobs?: Partial<Record<CanaryFailureKind, number[]>>;
};

const empty = (): Counts => ({ jobs: 0, versionFailures: 0, startTimeouts: 0, checksumFailures: 0 });

/** The watched kind of a failure class, if it is one a canary is judged on. */
function watchedKind(failureClass: string): CanaryFailureKind | undefined {
  if (failureClass === FailureClass.versionDeprecated) return CanaryFailureKind.version;
  if (failureClass === FailureClass.startTimeout) return CanaryFailureKind.startTimeout;
  if (failureClass === FailureClass.checksumMismatch) return CanaryFailureKind.checksum;
  return undefined;
}

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
  return tally(
    histories.map((history) => ({ history })),
    versions,
    since,
  );
}

/**
 * {@link versionHealthOf} read from the jobs themselves: the same counts, and each count's jobs
 * (`failedJobs`, each job once, in the order given), so a rollback's reason names the jobs that decided it.
 */
export function versionHealthOfJobs(
  jobs: readonly Pick<Job, 'jobId' | 'history'>[],
  versions: VersionPair,
  since: number,
): { canary: VersionHealth; current: VersionHealth } {
  return tally(jobs, versions, since);
}

function tally(
  entries: readonly { readonly jobId?: number; readonly history: readonly JobEvent[] }[],
  versions: VersionPair,
  since: number,
): { canary: VersionHealth; current: VersionHealth } {
  const health = { [versions.canary]: empty(), [versions.current]: empty() };
  for (const { jobId, history } of entries) {
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
      const kind = watchedKind(failureClass);
      if (!counts || kind === undefined) continue;
      if (kind === CanaryFailureKind.version) counts.versionFailures += 1;
      else if (kind === CanaryFailureKind.startTimeout) counts.startTimeouts += 1;
      else counts.checksumFailures += 1;
      if (jobId !== undefined) {
        counts.failedJobs ??= {};
        const ids = counts.failedJobs[kind] ?? [];
        if (!ids.includes(jobId)) ids.push(jobId);
        counts.failedJobs[kind] = ids;
      }
    }
    for (const version of launchedOn) {
      const counts = health[version];
      if (counts) counts.jobs += 1;
    }
  }
  return { canary: health[versions.canary] ?? empty(), current: health[versions.current] ?? empty() };
}
