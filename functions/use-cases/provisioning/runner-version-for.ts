import type { Config } from '../../config/config.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import type { Job } from '../../domain/job.ts';
import { RunnerPlatform } from '../../domain/release-checksums.ts';
import type { RunnerPool } from '../../domain/runner-pool.ts';
import { trackedVersionFor } from '../../domain/version-canary.ts';
import { chooseRunnerVersion } from '../../domain/version-policy.ts';
import type { VersionRecordState } from '../../domain/version-record.ts';
import { type RunnerVersionRole, runnerVersionRole } from '../../domain/version-role.ts';
import type { RunnerTarballDigests } from '../../ports/launcher.ts';

/**
 * The version for the job's next runner (docs/design.md "Runner version policy"): the pin, or the fallback after a version-class
 * failure — kept for every later attempt of the job, since the pin was just refused. The pin is the job's
 * pool's `runnerVersion` when it has one, else `RUNNER_VERSION`.
 */
export function runnerVersionFor(
  job: Pick<Job, 'failureClass' | 'runnerVersion'> & { jobId?: number },
  runner: Config['runner'],
  pool?: Pick<RunnerPool, 'runnerVersion' | 'tracksRunnerVersion'>,
  tracked?: Pick<VersionRecordState, 'current' | 'canary' | 'previous'>,
): string {
  return runnerVersionChoiceFor(job, runner, pool, tracked).version;
}

/** {@link runnerVersionFor} with the version's role (`Job.runnerVersionRole`): canary, current, previous, fallback or pinned. */
export function runnerVersionChoiceFor(
  job: Pick<Job, 'failureClass' | 'runnerVersion'> & { jobId?: number },
  runner: Config['runner'],
  pool?: Pick<RunnerPool, 'runnerVersion' | 'tracksRunnerVersion'>,
  tracked?: Pick<VersionRecordState, 'current' | 'canary' | 'previous'>,
): { version: string; role: RunnerVersionRole } {
  // A tracking pool takes the stored version (the canary for its share of jobs); without a record yet, or
  // for a pool pinned on its own, the configured version. The fallback after a version-class failure is
  // RUNNER_FALLBACK_VERSION, else the current version for a job the canary failed, or the version the
  // record held before the current one (the "previous version").
  const follows = pool?.tracksRunnerVersion === true && tracked !== undefined;
  const pick = follows && job.jobId !== undefined ? trackedVersionFor(job.jobId, tracked) : undefined;
  const choice = chooseRunnerVersion({
    pinned: pick?.version ?? pinnedVersion(runner, pool),
    fallback:
      runner.fallbackVersion ??
      (follows
        ? trackedFallback(job.runnerVersion, job.failureClass === FailureClass.versionDeprecated, tracked)
        : undefined),
    floor: runner.versionFloor,
    lastFailureClass: job.failureClass,
    previousVersion: job.runnerVersion,
  });
  const role = runnerVersionRole({
    version: choice.version,
    usedFallback: choice.usedFallback,
    configuredFallback: runner.fallbackVersion,
    tracked: pick && tracked ? { record: tracked, pick: pick.role } : undefined,
  });
  return { version: choice.version, role };
}

/** The version a pool's runners are pinned to: its own `runnerVersion`, else `RUNNER_VERSION`. */
export function pinnedVersion(runner: Pick<Config['runner'], 'version'>, pool?: Pick<RunnerPool, 'runnerVersion'>) {
  return pool?.runnerVersion ?? runner.version;
}

/**
 * Where a tracking job goes after a version-class failure: off the canary to the current version, else back.
 * `lastOn` is the version of the job's latest runner, `refused` whether GitHub refused it. When a job's
 * latest runner ran the current version while a canary runs and was not refused, an earlier attempt fell
 * back there (or the canary began since): the job stays on it, so a later attempt for another reason (a
 * theft, a lost runner) is not sent back to a canary GitHub refused (chooseRunnerVersion keeps a fallback
 * the previous attempt ran). A refused current version goes back to the previous one, as without a canary.
 */
function trackedFallback(
  lastOn: string | undefined,
  refused: boolean,
  tracked: Pick<VersionRecordState, 'current' | 'canary' | 'previous'>,
): string | undefined {
  if (lastOn !== undefined && lastOn === tracked.canary?.version) return tracked.current.version;
  if (!refused && tracked.canary !== undefined && lastOn === tracked.current.version) return lastOn;
  return tracked.previous?.version;
}

/**
 * The tarball digests to hand a runner of `version`: the ones the version record holds for it (the canary,
 * the current or the previous version, whichever it is), for the platforms the bootstrap runs on.
 * Undefined when the version is not one of the record's or the record holds no digest for it (the version a
 * record started from): the bootstrap then verifies against its own checksum table.
 */
export function trackedTarballDigests(
  version: string,
  tracked: Pick<VersionRecordState, 'current' | 'canary' | 'previous'> | undefined,
): RunnerTarballDigests | undefined {
  if (!tracked) return undefined;
  const entry = [tracked.canary, tracked.current, tracked.previous].find((v) => v?.version === version);
  if (!entry) return undefined;
  const digests: RunnerTarballDigests = {};
  for (const platform of [RunnerPlatform.linuxX64, RunnerPlatform.linuxArm64] as const) {
    const sha = entry.checksums[platform];
    if (sha !== undefined) digests[platform] = sha;
  }
  return Object.keys(digests).length > 0 ? digests : undefined;
}
