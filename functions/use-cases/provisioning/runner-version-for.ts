import type { Config } from '../../config/config.ts';
import type { Job } from '../../domain/job.ts';
import { chooseRunnerVersion } from '../../domain/version-policy.ts';

/**
 * The version for the job's next runner (docs/design.md "Runner version policy"): the pin, or the fallback after a version-class
 * failure — kept for every later attempt of the job, since the pin was just refused.
 */
export function runnerVersionFor(job: Pick<Job, 'failureClass' | 'runnerVersion'>, runner: Config['runner']): string {
  return chooseRunnerVersion({
    pinned: runner.version,
    fallback: runner.fallbackVersion,
    floor: runner.versionFloor,
    lastFailureClass: job.failureClass,
    previousVersion: job.runnerVersion,
  }).version;
}
