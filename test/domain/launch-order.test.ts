import { describe, expect, it } from 'vitest';
import { jobsToLaunch, launchOrder, nextTurn, type WaitingJob } from '../../functions/domain/launch-order.ts';

/** A pool's waiting jobs as the store would keep them: each job gets its turn when it starts waiting. */
function backlog() {
  const waiting: WaitingJob[] = [];
  let clock = 1_000;
  let id = 0;
  return {
    waiting,
    /** `n` jobs of `repository` start waiting, one millisecond apart. */
    arrive(repository: string, n = 1): WaitingJob[] {
      const added = Array.from({ length: n }, () => {
        const job = { jobId: ++id, repository, queuedAt: ++clock, turn: nextTurn(waiting, repository) };
        waiting.push(job);
        return job;
      });
      return added;
    },
    /** `n` runners end one after the other; each release launches the head of the order then. */
    release(n = 1): WaitingJob[] {
      const launched: WaitingJob[] = [];
      for (let i = 0; i < n; i++) {
        const [next] = jobsToLaunch(waiting, { maxRunners: 5 }, 4);
        if (!next) break;
        waiting.splice(waiting.indexOf(next), 1);
        launched.push(next);
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

describe('nextTurn', () => {
  it.each([
    { waiting: [], repo: 'o/a', turn: 0, why: 'nothing waits' },
    { waiting: [job(1, 'o/a', 1, 0), job(2, 'o/a', 2, 1)], repo: 'o/a', turn: 2, why: 'after its own last job' },
    {
      waiting: [job(1, 'o/a', 1, 3), job(2, 'o/a', 2, 4)],
      repo: 'o/b',
      turn: 3,
      why: 'a repository with nothing waiting joins the turn served now',
    },
    {
      waiting: [job(1, 'o/a', 1, 7), job(2, 'o/b', 2, 9)],
      repo: 'o/b',
      turn: 10,
      why: 'after its own last job, however far ahead',
    },
  ] satisfies Array<{ waiting: WaitingJob[]; repo: string; turn: number; why: string }>)(
    'gives turn $turn when $why',
    ({ waiting, repo, turn }) => {
      expect(nextTurn(waiting, repo)).toBe(turn);
    },
  );
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
    // Ahead of it: o/busy's job of the turn being served, queued before it; then it launches.
    expect(repos(q.release(2))).toEqual(['o/busy', 'o/lone']);
    expect(q.waiting).not.toContain(lone);
  });

  it('does not let an idle repository bank turns: it joins the turn being served', () => {
    const q = backlog();
    q.arrive('o/a', 10);
    q.release(5);
    q.arrive('o/b', 3);
    expect(repos(q.release(8))).toEqual(['o/a', 'o/b', 'o/a', 'o/b', 'o/a', 'o/b', 'o/a', 'o/a']);
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

describe('jobsToLaunch', () => {
  const jobs = [job(1, 'o/a', 1, 0), job(2, 'o/a', 2, 1), job(3, 'o/b', 3, 0), job(4, 'o/c', 4, 0)];

  it.each([
    { maxRunners: 5, alive: 0, launch: [1, 3, 4, 2], why: 'there is room for all' },
    { maxRunners: 5, alive: 2, launch: [1, 3, 4], why: 'there is room for 3' },
    { maxRunners: 3, alive: 2, launch: [1], why: 'there is room for 1' },
    { maxRunners: 3, alive: 3, launch: [], why: 'the pool is full' },
    { maxRunners: 2, alive: 3, launch: [], why: 'more are alive than the cap (after lowering it)' },
  ])('launches $launch when $why', ({ maxRunners, alive, launch }) => {
    expect(ids(jobsToLaunch(jobs, { maxRunners }, alive))).toEqual(launch);
  });

  it('launches every waiting job in a pool without maxRunners', () => {
    expect(ids(jobsToLaunch(jobs, {}, 500))).toEqual([1, 3, 4, 2]);
  });
});
