import type { Job, NewJob } from './job.ts';
import { JobStatus } from './job-status.ts';

/** The provisioning lease a new job may be recorded with (the dispatch that will provision it). */
export interface NewJobLease {
  owner: string;
  expiresAt: number;
}

export const DEFAULT_NEW_JOB_NOTE = 'recorded from webhook';

/**
 * The first stored state of a job, the same for every store: `queued`, or `provisioning` already leased
 * to the dispatch that carries it (the webhook hands the lease over so the provisioner needs no second
 * write to take it). Attempt 1, no heals, one delivery id, version 1, one history line.
 */
export function newJobRecord(
  job: NewJob,
  deliveryId: string,
  now: number,
  lease?: NewJobLease,
  note: string = DEFAULT_NEW_JOB_NOTE,
): Job {
  const status = lease ? JobStatus.provisioning : JobStatus.queued;
  return {
    jobId: job.jobId,
    runId: job.runId,
    owner: job.owner,
    repo: job.repo,
    scopeKey: job.scopeKey,
    installationId: job.installationId,
    labels: [...job.labels],
    ...(job.pool !== undefined && { pool: job.pool }),
    ...(job.headSha !== undefined && { headSha: job.headSha }),
    ...(job.jobName !== undefined && { jobName: job.jobName }),
    ...(job.workflowName !== undefined && { workflowName: job.workflowName }),
    status,
    ...(lease ? { leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt } : {}),
    attempt: 1,
    heals: 0,
    deliveryIds: [deliveryId],
    createdAt: now,
    updatedAt: now,
    version: 1,
    history: [{ at: now, status, note: lease ? `${note}, leased to its dispatched provisioning` : note }],
  };
}
