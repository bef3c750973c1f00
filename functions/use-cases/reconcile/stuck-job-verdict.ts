import { FailureClass } from '../../domain/failure-class.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';

/** Per-state deadlines of the reconciler (milliseconds). */
export interface StuckJobDeadlines {
  /** A `queued`/`waiting-breaker`/`healing` job with no `notBefore` not taken up by then is dispatched again. */
  queuedGraceMs: number;
  /** A `launched` job not seen running by then is looked up in the Actions API. */
  launchedCheckAfterMs: number;
  /** A `launched` job marked stolen is looked up this long after the theft (see replace-robbed-job.ts). */
  swapGraceMs: number;
  /**
   * A `launched` job whose launch the platform no longer lists (its runner is gone and its end was not
   * seen) is looked up this long after its launch, instead of waiting for `launchedCheckAfterMs`. Why a
   * grace: a platform may not list a launch at once (EC2's listing is eventually consistent).
   */
  lostLaunchGraceMs: number;
  /**
   * A `running` job is looked up in the Actions API this often (a missed `completed`); so is a job that
   * has waited that long before `launched` (GitHub may have cancelled it and the `completed` got lost).
   */
  runningCheckEveryMs: number;
}

export type StuckVerdict =
  | { kind: 'none' }
  /**
   * Hand the job to the provisioner again: it resumes from the last durable step (the lease makes it safe).
   * `ask`: it has waited long enough that GitHub is asked first whether it still wants a runner.
   */
  | { kind: 'dispatch'; reason: string; ask: boolean }
  /**
   * Webhooks are hints: ask GitHub where the job really is. `lostLaunch`: the job's runner is gone, so a
   * job GitHub still shows queued needs its next attempt.
   */
  | { kind: 'ask-github'; reason: string; lostLaunch?: true };

/** Whether a `launched` job's launch is among those its platform lists as running. */
export const LaunchListing = {
  listed: 'listed',
  missing: 'missing',
} as const;
export type LaunchListing = (typeof LaunchListing)[keyof typeof LaunchListing];

/**
 * The launched jobs whose launch the reconciler should look for: not stolen (a stolen job's runner runs
 * another job; the swap window decides), with a launch id, and past the lost-launch grace.
 */
export function mayHaveLostLaunch(job: Job, now: number, deadlines: StuckJobDeadlines): boolean {
  if (job.status !== JobStatus.launched || job.launchId === undefined || job.runnerName === undefined) return false;
  if (job.failureClass === FailureClass.stolen) return false;
  return now - (job.launchedAt ?? job.updatedAt) >= deadlines.lostLaunchGraceMs;
}

const NONE: StuckVerdict = { kind: 'none' };

function leaseLive(job: Job, now: number): boolean {
  return job.leaseOwner !== undefined && job.leaseExpiresAt !== undefined && job.leaseExpiresAt >= now;
}

/**
 * What the reconciler does with one open job, from its state and times only (pure; `now` is an argument).
 * The provisioner itself decides attempts, breakers and budgets, so "dispatch" is always safe: a job
 * whose lease is live is left alone, and a job past its budget is failed with the reason by the provisioner.
 */
export function stuckJobVerdict(
  job: Job,
  now: number,
  deadlines: StuckJobDeadlines,
  /** For a `launched` job: whether its platform still lists its launch (undefined: not looked at). */
  launch?: LaunchListing,
): StuckVerdict {
  switch (job.status) {
    case JobStatus.queued:
    case JobStatus.waitingBreaker:
    case JobStatus.healing: {
      if (leaseLive(job, now)) return NONE;
      const due = job.notBefore ?? job.updatedAt + deadlines.queuedGraceMs;
      if (now < due) return NONE;
      return {
        kind: 'dispatch',
        ask: now - job.createdAt >= deadlines.runningCheckEveryMs,
        reason:
          job.notBefore === undefined
            ? `${job.status} for ${Math.round((now - job.updatedAt) / 1000)} s without being taken up`
            : `${job.status} and due since ${Math.round((now - job.notBefore) / 1000)} s`,
      };
    }
    case JobStatus.provisioning:
      if (leaseLive(job, now)) return NONE;
      // Why ask first: the provisioner died or lost a write, possibly after its runner was launched; if
      // that runner already ran the job (ephemeral, its registration gone), minting again would launch a
      // second runner for a job GitHub has finished.
      return {
        kind: 'dispatch',
        reason: 'provisioning lease expired (the provisioner died or lost its answer)',
        ask: true,
      };
    case JobStatus.launched: {
      if (job.failureClass === FailureClass.stolen && now - job.updatedAt >= deadlines.swapGraceMs) {
        return { kind: 'ask-github', reason: 'its runner was taken by another job: is it still queued?' };
      }
      const since = job.launchedAt ?? job.updatedAt;
      if (launch === LaunchListing.missing && now - since >= deadlines.lostLaunchGraceMs) {
        return {
          kind: 'ask-github',
          lostLaunch: true,
          reason: `launched ${Math.round((now - since) / 1000)} s ago and its runner is gone (its end was not seen)`,
        };
      }
      if (now - since < deadlines.launchedCheckAfterMs) return NONE;
      return { kind: 'ask-github', reason: `launched ${Math.round((now - since) / 1000)} s ago, not seen running` };
    }
    case JobStatus.running:
      if (now - job.updatedAt < deadlines.runningCheckEveryMs) return NONE;
      return { kind: 'ask-github', reason: 'running: is it done?' };
    case JobStatus.waiting:
      // A runner left from before the wait (its retire failed or its hand-off was lost) is retired after a
      // look-up; otherwise the approval's `queued` may have been missed (approvals take minutes to hours).
      if (job.runnerName === undefined && now - job.updatedAt < deadlines.runningCheckEveryMs) return NONE;
      return { kind: 'ask-github', reason: 'waiting for an approval: is it queued again?' };
    case JobStatus.waitingCapacity:
      // Not dispatched: a full pool's backlog is released by its runners' ends and the reconciler's pool
      // pass, never by a timer per job. Asked about as rarely as a running job: a missed `completed`
      // (cancelled while waiting) would otherwise hold its place until its turn comes.
      if (now - job.updatedAt < deadlines.runningCheckEveryMs) return NONE;
      return { kind: 'ask-github', reason: 'waiting for room in its pool: is it still queued?' };
    case JobStatus.completed:
    case JobStatus.failed:
      return NONE;
  }
}
