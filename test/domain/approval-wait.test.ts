import { describe, expect, it } from 'vitest';
import {
  QueuedDelivery,
  readQueuedDelivery,
  startTimeoutFrom,
  WAITABLE,
  waitingChange,
} from '../../functions/domain/approval-wait.ts';
import type { Job } from '../../functions/domain/job.ts';
import { failureAttempts } from '../../functions/domain/job-budget.ts';
import { canTransition, JobStatus } from '../../functions/domain/job-status.ts';

const job = (over: Partial<Job> = {}): Job => ({
  jobId: 7,
  runId: 1,
  owner: 'octo',
  repo: 'app',
  scopeKey: 'octo/app',
  installationId: 1,
  labels: ['self-hosted'],
  status: JobStatus.queued,
  attempt: 1,
  heals: 0,
  deliveryIds: ['d1'],
  createdAt: 1_000,
  updatedAt: 1_000,
  version: 1,
  history: [],
  ...over,
});

describe('approval waits', () => {
  it('lets every waitable state enter waiting, per the state machine', () => {
    for (const status of WAITABLE) expect(canTransition(status, JobStatus.waiting)).toBe(true);
    expect(WAITABLE).not.toContain(JobStatus.running);
  });

  it('puts a job without a runner to waiting and frees its lease, spending nothing', () => {
    const change = waitingChange(job({ status: JobStatus.provisioning, leaseOwner: 'p1', leaseExpiresAt: 9 }), 5_000);
    expect(change.set).toEqual({ status: JobStatus.waiting, waitingSince: 5_000 });
    expect(change.remove).toEqual(expect.arrayContaining(['leaseOwner', 'leaseExpiresAt', 'notBefore']));
    expect(change.retire).toBeUndefined();
  });

  it('skips the attempt of a launched runner as a wait, not a failure, and names it for retirement', () => {
    const launched = job({
      status: JobStatus.launched,
      attempt: 2,
      runnerName: 'jr-7-2',
      runnerId: 42,
      launchId: 'l-1',
    });
    const change = waitingChange(launched, 5_000);
    expect(change.set).toMatchObject({ status: JobStatus.waiting, attempt: 3, waits: 1 });
    expect(change.retire).toEqual({ runnerName: 'jr-7-2', runnerId: 42, launchId: 'l-1' });
    expect(failureAttempts({ ...launched, ...change.set })).toBe(failureAttempts(launched));
  });

  it('reads a queued delivery for a waiting job as the approval unless its payload was built while waiting', () => {
    expect(readQueuedDelivery(JobStatus.waiting, 'queued')).toBe(QueuedDelivery.requeue);
    expect(readQueuedDelivery(JobStatus.waiting, 'waiting')).toBe(QueuedDelivery.stale);
    expect(readQueuedDelivery(JobStatus.queued, 'queued')).toBe(QueuedDelivery.duplicate);
    expect(readQueuedDelivery(JobStatus.launched, 'queued')).toBe(QueuedDelivery.duplicate);
  });

  it('counts the start timeout from when the job became assignable when that is later than the launch', () => {
    expect(startTimeoutFrom({ launchedAt: 2_000, updatedAt: 3_000 })).toBe(2_000);
    expect(startTimeoutFrom({ launchedAt: 2_000, updatedAt: 3_000, assignableAt: 50_000 })).toBe(50_000);
    expect(startTimeoutFrom({ launchedAt: 60_000, updatedAt: 3_000, assignableAt: 50_000 })).toBe(60_000);
  });
});
