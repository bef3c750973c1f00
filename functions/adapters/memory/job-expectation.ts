import type { Job } from '../../domain/job.ts';
import type { JobExpectation } from '../../ports/store.ts';

/**
 * MemoryStore's evaluation of a {@link JobExpectation}: the same named parts, with the same meaning, as the
 * DynamoDB condition expression built in dynamodb/job-condition.ts (missing attributes compare false there,
 * hence the `!== undefined` checks here).
 */
export const jobExpectationParts = {
  exists: (job: Job | undefined): job is Job => job !== undefined,
  statusIn: (job: Job, statuses: readonly string[]) => statuses.includes(job.status),
  version: (job: Job, version: number) => job.version === version,
  attempt: (job: Job, attempt: number) => job.attempt === attempt,
  leaseFree: (job: Job, at: number, holder: string | undefined) =>
    job.leaseOwner === undefined ||
    (job.leaseExpiresAt !== undefined && job.leaseExpiresAt < at) ||
    (holder !== undefined && job.leaseOwner === holder),
  leaseHeld: (job: Job, holder: string) => job.leaseOwner === holder,
} as const;

export function jobExpectationHolds(job: Job | undefined, expect: JobExpectation): job is Job {
  if (!jobExpectationParts.exists(job)) return false;
  if (expect.statusIn !== undefined && !jobExpectationParts.statusIn(job, expect.statusIn)) return false;
  if (expect.version !== undefined && !jobExpectationParts.version(job, expect.version)) return false;
  if (expect.attempt !== undefined && !jobExpectationParts.attempt(job, expect.attempt)) return false;
  if (expect.leaseFreeAt !== undefined)
    return jobExpectationParts.leaseFree(job, expect.leaseFreeAt, expect.leaseHolder);
  if (expect.leaseHolder !== undefined) return jobExpectationParts.leaseHeld(job, expect.leaseHolder);
  return true;
}
