import type { Job } from './job.ts';

/**
 * When the job last became assignable to a runner: when it was recorded, or when GitHub queued it again
 * after an environment approval (hours of waiting for a reviewer are not the fleet's latency).
 */
export function queuedSince(job: Pick<Job, 'createdAt' | 'assignableAt'>): number {
  return Math.max(job.createdAt, job.assignableAt ?? 0);
}

/** Milliseconds from {@link queuedSince} to `at` (never negative: clocks of two functions may differ). */
export function msSinceQueued(job: Pick<Job, 'createdAt' | 'assignableAt'>, at: number): number {
  return Math.max(0, at - queuedSince(job));
}
