import { freeSlots, type RunnerPool } from './runner-pool.ts';

/** A job waiting for room in its pool. */
export interface WaitingJob {
  readonly jobId: number;
  /** `owner/repo`: the unit that takes turns. */
  readonly repository: string;
  /** When the job started waiting, epoch milliseconds (the caller's clock, passed in). */
  readonly queuedAt: number;
  /** Its place in the rotation across repositories, from {@link nextTurn} when it started waiting. */
  readonly turn: number;
}

/**
 * The turn a job of `repository` gets when it starts waiting in a pool whose waiting jobs are
 * `waiting`: one after its repository's last waiting job, and never before the turn being served now
 * (the lowest turn waiting). Stored with the job when it starts waiting.
 *
 * Why a stored turn rather than rounds recomputed from the waiting jobs alone: the order is asked again
 * each time a runner ends, after the previous head launched; rounds recomputed from what is still
 * waiting forget what launched, so every release would go to whichever repository has the oldest job,
 * and a repository with 100 old jobs would starve the others. A turn fixed on arrival remembers it,
 * survives a restart with the job, and needs no counter of its own: a repository with nothing waiting
 * joins the turn being served, so it cannot bank turns by being idle, and its lone job waits only for
 * the jobs of that same turn queued before it (at most one per repository), never for a backlog.
 * Two jobs of one repository starting to wait at the same instant may get the same turn; that only
 * orders them by age between themselves, the cap is not affected.
 */
export function nextTurn(waiting: readonly WaitingJob[], repository: string): number {
  let serving = Number.POSITIVE_INFINITY;
  let own = Number.NEGATIVE_INFINITY;
  for (const job of waiting) {
    serving = Math.min(serving, job.turn);
    if (job.repository === repository) own = Math.max(own, job.turn);
  }
  if (serving === Number.POSITIVE_INFINITY) return 0;
  return Math.max(serving, own + 1);
}

/**
 * The order in which a full pool launches its waiting jobs as runners end: by turn (repositories take
 * turns, each repository's own jobs oldest first), and within one turn the oldest job first. Ties in
 * time fall to the lower job id, so every process computes the same order.
 */
export function launchOrder<J extends WaitingJob>(waiting: readonly J[]): J[] {
  return [...waiting].sort((a, b) => a.turn - b.turn || a.queuedAt - b.queuedAt || a.jobId - b.jobId);
}

/**
 * The waiting jobs of `pool` to launch now, with `alive` of its runners alive: the head of
 * {@link launchOrder}, as many as the pool has room for.
 */
export function jobsToLaunch<J extends WaitingJob>(
  waiting: readonly J[],
  pool: Pick<RunnerPool, 'maxRunners'>,
  alive: number,
): J[] {
  const room = freeSlots(alive, pool);
  const order = launchOrder(waiting);
  return room === Number.POSITIVE_INFINITY ? order : order.slice(0, room);
}
