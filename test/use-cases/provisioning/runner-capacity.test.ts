import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { RunnerPool } from '../../../functions/domain/runner-pool.ts';
import { LaunchCapacityError } from '../../../functions/ports/launcher.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { testCore } from '../../support/test-provisioner.ts';

const LABELS = ['self-hosted', 'linux', 'x64'];
const small: RunnerPool = { name: 'small', labels: LABELS, launcher: 'local', runnerVersion: '2.330.0', maxRunners: 2 };
const free: RunnerPool = { name: 'free', labels: [...LABELS, 'free'], launcher: 'local', runnerVersion: '2.330.0' };
const config = { ...provisionConfig(undefined), pools: [small, free] };

/** Waits (real time, bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const newJob = (jobId: number, repo: string, pool = 'small') => ({
  jobId,
  runId: 1,
  owner: 'octo',
  repo,
  scopeKey: `octo/${repo}`,
  installationId: 5,
  labels: pool === 'free' ? ['free'] : ['x64'],
  pool,
});

/**
 * The capacity of a capped pool through the core as every root wires it: the in-memory store, the fake
 * GitHub and a launcher that records; a dispatcher that records which jobs a released slot sent back to
 * provisioning (the spec then runs them, as the queue would).
 */
describe('runner capacity (a pool with maxRunners)', () => {
  let store: MemoryStore;
  let github: FakeGitHub;
  let launcher: RecordingLauncher;
  let dispatched: number[];
  let now: number;
  let core: ReturnType<typeof testCore>;

  const queue = async (jobId: number, repo: string, pool = 'small') => {
    await store.jobs.create(newJob(jobId, repo, pool), `d${jobId}`, now);
    return core.provisionJob(jobId);
  };
  /** Runs every dispatched job once, in dispatch order, as the provisioning queue would. */
  const drain = async () => {
    const outcomes: Record<number, string> = {};
    while (dispatched.length > 0) {
      const jobId = dispatched.shift() as number;
      outcomes[jobId] = await core.provisionJob(jobId);
    }
    return outcomes;
  };
  const launchedJobs = () => launcher.launches.map((l) => Number(/jr-(\d+)-/.exec(l.runnerName)?.[1]));
  const endRunnerOf = async (jobId: number) => {
    const job = await store.jobs.get(jobId);
    const name = job?.runnerName ?? '';
    launcher.stopped.push(`rec-${name}`);
    return core.handleRunnerSignal({ kind: 'exit', runnerName: name, code: 0, at: now });
  };

  beforeEach(() => {
    now = 1_000_000;
    store = createMemoryStore();
    github = new FakeGitHub();
    launcher = new RecordingLauncher();
    dispatched = [];
    core = testCore({
      config,
      store,
      github,
      launcher,
      now: () => now,
      dispatcher: { dispatch: async (jobId) => void dispatched.push(jobId) },
    });
  });

  it('launches up to maxRunners and puts the next job in the backlog without minting', async () => {
    expect(await queue(1, 'a')).toBe('launched');
    expect(await queue(2, 'a')).toBe('launched');
    now += 10;
    expect(await queue(3, 'a')).toBe('waiting');

    expect(launchedJobs()).toEqual([1, 2]);
    expect(github.runners.size).toBe(2);
    expect(await store.jobs.get(3)).toMatchObject({
      status: 'waiting-capacity',
      pool: 'small',
      turn: expect.any(Number),
      backlogSince: now,
    });
    expect(await store.jobs.get(3).then((j) => j?.leaseOwner)).toBeUndefined();
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {})).toEqual(['jr-1-1', 'jr-2-1']);
  });

  it("hands an ended runner's slot to the waiting job and launches it", async () => {
    await queue(1, 'a');
    await queue(2, 'a');
    await queue(3, 'a');
    await endRunnerOf(1);
    expect(dispatched).toEqual([3]);
    expect(await drain()).toEqual({ 3: 'launched' });
    expect(launchedJobs()).toEqual([1, 2, 3]);
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {}).sort()).toEqual(['jr-2-1', 'jr-3-1']);
  });

  it('lets repositories take turns: a second repository is not stuck behind the first one', async () => {
    await queue(1, 'busy');
    await queue(2, 'busy');
    for (const id of [3, 4, 5, 6]) {
      now += 10;
      await queue(id, 'busy');
    }
    now += 10;
    await queue(7, 'lone');

    await endRunnerOf(1);
    await drain();
    await endRunnerOf(2);
    await drain();
    // Oldest first would launch 3 and 4; with turns, the lone repository's only job goes second.
    expect(launchedJobs()).toEqual([1, 2, 3, 7]);
  });

  it('never admits more than maxRunners when jobs race for the last slot', async () => {
    await queue(1, 'a');
    for (const id of [2, 3, 4, 5]) await store.jobs.create(newJob(id, `r${id}`), `d${id}`, now);
    const outcomes = await Promise.all([2, 3, 4, 5].map((id) => core.provisionJob(id)));
    expect(outcomes.filter((o) => o === 'launched')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'waiting')).toHaveLength(3);
    expect(launcher.launches).toHaveLength(2);
  });

  it('gives the slot back when the launch fails, so the pool does not shrink', async () => {
    launcher.failures.push(new LaunchCapacityError('no capacity in the zone'));
    expect(await queue(1, 'a')).not.toBe('launched');
    expect((await store.pools.get('small'))?.slots).toEqual({});
    // The pool still admits two runners.
    now += 60_000;
    expect(await queue(2, 'a')).toBe('launched');
    expect(await queue(3, 'a')).toBe('launched');
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {}).length).toBe(2);
  });

  it('gives back a slot handed to a waiting job that another runner took before its provisioning ran', async () => {
    await queue(1, 'a');
    await queue(2, 'a');
    await queue(3, 'b');
    now += 10;
    await queue(4, 'c');
    await endRunnerOf(1);
    expect(dispatched).toEqual([3]);
    // Before job 3's provisioning runs, runner jr-2-1 (whose own job is gone) takes it on GitHub.
    await store.jobs.update(
      3,
      { statusIn: ['waiting-capacity'] },
      { set: { status: 'running', ranOn: 'jr-2-1' }, event: { status: 'running', note: 'in progress' } },
      now,
    );
    expect(await core.provisionJob(dispatched.shift() as number)).toBe('skipped');
    // Its slot went to the next waiting job instead of staying held until the reconciler's pass.
    expect(dispatched).toEqual([4]);
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {}).sort()).toEqual(['jr-2-1', 'jr-4-1']);
    expect(await drain()).toEqual({ 4: 'launched' });
  });

  it('keeps the slot of a duplicate dispatch while its job is launched under that name', async () => {
    await queue(1, 'a');
    expect(await core.provisionJob(1)).toBe('skipped');
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {})).toEqual(['jr-1-1']);
  });

  it('frees a slot whose runner the launcher no longer lists, after the grace, and launches the backlog', async () => {
    await queue(1, 'a');
    await queue(2, 'a');
    await queue(3, 'a');
    // Runner 1 ended without a signal (a crash lost it): the launcher no longer lists it.
    launcher.stopped.push('rec-jr-1-1');

    now += 5_000;
    expect((await core.runnerCapacity.reconcile(now)).freed).toEqual([]);
    now += 15_000;
    expect(await core.runnerCapacity.reconcile(now)).toEqual({ freed: ['jr-1-1'], released: [3] });
    expect(await drain()).toEqual({ 3: 'launched' });
  });

  it('does not free the slot of a job still being minted under a live lease', async () => {
    // The launch request is slow: until it returns, the launcher lists no runner for job 1.
    launcher.latencyMs = 300;
    await store.jobs.create(newJob(1, 'a'), 'd1', now);
    const provisioning = core.provisionJob(1);
    await until(async () => (await store.pools.get('small'))?.slots['jr-1-1'] !== undefined);
    // Past the grace, within the provisioning's lease.
    now += 16_000;
    expect(await core.runnerCapacity.reconcile(now)).toEqual({ freed: [], released: [] });
    expect(await provisioning).toBe('launched');
    expect(Object.keys((await store.pools.get('small'))?.slots ?? {})).toEqual(['jr-1-1']);
  });

  it('makes no pool request for a job of a pool without maxRunners, from its launch to its end', async () => {
    const calls: string[] = [];
    const counted = <T extends object>(area: string, target: T): T =>
      new Proxy(target, {
        get(t, key, receiver) {
          const value = Reflect.get(t, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(`${area}.${String(key)}`);
            return value.apply(t, args);
          };
        },
      });
    core = testCore({
      config,
      store: { ...store, pools: counted('pools', store.pools) },
      jobs: counted('jobs', store.jobs),
      github,
      launcher,
      now: () => now,
    });
    expect(await queue(1, 'a', 'free')).toBe('launched');
    await endRunnerOf(1);
    expect(calls.filter((c) => c.startsWith('pools.') || c === 'jobs.listBacklog')).toEqual([]);
    expect(await store.pools.get('small')).toBeUndefined();
  });

  it('forgets the turns of a backlog that emptied (a waiting job was cancelled)', async () => {
    await queue(1, 'a');
    await queue(2, 'a');
    await queue(3, 'b');
    expect(Object.keys((await store.pools.get('small'))?.turns ?? {})).toEqual(['octo/b']);
    // Job 3 is cancelled while it waits.
    await store.jobs.update(
      3,
      { statusIn: ['waiting-capacity'] },
      { set: { status: 'completed', conclusion: 'cancelled' }, event: { status: 'completed', note: 'cancelled' } },
      now,
    );
    await endRunnerOf(1);
    expect(dispatched).toEqual([]);
    expect((await store.pools.get('small'))?.turns).toEqual({});
  });
});
