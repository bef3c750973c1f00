import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import type { NewJob } from '../../../functions/domain/job.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { RunnerKind, type RunnerRecord, RunnerState } from '../../../functions/domain/runner-record.ts';
import type { Store } from '../../../functions/ports/store.ts';
import { answerFleetApi, jobQuery } from '../../../functions/use-cases/admin/fleet-api.ts';
import { createFleetView } from '../../../functions/use-cases/admin/fleet-view.ts';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const HOUR = 3_600_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The store with every repository call recorded as `repository.method`, in order. */
function counted(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const wrap = <R extends object>(name: string, repository: R): R =>
    new Proxy(repository, {
      get(target, method, receiver) {
        const member = Reflect.get(target, method, receiver);
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(method)}`);
          return member.apply(target, args);
        };
      },
    });
  const wrapped = Object.fromEntries(
    Object.entries(store).map(([name, repository]) => [
      name,
      typeof repository === 'object' && repository !== null ? wrap(name, repository) : repository,
    ]),
  ) as unknown as Store;
  return { store: wrapped, calls };
}

function runnerRecord(record: Omit<RunnerRecord, 'updatedAt' | 'installationId'>): Omit<RunnerRecord, 'updatedAt'> {
  return { installationId: 1, ...record };
}

const config = parseConfig({
  env: {
    RUNNER_VERSION: '2.330.0',
    RUNNER_POOLS: JSON.stringify([
      { name: 'small', labels: ['self-hosted', 'linux', 'small'], launcher: 'local', maxRunners: 2 },
      { name: 'large', labels: ['self-hosted', 'linux', 'large'], launcher: 'local' },
    ]),
  },
});

function newJob(jobId: number, repo: string, pool: string): NewJob {
  const [owner = 'octo', name = 'app'] = repo.split('/');
  return {
    jobId,
    runId: jobId * 10,
    owner,
    repo: name,
    scopeKey: `${owner}/${name}`,
    installationId: 1,
    labels: ['self-hosted', 'linux', pool],
    pool,
  };
}

async function world() {
  const store = createMemoryStore();
  let now = T0;
  const clock = { now: () => now };
  const view = createFleetView({ config, store, clock });
  // 1: small, waiting for capacity; 2: small, running; 3: large, completed an hour ago; 4: failed 2 days ago.
  await store.jobs.create(newJob(1, 'octo/app', 'small'), 'd1', T0 - 5 * 60_000);
  await store.jobs.update(
    1,
    {},
    {
      set: { status: JobStatus.waitingCapacity, pool: 'small', turn: 1, backlogSince: T0 - 4 * 60_000 },
      event: { status: JobStatus.waitingCapacity, note: 'pool small is full' },
    },
    T0 - 4 * 60_000,
  );
  await store.jobs.create(newJob(2, 'octo/app', 'small'), 'd2', T0 - 10 * 60_000);
  await store.jobs.update(
    2,
    {},
    { set: { status: JobStatus.running, runnerName: 'jr-2-1', launchedAt: T0 - 9 * 60_000 } },
    T0 - 8 * 60_000,
  );
  await store.jobs.create(newJob(3, 'hub/site', 'large'), 'd3', T0 - 2 * HOUR);
  await store.jobs.update(3, {}, { set: { status: JobStatus.completed } }, T0 - HOUR);
  await store.jobs.create(newJob(4, 'hub/site', 'large'), 'd4', T0 - 50 * HOUR);
  await store.jobs.update(
    4,
    {},
    { set: { status: JobStatus.failed, failureClass: 'metadata-missing', reason: 'attempts spent' } },
    T0 - 48 * HOUR,
  );
  await store.pools.put({ pool: 'small', slots: { 'jr-2-1': { jobId: 2, since: T0 } }, turns: {}, serving: 0 }, 0, T0);
  await store.breakers.put(
    { scopeKey: 'hub/site', consecutiveFailures: 3, opens: 1, openUntil: T0 + 30_000, reason: 'breaker open' },
    0,
    T0 - 1000,
  );
  await store.breakers.put({ scopeKey: 'octo/app', consecutiveFailures: 0, opens: 0, openUntil: 0 }, 0, T0 - 2000);
  return { store, view, advance: (ms: number) => (now += ms) };
}

describe('fleet view', () => {
  it('sums pools, open jobs by status, jobs ended in the last day, runners, breakers and the version', async () => {
    const { view } = await world();
    const status = await view.status();
    expect(status.generatedAt).toBe(new Date(T0).toISOString());
    expect(status.pools).toEqual([
      {
        name: 'small',
        labels: ['self-hosted', 'linux', 'small'],
        launcher: 'local',
        maxRunners: 2,
        inUse: 1,
        backlog: 1,
        openJobs: 2,
      },
      {
        name: 'large',
        labels: ['self-hosted', 'linux', 'large'],
        launcher: 'local',
        inUse: 0,
        backlog: 0,
        openJobs: 0,
      },
    ]);
    expect(status.jobs.open).toBe(2);
    expect(status.jobs.byStatus['waiting-capacity']).toBe(1);
    expect(status.jobs.byStatus.running).toBe(1);
    expect(status.jobs.byStatus.queued).toBe(0);
    // Job 4 ended two days ago: outside the window.
    expect(status.jobs.endedRecently).toEqual({ completed: 1, failed: 0 });
    expect(status.breakers.open).toBe(1);
    expect(status.breakers.scopes.find((b) => b.scope === 'hub/site')).toMatchObject({
      open: true,
      openRemainingMs: 30_000,
      openUntil: new Date(T0 + 30_000).toISOString(),
    });
    expect(status.breakers.scopes.find((b) => b.scope === 'octo/app')?.open).toBe(false);
    expect(status.version).toEqual({ current: '2.330.0', source: 'configured', bad: [] });
  });

  it('lists open jobs however old and ended ones of the window, newest first, filtered', async () => {
    const { view } = await world();
    expect((await view.jobs()).map((j) => j.jobId)).toEqual([1, 2, 3]);
    expect((await view.jobs({ pool: 'SMALL' })).map((j) => j.jobId)).toEqual([1, 2]);
    expect((await view.jobs({ repo: 'hub' })).map((j) => j.jobId)).toEqual([3]);
    expect((await view.jobs({ statuses: ['running', 'completed'] })).map((j) => j.jobId)).toEqual([2, 3]);
    // An explicit since reaches back past the default window and applies to open jobs too.
    expect((await view.jobs({ since: T0 - 72 * HOUR })).map((j) => j.jobId)).toEqual([1, 2, 3, 4]);
    expect((await view.jobs({ since: T0 - 6 * 60_000 })).map((j) => j.jobId)).toEqual([1]);
  });

  it('shows and filters by the role of a job runner’s version: the jobs a canary ran on', async () => {
    const { store, view } = await world();
    const launch = async (jobId: number, runnerVersion: string, runnerVersionRole: 'canary' | 'current') => {
      await store.jobs.create(newJob(jobId, 'octo/app', 'large'), `d${jobId}`, T0 - 2 * MIN);
      await store.jobs.update(
        jobId,
        {},
        {
          set: {
            status: JobStatus.launched,
            runnerName: `jr-${jobId}-1`,
            runnerVersion,
            runnerVersionRole,
            launchedAt: T0 - MIN,
          },
        },
        T0 - MIN,
      );
    };
    await launch(21, '2.331.0', 'canary');
    await launch(22, '2.330.0', 'current');

    expect(await view.job(21)).toMatchObject({ runnerVersion: '2.331.0', runnerVersionRole: 'canary' });
    expect(await view.job(1)).not.toHaveProperty('runnerVersionRole');
    expect((await view.jobs({ versionRole: 'canary' })).map((j) => j.jobId)).toEqual([21]);
    expect((await view.jobs({ versionRole: 'current', pool: 'large' })).map((j) => j.jobId)).toEqual([22]);
    const runners = await view.runners();
    expect(runners.find((r) => r.name === 'jr-21-1')).toMatchObject({ version: '2.331.0', versionRole: 'canary' });
  });

  it('shows a job with its pool, its failure and its timeline in ISO times', async () => {
    const { view } = await world();
    const job = await view.job(1);
    expect(job).toMatchObject({ jobId: 1, repo: 'octo/app', pool: 'small', status: 'waiting-capacity', thefts: 0 });
    expect(job?.history.map((e) => e.status)).toEqual(['queued', 'waiting-capacity']);
    expect(job?.history[1]?.at).toBe(new Date(T0 - 4 * 60_000).toISOString());
    expect((await view.job(2))?.launchedAfterMs).toBe(60_000);
    expect(await view.job(99)).toBeUndefined();
  });

  it('keeps its change token while nothing changes and moves it when a job, runner, breaker or pool does', async () => {
    const { store, view, advance } = await world();
    const first = (await view.status()).changeToken;
    expect(first).toMatch(/^[\w-]{16}$/);
    advance(1000);
    expect((await view.status()).changeToken).toBe(first);

    await store.jobs.update(2, {}, { set: { status: JobStatus.completed } }, T0 + 1000);
    const afterJob = (await view.status()).changeToken;
    expect(afterJob).not.toBe(first);

    await store.pools.put({ pool: 'small', slots: {}, turns: {}, serving: 0 }, 1, T0 + 1000);
    const afterPool = (await view.status()).changeToken;
    expect(afterPool).not.toBe(afterJob);

    // The breaker's window ends with no write: the token still moves, since the breaker now reads closed.
    advance(30_000);
    const afterBreaker = (await view.status()).changeToken;
    expect(afterBreaker).not.toBe(afterPool);
    advance(1000);
    expect((await view.status()).changeToken).toBe(afterBreaker);
  });

  it('lists the JIT runner of each launched or running job beside the runner records, once each, oldest first', async () => {
    const { store, view } = await world();
    // World: job 2 runs on jr-2-1 (pool small, no version recorded on the job); job 1 waits for room.
    // Job 5: launched in pool large. Job 6: runs on a warm runner of pool small, whose record names jr-6-1.
    // Job 8: its runner jr-8-1 took job 9 (a stolen runner's record). Job 7: completed, its runner gone.
    await store.jobs.create(newJob(5, 'hub/site', 'large'), 'd5', T0 - 3 * MIN);
    await store.jobs.update(
      5,
      {},
      {
        set: { status: JobStatus.launched, runnerName: 'jr-5-1', runnerVersion: '2.330.0', launchedAt: T0 - 2 * MIN },
      },
      T0 - 2 * MIN,
    );
    await store.jobs.create(newJob(6, 'octo/app', 'small'), 'd6', T0 - 4 * MIN);
    await store.jobs.update(
      6,
      {},
      { set: { status: JobStatus.running, runnerName: 'jr-6-1', runnerVersion: '2.330.0', launchedAt: T0 - 3 * MIN } },
      T0 - 3 * MIN,
    );
    await store.jobs.create(newJob(7, 'octo/app', 'small'), 'd7', T0 - 30 * MIN);
    await store.jobs.update(7, {}, { set: { status: JobStatus.completed, runnerName: 'jr-7-1' } }, T0 - 20 * MIN);
    await store.jobs.create(newJob(8, 'octo/app', 'small'), 'd8', T0 - 6 * MIN);
    await store.jobs.update(
      8,
      {},
      { set: { status: JobStatus.launched, runnerName: 'jr-8-1', launchedAt: T0 - 5 * MIN } },
      T0 - 5 * MIN,
    );
    const v = '2.330.0';
    await store.runners.put(
      runnerRecord({
        name: 'jr-warm-small-a1',
        kind: RunnerKind.warm,
        scopeKey: 'octo/app',
        pool: 'small',
        version: v,
        state: RunnerState.claimed,
        jobId: 6,
        servesRunnerName: 'jr-6-1',
        createdAt: T0 - 20 * MIN,
      }),
      T0 - 3 * MIN,
    );
    await store.runners.put(
      runnerRecord({
        name: 'jr-8-1',
        kind: RunnerKind.jit,
        scopeKey: 'octo/app',
        version: v,
        state: RunnerState.running,
        jobId: 8,
        tookJobId: 9,
        createdAt: T0 - 4 * MIN,
      }),
      T0 - 4 * MIN,
    );
    await store.runners.put(
      runnerRecord({
        name: 'jr-baseline-hub-site-ab12',
        kind: RunnerKind.baseline,
        scopeKey: 'hub/site',
        version: v,
        state: RunnerState.running,
        createdAt: T0 - MIN,
      }),
      T0 - MIN,
    );

    const runners = await view.runners();
    expect(runners).toEqual([
      {
        name: 'jr-warm-small-a1',
        kind: 'warm',
        state: 'claimed',
        scope: 'octo/app',
        pool: 'small',
        version: v,
        jobId: 6,
        createdAt: iso(T0 - 20 * MIN),
        updatedAt: iso(T0 - 3 * MIN),
      },
      {
        name: 'jr-2-1',
        kind: 'jit',
        state: 'running',
        scope: 'octo/app',
        pool: 'small',
        jobId: 2,
        createdAt: iso(T0 - 9 * MIN),
        updatedAt: iso(T0 - 8 * MIN),
      },
      {
        name: 'jr-8-1',
        kind: 'jit',
        state: 'running',
        scope: 'octo/app',
        version: v,
        jobId: 8,
        tookJobId: 9,
        createdAt: iso(T0 - 4 * MIN),
        updatedAt: iso(T0 - 4 * MIN),
      },
      {
        name: 'jr-5-1',
        kind: 'jit',
        state: 'launched',
        scope: 'hub/site',
        pool: 'large',
        version: v,
        jobId: 5,
        createdAt: iso(T0 - 2 * MIN),
        updatedAt: iso(T0 - 2 * MIN),
      },
      {
        name: 'jr-baseline-hub-site-ab12',
        kind: 'baseline',
        state: 'running',
        scope: 'hub/site',
        version: v,
        createdAt: iso(T0 - MIN),
        updatedAt: iso(T0 - MIN),
      },
    ]);
    // The status counts the same list.
    expect((await view.status()).runners).toEqual({ alive: 5, byState: { claimed: 1, running: 3, launched: 1 } });
    // The fleet API serves it as it is.
    expect((await answerFleetApi(view, '/api/runners', new URLSearchParams(), T0))?.body).toEqual(runners);
  });

  it('costs the runners list one listing of the open jobs besides the runner records, and the status count nothing', async () => {
    const base = await world();
    const { store, calls } = counted(base.store);
    const view = createFleetView({ config, store, clock: { now: () => T0 } });
    expect((await view.runners()).map((r) => r.name)).toEqual(['jr-2-1']);
    expect([...calls].sort()).toEqual(['jobs.listOpen', 'runners.listActive']);
    calls.length = 0;
    expect((await view.status()).runners.alive).toBe(1);
    const reads = calls.filter((c) => c.startsWith('jobs.') || c.startsWith('runners.')).sort();
    expect(reads).toEqual(['jobs.listEndedSince', 'jobs.listOpen', 'runners.listActive']);
  });

  it('reports a corrupt version record instead of failing the whole status', async () => {
    const { store, view } = await world();
    store.versions.get = async () => {
      const { VersionRecordCorruptError } = await import('../../../functions/ports/store.ts');
      throw new VersionRecordCorruptError('runner version record fails validation: current.version');
    };
    const status = await view.status();
    expect(status.version.error).toContain('fails validation');
    expect(status.version.current).toBe('2.330.0');
  });
});

describe('fleet API', () => {
  it('answers its stable paths and 404 for a job it does not know', async () => {
    const { view } = await world();
    const q = new URLSearchParams();
    expect((await answerFleetApi(view, '/api/status', q, T0))?.status).toBe(200);
    expect((await answerFleetApi(view, '/api/jobs/2', q, T0))?.body).toMatchObject({ jobId: 2 });
    expect(await answerFleetApi(view, '/api/jobs/7', q, T0)).toEqual({
      status: 404,
      body: { message: 'job 7 is not recorded' },
    });
    expect(await answerFleetApi(view, '/api/nothing', q, T0)).toBeUndefined();
    const jobs = await answerFleetApi(view, '/api/jobs', new URLSearchParams('status=running&limit=5'), T0);
    expect((jobs?.body as { jobId: number }[] | undefined)?.map((j) => j.jobId)).toEqual([2]);
  });

  it('refuses a bad query with 400 and the reason, naming the parameter', async () => {
    const { view } = await world();
    const answer = await answerFleetApi(view, '/api/jobs', new URLSearchParams('status=done'), T0);
    expect(answer?.status).toBe(400);
    expect((answer?.body as { message: string } | undefined)?.message).toMatch(/^status: unknown job status 'done'/);
    expect(jobQuery(new URLSearchParams('since=yesterday'), T0)).toEqual({
      error: "since: expected a duration (30m, 6h, 2d) or an ISO 8601 time, got 'yesterday'",
    });
    expect(jobQuery(new URLSearchParams('limit=0'), T0)).toHaveProperty('error');
    expect(jobQuery(new URLSearchParams('repos=a'), T0)).toEqual({
      error: "unknown query parameter 'repos' (status, repo, pool, since, version-role, limit)",
    });
    expect(jobQuery(new URLSearchParams('version-role=canary'), T0)).toEqual({
      filter: { versionRole: 'canary' },
      limit: 200,
    });
    expect(jobQuery(new URLSearchParams('version-role=beta'), T0)).toEqual({
      error: "version-role: expected one of current, canary, previous, fallback, pinned, got 'beta'",
    });
    expect(jobQuery(new URLSearchParams('since=2h&repo=octo/app'), T0)).toEqual({
      filter: { since: T0 - 2 * HOUR, repo: 'octo/app' },
      limit: 200,
    });
  });
});
