/** A job waiting for room in its pool (status `waiting-capacity`). */
export interface WaitingJob {
  readonly jobId: number;
  /** `owner/repo`: the unit that takes turns. */
  readonly repository: string;
  /** When the job started waiting, epoch milliseconds (the caller's clock, passed in). */
  readonly queuedAt: number;
  /** Its place in the rotation across repositories, from {@link turnFor} when it started waiting. */
  readonly turn: number;
}

/**
 * The turn a job of a repository gets when it starts waiting in a full pool: one after the turn of its
 * repository's newest job still waiting (`lastTurn`), and never before the turn being served now
 * (`serving`: the turn of the last job the pool launched from its backlog). A repository with nothing
 * waiting (`lastTurn` undefined) joins the turn being served.
 *
 * Why a turn fixed on arrival and stored with the job, rather than rounds recomputed from the waiting jobs
 * each time a runner ends: rounds recomputed from what is still waiting forget what already launched, so
 * every release would go to whichever repository has the oldest job, and a repository with 100 old jobs
 * would starve the others. A stored turn remembers it and survives a restart with the job. A repository
 * cannot bank turns by being idle (it joins the turn being served), and its lone job waits only for the
 * jobs of that same turn queued before it (at most one per other repository), never for a backlog.
 */
export function turnFor(serving: number, lastTurn: number | undefined): number {
  return lastTurn === undefined ? serving : Math.max(serving, lastTurn + 1);
}

/**
 * The order in which a full pool launches its waiting jobs as runners end: by turn (repositories take
 * turns, each repository's own jobs oldest first), and within one turn the oldest job first. Ties in
 * time fall to the lower job id, so every process computes the same order.
 */
export function launchOrder<J extends WaitingJob>(waiting: readonly J[]): J[] {
  return [...waiting].sort(compareWaiting);
}

/** The comparator of {@link launchOrder}. */
export function compareWaiting(a: WaitingJob, b: WaitingJob): number {
  return a.turn - b.turn || a.queuedAt - b.queuedAt || a.jobId - b.jobId;
}
