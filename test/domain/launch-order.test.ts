import { describe, expect, it } from 'vitest';
import { launchOrder, turnFor, type WaitingJob } from '../../functions/domain/launch-order.ts';
import {
  admit,
  type BacklogHead,
  emptyCapacity,
  handOut,
  type PoolCapacityState,
  releaseSlot,
} from '../../functions/domain/pool-capacity.ts';

const MAX = 5;

/**
 * A full pool of 5 as the use cases drive it: jobs arrive through `admit` (each waiting job gets its turn
 * from the stored record), and each runner's end hands its slot to the head of the launch order.
 */
function backlog() {
  let capacity: PoolCapacityState = emptyCapacity('p');
  const waiting: BacklogHead[] = [];
  let clock = 1_000;
  let id = 0;
  // Fill the pool: five runners alive before the test's jobs arrive.
  for (let i = 0; i < MAX; i++) {
    const a = admit(capacity, { runnerName: `alive-${i}`, jobId: 900 + i, repository: 'o/x', maxRunners: MAX, now: 0 });
    capacity = a.next;
  }
  const alive = Array.from({ length: MAX }, (_, i) => `alive-${i}`);
  return {
    waiting,
    /** `n` jobs of `repository` start waiting, one millisecond apart. */
    arrive(repository: string, n = 1): BacklogHead[] {
      return Array.from({ length: n }, () => {
        const jobId = ++id;
        const a = admit(capacity, { runnerName: `r-${jobId}`, jobId, repository, maxRunners: MAX, now: ++clock });
        if (a.kind !== 'wait') throw new Error('the pool should be full');
        capacity = a.next;
        const job = { jobId, repository, queuedAt: clock, turn: a.turn, runnerName: `r-${jobId}` };
        waiting.push(job);
        return job;
      });
    },
    /** `n` runners end one after the other; each end hands its slot to the head of the order then. */
    release(n = 1): BacklogHead[] {
      const launched: BacklogHead[] = [];
      for (let i = 0; i < n; i++) {
        const ended = alive.shift();
        if (!ended) break;
        capacity = releaseSlot(capacity, ended).next;
        const out = handOut(capacity, launchOrder(waiting).slice(0, 1), MAX, ++clock);
        capacity = out.next;
        for (const head of out.given) {
          waiting.splice(waiting.indexOf(head), 1);
          alive.push(head.runnerName);
          launched.push(head);
        }
      }
      return launched;
    },
  };
}
const ids = (jobs: readonly WaitingJob[]) => jobs.map((j) => j.jobId);
const repos = (jobs: readonly WaitingJob[]) => jobs.map((j) => j.repository);
const job = (jobId: number, repository: string, queuedAt: number, turn: number): WaitingJob => ({
  jobId,
  repository,
  queuedAt,
  turn,
});

describe('turnFor', () => {
  it.each([
    { serving: 0, last: undefined, turn: 0, why: 'nothing waits' },
    { serving: 0, last: 1, turn: 2, why: 'after its own newest waiting job' },
    { serving: 3, last: undefined, turn: 3, why: 'a repository with nothing waiting joins the turn served now' },
    { serving: 7, last: 2, turn: 7, why: 'never before the turn served now' },
    { serving: 4, last: 4, turn: 5, why: 'its job of the turn served now still waits' },
  ])('gives turn $turn when $why', ({ serving, last, turn }) => {
    expect(turnFor(serving, last)).toBe(turn);
  });
});

describe('launchOrder', () => {
  it('launches one repository’s jobs oldest first, whatever order the store lists them in', () => {
    const q = backlog();
    q.arrive('o/a', 3);
    expect(ids(launchOrder([...q.waiting].reverse()))).toEqual([1, 2, 3]);
  });

  it('orders one turn oldest first, and breaks a tie in time by the lower job id', () => {
    const jobs = [job(9, 'o/a', 100, 0), job(4, 'o/b', 100, 0), job(5, 'o/c', 50, 0), job(1, 'o/a', 10, 1)];
    expect(ids(launchOrder(jobs))).toEqual([5, 4, 9, 1]);
  });

  it('lets repositories take turns, each turn oldest first', () => {
    const q = backlog();
    q.arrive('o/a', 3); // jobs 1-3
    q.arrive('o/b', 2); // jobs 4-5
    q.arrive('o/c'); // job 6
    expect(ids(launchOrder(q.waiting))).toEqual([1, 4, 6, 2, 5, 3]);
  });

  it('keeps taking turns when it is asked again after every release', () => {
    const q = backlog();
    q.arrive('o/busy', 100);
    q.arrive('o/other', 3);
    expect(repos(q.release(8))).toEqual([
      'o/busy',
      'o/other',
      'o/busy',
      'o/other',
      'o/busy',
      'o/other',
      'o/busy',
      'o/busy',
    ]);
  });

  it('does not starve a repository with 1 job behind a repository with 100: it waits only for the runners ahead of it', () => {
    const q = backlog();
    q.arrive('o/busy', 100);
    q.release(30);
    const [lone] = q.arrive('o/lone');
    // It joins the turn being served (o/busy's job of that turn already launched): the next runner's end is its.
    expect(repos(q.release(2))).toEqual(['o/lone', 'o/busy']);
    expect(q.waiting).not.toContain(lone);
  });

  it('does not let an idle repository bank turns: it joins the turn being served', () => {
    const q = backlog();
    q.arrive('o/a', 10);
    q.release(5);
    q.arrive('o/b', 3);
    // o/b's jobs get turns 4, 5, 6 (turn 4 is being served), not 0-3: alternating from there.
    expect(repos(q.release(8))).toEqual(['o/b', 'o/a', 'o/b', 'o/a', 'o/b', 'o/a', 'o/a', 'o/a']);
  });

  it('serves 10 repositories evenly: each of the first 10 launches is a different repository', () => {
    const q = backlog();
    q.arrive('o/r0', 100);
    for (let r = 1; r < 10; r++) q.arrive(`o/r${r}`, 3);
    expect(new Set(repos(q.release(10))).size).toBe(10);
  });

  it('returns nothing for no waiting job, and leaves its input untouched', () => {
    expect(launchOrder([])).toEqual([]);
    const jobs = [job(2, 'o/a', 2, 1), job(1, 'o/a', 1, 0)];
    launchOrder(jobs);
    expect(ids(jobs)).toEqual([2, 1]);
  });
});
