import type { Job } from './job.ts';
import { JobStatus } from './job-status.ts';

/**
 * Environment approvals (docs/design.md "Approval waits"): GitHub sends a gated job as `queued`, then
 * `waiting`, then `queued` again once a reviewer approves it, possibly hours later. A waiting job holds
 * no runner, spends no attempt and is no failure of any class; it is provisioned again once queued.
 */

/** Statuses a job may go `waiting` from: every state before a runner took it. */
export const WAITABLE: readonly JobStatus[] = [
  JobStatus.queued,
  JobStatus.provisioning,
  JobStatus.waitingBreaker,
  JobStatus.waitingCapacity,
  JobStatus.launched,
  JobStatus.healing,
];

/** The write that puts a job into `waiting`, and whether a runner of the job must be retired after it. */
export interface WaitingChange {
  set: Pick<Job, 'status' | 'waitingSince'> & Partial<Pick<Job, 'attempt' | 'waits'>>;
  remove: (keyof Job)[];
  /**
   * The runner recorded on the job (launched, never picked). Its fields stay on the waiting job until it
   * is retired, so a lost retire is found again; its attempt is skipped by this write.
   */
  retire?: Pick<Job, 'runnerName' | 'runnerId' | 'launchId' | 'runnerVersion'> & { runnerName: string };
}

/**
 * The change that makes `job` wait. A job that holds a launched runner skips to the next attempt in
 * the same write (counted in `waits`, not as a failure), so the runner's name is never minted again and
 * its exit or "registration deleted" line is a stale attempt's, never mistaken for the next runner's.
 * The lease goes too: an in-flight provisioner's conditional writes then fail and it cancels its launch.
 */
export function waitingChange(job: Job, now: number): WaitingChange {
  const base: WaitingChange = {
    set: { status: JobStatus.waiting, waitingSince: now },
    remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
  };
  if (job.status !== JobStatus.launched || job.runnerName === undefined) return base;
  return {
    set: { ...base.set, attempt: job.attempt + 1, waits: (job.waits ?? 0) + 1 },
    remove: base.remove,
    retire: {
      runnerName: job.runnerName,
      ...(job.runnerId !== undefined ? { runnerId: job.runnerId } : {}),
      ...(job.launchId !== undefined ? { launchId: job.launchId } : {}),
      ...(job.runnerVersion !== undefined ? { runnerVersion: job.runnerVersion } : {}),
    },
  };
}

/** What a `queued` delivery means for a recorded job. */
export const QueuedDelivery = {
  /** Nothing to do: a duplicate of the job's first `queued`, or the job is past waiting. */
  duplicate: 'duplicate',
  /** The approval: the job is assignable again. */
  requeue: 'requeue',
  /** Built while the job was waiting (its payload says so): an out-of-order or repeated first `queued`. */
  stale: 'stale',
} as const;
export type QueuedDelivery = (typeof QueuedDelivery)[keyof typeof QueuedDelivery];

/**
 * Reads a `queued` delivery for a job already recorded with `recorded` status. GitHub's deliveries
 * carry no sequence number, only the job's `status` as it was when the payload was built: a `queued`
 * whose payload already says `waiting` was built after the wait began and cannot be the approval. One
 * that says `queued` is taken for the approval; if it was in fact a late first `queued`, the provisioner
 * asks the Actions API before minting for a job that waited, and puts it back to `waiting`.
 */
export function readQueuedDelivery(recorded: JobStatus, payloadStatus: string): QueuedDelivery {
  if (recorded !== JobStatus.waiting) return QueuedDelivery.duplicate;
  return payloadStatus === 'waiting' ? QueuedDelivery.stale : QueuedDelivery.requeue;
}

/**
 * When a launched job's start timeout began: its launch, or the moment it became assignable again if
 * that was later (a runner launched before an approval wait cannot have taken the job during it).
 */
export function startTimeoutFrom(job: Pick<Job, 'launchedAt' | 'updatedAt' | 'assignableAt'>): number {
  return Math.max(job.launchedAt ?? job.updatedAt, job.assignableAt ?? 0);
}
