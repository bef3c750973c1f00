import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import type { RunnerPool } from '../../domain/runner-pool.ts';
import { chooseRunnerVersion } from '../../domain/version-policy.ts';

/**
 * The version for the job's next runner (docs/design.md "Runner version policy"): the pin, or the fallback after a version-class
 * failure — kept for every later attempt of the job, since the pin was just refused. The pin is the job's
 * pool's `runnerVersion` when it has one, else `RUNNER_VERSION`.
 */
export function runnerVersionFor(
  job: Pick<Job, 'failureClass' | 'runnerVersion'>,
  runner: Config['runner'],
  pool?: Pick<RunnerPool, 'runnerVersion'>,
): string {
  return chooseRunnerVersion({
    pinned: pinnedVersion(runner, pool),
    fallback: runner.fallbackVersion,
    floor: runner.versionFloor,
    lastFailureClass: job.failureClass,
    previousVersion: job.runnerVersion,
  }).version;
}

/** The version a pool's runners are pinned to: its own `runnerVersion`, else `RUNNER_VERSION`. */
export function pinnedVersion(runner: Pick<Config['runner'], 'version'>, pool?: Pick<RunnerPool, 'runnerVersion'>) {
  return pool?.runnerVersion ?? runner.version;
}
