import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import type { GitHubTarget } from '../../../functions/ports/github.ts';
import { apiError } from '../../support/fake-github.ts';
import { createWorld, OWNER, T0, type World } from '../reconcile/reconcile-fixtures.ts';

const target: GitHubTarget = { installationId: 1, scope: { kind: 'repo', owner: OWNER, repo: 'app' } };
const LEASE_END = T0 + 20_000;

/** Job 1 as a provisioner that died holding its lease leaves it (it may have minted and launched jr-1-1). */
async function interrupted(world: World): Promise<void> {
  await world.queue(1);
  await world.store.jobs.update(
    1,
    {},
    { set: { status: JobStatus.provisioning, leaseOwner: 'dead', leaseExpiresAt: LEASE_END } },
    T0,
  );
  world.now = LEASE_END + 1;
}

/** Mint requests (a 409 included). */
const mints = (world: World) => world.github.calls.filter((c) => c.op === 'generateJitConfig').map((c) => c.name);

describe('provisionJob: an interrupted attempt', () => {
  it('does not mint the name again when its runner already ran the job and is gone (GitHub: completed)', async () => {
    const world = createWorld();
    await interrupted(world);
    // jr-1-1 ran the job; being ephemeral, its registration went with it.
    world.githubJob(1, 'completed', 'jr-1-1', 'success');

    expect(await world.core.provisionJob(1)).toBe('skipped');

    expect(mints(world)).toEqual([]);
    expect(world.launcher.launches).toHaveLength(0);
    const job = await world.job(1);
    expect(job).toMatchObject({ status: JobStatus.completed, conclusion: 'success', ranOn: 'jr-1-1', attempt: 1 });
    expect(job.leaseOwner).toBeUndefined();
    expect(job.history.at(-1)?.note).toContain('an interrupted attempt left no runner jr-1-1');
  });

  it('records the job running, without a mint, when GitHub shows it in progress on a runner already gone from the list', async () => {
    const world = createWorld();
    await interrupted(world);
    world.githubJob(1, 'in_progress', 'jr-1-1');

    expect(await world.core.provisionJob(1)).toBe('skipped');

    expect(mints(world)).toEqual([]);
    expect(await world.job(1)).toMatchObject({ status: JobStatus.running, ranOn: 'jr-1-1' });
  });

  it('adopts the registration it finds busy instead of minting (the runner is running the job)', async () => {
    const world = createWorld();
    await interrupted(world);
    const minted = await world.github.generateJitConfig(target, {
      name: 'jr-1-1',
      labels: [],
      runnerGroupId: 1,
      workFolder: '_work',
    });
    const runner = world.github.runners.get(minted.runnerId);
    if (runner) Object.assign(runner, { status: 'online', busy: true });
    world.github.calls.length = 0;

    expect(await world.core.provisionJob(1)).toBe('launched');

    expect(mints(world)).toEqual([]);
    expect(world.github.count('getWorkflowJob')).toBe(0);
    expect(await world.job(1)).toMatchObject({ status: JobStatus.launched, runnerName: 'jr-1-1' });
  });

  it('mints the same name only when GitHub has no runner of that name and the job queued, and says so in the history', async () => {
    const world = createWorld();
    await interrupted(world);

    expect(await world.core.provisionJob(1)).toBe('launched');

    // The registration is looked up before the job: a runner takes its job before its registration goes.
    expect(world.github.calls.map((c) => c.op)).toEqual(['findRunnerByName', 'getWorkflowJob', 'generateJitConfig']);
    const job = await world.job(1);
    expect(job).toMatchObject({ status: JobStatus.launched, runnerName: 'jr-1-1' });
    expect(job.interruptedAttempt).toBeUndefined();
    expect(job.history.at(-1)?.note).toContain('reusing runner name jr-1-1 of an interrupted attempt');
  });

  it('keeps the question through a backoff: a failed look-up is asked again before the name is minted', async () => {
    const world = createWorld();
    await interrupted(world);
    world.github.failures.findRunnerByName = [
      apiError(502, 'Bad Gateway', 'GET /repos/{owner}/{repo}/actions/runners'),
    ];

    expect(await world.core.provisionJob(1)).toBe('retry');
    const parked = await world.job(1);
    expect(parked).toMatchObject({ status: JobStatus.queued, attempt: 1, interruptedAttempt: 1 });

    // Meanwhile jr-1-1 (launched before the crash) ran the job and its registration went.
    world.githubJob(1, 'completed', 'jr-1-1', 'success');
    world.now = (parked.notBefore ?? world.now) + 1;
    expect(await world.core.provisionJob(1)).toBe('skipped');

    expect(mints(world)).toEqual([]);
    expect((await world.job(1)).status).toBe(JobStatus.completed);
  });

  it('asks nothing for a job taken from queued (no provisioner died holding it)', async () => {
    const world = createWorld();
    await world.queue(1);

    expect(await world.core.provisionJob(1)).toBe('launched');

    expect(world.github.calls.map((c) => c.op)).toEqual(['generateJitConfig']);
  });

  it('does not mint again when the reconciler resumes it without its own look-up (asked recently by a dead process)', async () => {
    const world = createWorld();
    await interrupted(world);
    // A previous server's reconciler asked while jr-1-1 was still booting (GitHub: queued) and died; its
    // per-job mark keeps this run from asking, so the job is dispatched on the verdict alone.
    expect(await world.store.locks.mark('reconcile:ask:1', world.now - 1_000, 60_000)).toBe(true);
    world.githubJob(1, 'completed', 'jr-1-1', 'success');

    await world.reconcile();
    expect(world.dispatcher.jobs()).toEqual([1]);
    await world.core.provisionJob(1);

    expect(mints(world)).toEqual([]);
    expect((await world.job(1)).status).toBe(JobStatus.completed);
  });
});
