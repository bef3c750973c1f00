import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { createWorld, SETTINGS, SWAP_GRACE_MS, T0, type World } from './reconcile-fixtures.ts';

const REGISTRATION_DELETED =
  '2026-11-23 05:40:01Z: Failed to create a session. The runner registration has been deleted from the server, please re-configure.';

/** Each robber (a job we never tracked) runs the job's current runner; the replacement is provisioned at once. */
async function robAndReplace(world: World, jobId: number, robbers: readonly number[]): Promise<void> {
  for (const robber of robbers) {
    const { runnerName } = await world.job(jobId);
    await world.webhook('in_progress', robber, { runnerName: runnerName ?? null });
    expect(await world.core.provisionJob(jobId)).toBe('launched');
  }
}

describe('stolen and spare runners (progress listener)', () => {
  describe('in_progress on a runner minted for another job', () => {
    it('spends no attempt while the robber has a free runner of its own (swap window), only marks the job stolen', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      world.dispatcher.clear();

      // Runner jr-1-1 (minted for job 1) takes job 2; job 1 is still queued on GitHub.
      world.githubJob(2, 'in_progress', 'jr-1-1');
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });

      const robbed = await world.job(1);
      expect(robbed.status).toBe(JobStatus.launched);
      expect(robbed.attempt).toBe(1);
      expect(robbed.failureClass).toBe('stolen');
      expect(robbed.history.at(-1)?.note).toMatch(/taken by job 2; its runner jr-2-1 is free/);
      expect(world.dispatcher.calls).toEqual([]);
      expect((await world.store.runners.get('jr-1-1'))?.tookJobId).toBe(2);
      expect((await world.job(2)).status).toBe(JobStatus.running);
    });

    it('settles the swap when the free runner takes the robbed job: no attempt spent, no third runner', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      world.githubJob(1, 'in_progress', 'jr-2-1');
      await world.webhook('in_progress', 1, { runnerName: 'jr-2-1' });

      world.now = T0 + SWAP_GRACE_MS;
      await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.running);
      expect(job.attempt).toBe(1);
      expect(world.launcher.launches).toHaveLength(2);
    });

    it('mints a replacement under the next attempt once the swap window is over and GitHub still shows the job queued', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      world.dispatcher.clear();

      world.now = T0 + SWAP_GRACE_MS - 1;
      await world.reconcile();
      expect((await world.job(1)).attempt).toBe(1);

      world.now = T0 + SWAP_GRACE_MS;
      await world.reconcile();
      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.queued);
      expect(job.attempt).toBe(2);
      expect(job.runnerName).toBeUndefined();
      expect(job.history.at(-1)?.note).toMatch(/GitHub still shows the job queued; replacement under attempt 2/);
      expect(world.dispatcher.jobs()).toContain(1);
    });

    it('gives the robbed job its replacement at once when its free partner takes a job that has no runner of its own', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      await world.queue(3); // recorded, no runner yet (waiting for room, or still being provisioned)
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      expect((await world.job(1)).history.at(-1)?.note).toMatch(/its runner jr-2-1 is free/);
      world.dispatcher.clear();

      // The partner jr-2-1 takes job 3 instead of job 1: nobody is left to take job 1.
      await world.webhook('in_progress', 3, { runnerName: 'jr-2-1' });

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.queued);
      expect(job.attempt).toBe(2);
      expect(job.thefts).toBe(1);
      expect(job.history.at(-1)?.note).toMatch(
        /taken by job 2 and its swap partner jr-2-1 took job 3; replacement under attempt 2/,
      );
      expect(world.dispatcher.jobs()).toEqual([1]);
      expect((await world.job(3)).status).toBe(JobStatus.running);
    });

    it('hands the swap window on to the own runner of the job its free partner took instead', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      await world.launch(3);
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      world.dispatcher.clear();

      await world.webhook('in_progress', 3, { runnerName: 'jr-2-1' });

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.launched);
      expect(job.attempt).toBe(1);
      expect(job.history.at(-1)?.note).toMatch(/swap partner jr-2-1 took job 3, whose runner jr-3-1 is free/);
      expect(world.dispatcher.calls).toEqual([]);
    });

    it('replaces the robbed job when its partner took another job before the theft was seen', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      await world.queue(3);
      // The other order: jr-2-1 takes job 3 first, then job 2 is seen on jr-1-1.
      await world.webhook('in_progress', 3, { runnerName: 'jr-2-1' });
      world.dispatcher.clear();
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.queued);
      expect(job.attempt).toBe(2);
      expect(world.dispatcher.jobs()).toEqual([1]);
    });

    it('gives the robbed job a replacement at once when the robber has no runner of its own', async () => {
      const world = createWorld();
      await world.launch(1);
      world.dispatcher.clear();

      // Job 9 was never tracked by us (queued before we ran), yet ran on jr-1-1.
      await world.webhook('in_progress', 9, { runnerName: 'jr-1-1' });

      expect((await world.job(1)).attempt).toBe(2);
      expect(world.dispatcher.calls).toEqual([{ jobId: 1, delayMs: 0 }]);
      await world.core.provisionJob(1);
      expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1', 'jr-1-2']);
    });

    it("mints the replacement in the robbed job's pool: its labels, its version, its launch pool", async () => {
      const RUNNER_POOLS = JSON.stringify([
        { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] },
        { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerVersion: '2.331.0' },
      ]);
      const world = createWorld({ env: { RUNNER_POOLS } });
      const ARM64 = ['self-hosted', 'arm64'];
      expect(await world.webhook('queued', 1, { labels: ARM64 })).toBe(202);
      world.githubJob(1, 'queued');
      expect(await world.core.provisionJob(1)).toBe('launched');
      world.dispatcher.clear();

      // Job 9, never tracked by us, asks for the same pool and ran on jr-1-1.
      await world.webhook('in_progress', 9, { runnerName: 'jr-1-1', labels: ARM64 });
      expect((await world.job(1)).attempt).toBe(2);
      expect(await world.core.provisionJob(1)).toBe('launched');

      const inPool = { pool: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerVersion: '2.331.0' };
      expect(world.launcher.launches).toEqual([
        expect.objectContaining({ runnerName: 'jr-1-1', ...inPool }),
        expect.objectContaining({ runnerName: 'jr-1-2', ...inPool }),
      ]);
      expect([...world.github.runners.values()].map((r) => [r.name, r.labels])).toEqual([
        ['jr-1-1', inPool.labels],
        ['jr-1-2', inPool.labels],
      ]);
      expect(await world.job(1)).toMatchObject({ pool: 'arm64', thefts: 1 });
    });

    it('does nothing when GitHub shows the robbed job already running elsewhere', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      world.githubJob(1, 'in_progress', 'jr-2-1');
      world.dispatcher.clear();

      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });

      expect((await world.job(1)).status).toBe(JobStatus.launched);
      expect((await world.job(1)).attempt).toBe(1);
      expect(world.dispatcher.calls).toEqual([]);
    });

    it('waits for a spare when the theft budget is spent, and fails the job only if GitHub still shows it queued after the start timeout', async () => {
      const world = createWorld({ env: { MAX_THEFTS_PER_JOB: '2' } });
      await world.launch(1);
      await robAndReplace(world, 1, [91, 92]);
      const launched = await world.job(1);
      expect(launched).toMatchObject({ status: JobStatus.launched, attempt: 3, thefts: 2, runnerName: 'jr-1-3' });

      await world.webhook('in_progress', 93, { runnerName: 'jr-1-3' });
      const waiting = await world.job(1);
      expect(waiting.status).toBe(JobStatus.launched);
      expect(waiting.history.at(-1)?.note).toMatch(/theft budget \(2\) spent, no replacement: waiting for a spare/);
      expect(world.launcher.launches).toHaveLength(3);

      // Still queued on GitHub after the start timeout, its runner busy with job 93.
      const registration = world.github.runners.get(launched.runnerId as number);
      if (registration) Object.assign(registration, { status: 'online', busy: true });
      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.failed);
      expect(job.failureClass).toBe('stolen');
      expect(job.reason).toMatch(
        /jr-1-3 was taken by another job and the theft budget \(2 replacements of stolen runners\) is spent/,
      );
      expect(world.launcher.launches).toHaveLength(3);
    });

    it('does not fail a robbed job with a spent theft budget that a spare runner took meanwhile', async () => {
      const world = createWorld({ env: { MAX_THEFTS_PER_JOB: '0' } });
      await world.launch(1);
      await world.webhook('in_progress', 9, { runnerName: 'jr-1-1' });

      world.githubJob(1, 'in_progress', 'jr-7-1');
      await world.webhook('in_progress', 1, { runnerName: 'jr-7-1' });
      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      await world.reconcile();

      expect((await world.job(1)).status).toBe(JobStatus.running);
    });

    it('makes no GitHub call when a job runs on its own runner', async () => {
      const world = createWorld();
      await world.launch(1);
      world.github.calls.length = 0;

      await world.webhook('in_progress', 1, { runnerName: 'jr-1-1' });

      expect(world.github.calls).toEqual([]);
      expect((await world.job(1)).status).toBe(JobStatus.running);
    });

    it('handles a robbery once when the same in_progress is delivered twice', async () => {
      const world = createWorld();
      await world.launch(1);

      await Promise.all([
        world.webhook('in_progress', 9, { runnerName: 'jr-1-1' }),
        world.webhook('in_progress', 9, { runnerName: 'jr-1-1' }),
      ]);

      const job = await world.job(1);
      expect(job.attempt).toBe(2);
      expect(job.history.filter((h) => /stolen/.test(h.note))).toHaveLength(1);
    });
  });

  describe('theft and failure budgets', () => {
    it('re-queues a job robbed three times under the default budgets instead of failing it', async () => {
      const world = createWorld();
      await world.launch(1);

      await robAndReplace(world, 1, [91, 92, 93]);

      const job = await world.job(1);
      expect(job).toMatchObject({ status: JobStatus.launched, attempt: 4, thefts: 3, runnerName: 'jr-1-4' });
      expect(job.history.some((h) => h.status === JobStatus.failed)).toBe(false);
      expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1', 'jr-1-2', 'jr-1-3', 'jr-1-4']);
    });

    it('counts the theft and its attempt in one write: a second copy of the same theft changes nothing', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.webhook('in_progress', 91, { runnerName: 'jr-1-1' });
      const once = await world.job(1);

      await world.webhook('in_progress', 91, { runnerName: 'jr-1-1' });

      expect(once).toMatchObject({ status: JobStatus.queued, attempt: 2, thefts: 1 });
      expect(await world.job(1)).toEqual(once);
    });

    it('gives a job robbed twice its full failure budget: two more runners after failures, then fails saying 3 attempts', async () => {
      const world = createWorld();
      await world.launch(1);
      await robAndReplace(world, 1, [91, 92]);
      expect(await world.job(1)).toMatchObject({ attempt: 3, thefts: 2, status: JobStatus.launched });

      // A genuine line: GitHub no longer knows the runner (signals are confirmed against the API).
      const registrationGone = (runnerName: string) => {
        for (const [id, r] of world.github.runners) if (r.name === runnerName) world.github.runners.delete(id);
        return world.core.handleRunnerSignal({
          kind: 'log',
          runnerName,
          line: REGISTRATION_DELETED,
          source: 'stderr',
          at: world.now,
        });
      };

      expect((await registrationGone('jr-1-3')).acted).toBe(true);
      expect(await world.core.provisionJob(1)).toBe('launched');
      expect((await registrationGone('jr-1-4')).acted).toBe(true);
      expect(await world.core.provisionJob(1)).toBe('launched');
      expect((await world.job(1)).runnerName).toBe('jr-1-5');

      await registrationGone('jr-1-5');

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.failed);
      expect(job.failureClass).toBe('registration-gone');
      expect(job.reason).toMatch(/gave up after 3 attempts \(limit 3 per job\)/);
      expect(job.thefts).toBe(2);
      expect(world.launcher.launches).toHaveLength(5);
    });
  });

  describe('completed of a job whose own runner never took it', () => {
    it('retires the spare runner, its registration first, then its process, and notes it on the job', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      const order: string[] = [];
      const stop = world.launcher.stop.bind(world.launcher);
      world.launcher.stop = async (id) => {
        order.push(`stop ${id}`);
        await stop(id);
      };
      const del = world.github.deleteRunner.bind(world.github);
      world.github.deleteRunner = async (t, id) => {
        order.push(`delete ${id}`);
        await del(t, id);
      };
      const spareId = (await world.job(2)).runnerId;

      // Job 2 ran on jr-1-1 (minted for job 1) and finished; job 1 went to another fleet's runner,
      // so jr-2-1 never took anything.
      world.githubJob(1, 'in_progress', 'other-runner');
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      await world.webhook('completed', 2, { runnerName: 'jr-1-1', conclusion: 'success' });

      expect(order).toEqual([`delete ${spareId}`, 'stop rec-jr-2-1']);
      expect([...world.github.runners.values()].map((r) => r.name)).not.toContain('jr-2-1');
      expect((await world.store.runners.get('jr-2-1'))?.state).toBe('stopped');
      const job = await world.job(2);
      expect(job.status).toBe(JobStatus.completed);
      expect(job.history.at(-1)?.note).toMatch(/spare: .*jr-2-1 never took it → process stopped, registration deleted/);
    });

    it('stops the runner of a job cancelled while it was still queued', async () => {
      const world = createWorld();
      await world.launch(1);

      await world.webhook('completed', 1, { runnerName: null, conclusion: 'cancelled' });

      expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
      expect(world.github.runners.size).toBe(0);
    });

    it('keeps the spare when it took another job (it is that job runner now)', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      world.githubJob(1, 'in_progress', 'jr-2-1');
      world.githubJob(2, 'in_progress', 'jr-1-1');

      // A swap: jr-1-1 took job 2, jr-2-1 took job 1.
      await world.webhook('in_progress', 2, { runnerName: 'jr-1-1' });
      await world.webhook('in_progress', 1, { runnerName: 'jr-2-1' });
      await world.webhook('completed', 2, { runnerName: 'jr-1-1', conclusion: 'success' });

      expect(world.launcher.stopped).toEqual([]);
      expect((await world.job(1)).status).toBe(JobStatus.running);
    });

    it('keeps the spare when GitHub shows it busy with a job we were not told about', async () => {
      const world = createWorld();
      const job = await world.launch(1);
      const registration = world.github.runners.get(job.runnerId as number);
      if (registration) Object.assign(registration, { status: 'online', busy: true });

      await world.webhook('completed', 1, { runnerName: 'someone-elses-runner', conclusion: 'success' });

      expect(world.launcher.stopped).toEqual([]);
    });

    it('does nothing when the job ran on its own runner (the ephemeral runner ends by itself)', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.webhook('in_progress', 1, { runnerName: 'jr-1-1' });
      world.github.calls.length = 0;

      await world.webhook('completed', 1, { runnerName: 'jr-1-1', conclusion: 'success' });

      expect(world.launcher.stopped).toEqual([]);
      expect(world.github.calls).toEqual([]);
    });

    it('is not taken for a registration-gone failure when the runner we stopped says its registration was deleted', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.webhook('completed', 1, { runnerName: null, conclusion: 'cancelled' });
      const before = await world.job(1);

      const logOutcome = await world.core.handleRunnerSignal({
        kind: 'log',
        runnerName: 'jr-1-1',
        line: REGISTRATION_DELETED,
        source: 'stderr',
        at: world.now,
      });
      const exitOutcome = await world.core.handleRunnerSignal({
        kind: 'exit',
        runnerName: 'jr-1-1',
        code: 1,
        at: world.now,
      });

      expect(logOutcome.acted).toBe(false);
      expect(exitOutcome.acted).toBe(false);
      expect((await world.job(1)).version).toBe(before.version);
    });
  });

  it('never throws into the webhook: a failing GitHub leaves the work to the reconciler', async () => {
    const world = createWorld();
    await world.launch(1);
    world.github.failures.getWorkflowJob = [new Error('GitHub down')];

    const status = await world.webhook('in_progress', 9, { runnerName: 'jr-1-1' });

    expect(status).toBe(202);
    expect((await world.job(1)).status).toBe(JobStatus.launched);
  });
});
