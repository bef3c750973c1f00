import type { Config } from '../config/config.ts';
import { FailureClass } from '../domain/failure-class.ts';
import type { Job } from '../domain/job.ts';

/** The pinned version, or the fallback once this job saw a version-class failure (DESIGN §5). */
export function runnerVersionFor(job: Pick<Job, 'failureClass'>, runner: Config['runner']): string {
  if (job.failureClass === FailureClass.versionDeprecated && runner.fallbackVersion) return runner.fallbackVersion;
  return runner.version;
}
