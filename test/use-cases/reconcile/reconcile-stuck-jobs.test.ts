import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { ConditionFailedError } from '../../../functions/ports/store.ts';
import { stuckJobVerdict } from '../../../functions/use-cases/reconcile/stuck-job-verdict.ts';
import { createWorld, SETTINGS, T0 } from './reconcile-fixtures.ts';

describe('reconcile: stuck jobs', () => {
  describe('queued', () => {
    it('re-dispatches a queued job nobody took up once the grace has passed, not before', async () => {
      const world = createWorld();
      await world.queue(1);

      world.now = T0 + SETTINGS.queuedGraceMs - 1;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([]);

      world.now = T0 + SETTINGS.queuedGraceMs;
      const report = await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([1]);
      expect(report.stuck?.dispatched).toEqual([1]);
    });

    it('leaves a queued job alone while a provisioner holds a live lease on it', async () => {
      const world = createWorld();
      await world.queue(1);
      await world.store.jobs.update(1, {}, { set: { leaseOwner: 'p', leaseExpiresAt: T0 + 60_000 } }, T0);

      world.now = T0 + 30_000;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([]);

      world.now = T0 + 60_001;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([1]);
    });

    it('resumes a job waiting for the breaker once its notBefore has passed (a dropped delayed dispatch)', async () => {
      const world = createWorld();
      await world.queue(1);
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.waitingBreaker, notBefore: T0 + 40_000 } }, T0);

      world.now = T0 + 39_999;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([]);

      world.now = T0 + 40_000;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([1]);
    });

    it('ends a job whose attempt budget is spent as failed with the reason (through the provisioner)', async () => {
      const world = createWorld({ env: { MAX_ATTEMPTS_PER_JOB: '2' } });
      await world.queue(1);
      await world.store.jobs.update(1, {}, { set: { attempt: 3, failureClass: 'transient' } }, T0);
      world.now = T0 + SETTINGS.queuedGraceMs;

      await world.reconcile();
      for (const jobId of world.dispatcher.jobs()) await world.core.provisionJob(jobId);

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.failed);
      expect(job.reason).toMatch(/attempt budget of 2 spent/);
      expect(world.launcher.launches).toEqual([]);
    });
  });

  it('asks GitHub about a job waiting longer than the check period and records a missed cancellation', async () => {
    const world = createWorld();
    await world.queue(1);
    // Waiting for the breaker for a long time; meanwhile the run was cancelled and that webhook lost.
    await world.store.jobs.update(1, {}, { set: { status: JobStatus.waitingBreaker, notBefore: T0 } }, T0);
    world.githubJob(1, 'completed', null, 'cancelled');

    world.now = T0 + SETTINGS.runningCheckEveryMs - 1;
    await world.reconcile();
    expect(world.github.count('getWorkflowJob')).toBe(0);
    expect(world.dispatcher.jobs()).toEqual([1]);
    world.dispatcher.clear();

    world.now = T0 + SETTINGS.runningCheckEveryMs;
    await world.reconcile();
    const job = await world.job(1);
    expect(job.status).toBe(JobStatus.completed);
    expect(job.conclusion).toBe('cancelled');
    expect(world.dispatcher.jobs()).toEqual([]);
  });

  describe('provisioning', () => {
    it('re-dispatches a job whose provisioner died, only after its lease expired', async () => {
      const world = createWorld();
      await world.queue(1);
      await world.store.jobs.update(
        1,
        {},
        { set: { status: JobStatus.provisioning, leaseOwner: 'dead', leaseExpiresAt: T0 + 20_000 } },
        T0,
      );

      world.now = T0 + 20_000;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([]);

      world.now = T0 + 20_001;
      await world.reconcile();
      expect(world.dispatcher.jobs()).toEqual([1]);
    });

    it('asks GitHub before resuming an expired provisioning: a job its runner already ran is recorded, not minted again', async () => {
      const world = createWorld();
      await world.queue(1);
      await world.store.jobs.update(
        1,
        {},
        { set: { status: JobStatus.provisioning, leaseOwner: 'dead', leaseExpiresAt: T0 + 20_000 } },
        T0,
      );
      world.githubJob(1, 'completed', 'jr-1-1', 'success');

      world.now = T0 + 20_001;
      await world.reconcile();

      expect((await world.job(1)).status).toBe(JobStatus.completed);
      expect(world.dispatcher.jobs()).toEqual([]);
    });

    it('launches exactly one runner when the provisioner died after minting (the 409 path)', async () => {
      const world = createWorld();
      await world.queue(1);
      // A provisioner minted jr-1-1 and died before launching it.
      await world.store.jobs.update(
        1,
        {},
        { set: { status: JobStatus.provisioning, leaseOwner: 'dead', leaseExpiresAt: T0 + 20_000 } },
        T0,
      );
      await world.github.generateJitConfig(
        { installationId: 1, scope: { kind: 'repo', owner: 'octo-org', repo: 'app' } },
        { name: 'jr-1-1', labels: [], runnerGroupId: 1, workFolder: '_work' },
      );

      world.now = T0 + 20_001;
      await world.reconcile();
      // The provisioner goes again until it settles (the first answer is an immediate retry).
      for (let i = 0; i < 5 && world.dispatcher.calls.length > 0; i++) {
        const jobs = world.dispatcher.jobs();
        world.dispatcher.clear();
        for (const jobId of jobs) await world.core.provisionJob(jobId);
      }

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.launched);
      expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-2']);
      expect([...world.github.runners.values()].map((r) => r.name)).toEqual(['jr-1-2']);
    });
  });

  describe('launched', () => {
    it('does not ask GitHub about a launched job before the start deadline', async () => {
      const world = createWorld();
      await world.launch(1);
      world.github.calls.length = 0;

      world.now = T0 + SETTINGS.launchedCheckAfterMs - 1;
      await world.reconcile();
      expect(world.github.count('getWorkflowJob')).toBe(0);
    });

    it('launches the next attempt at once when the platform no longer lists the runner and GitHub shows the job queued', async () => {
      const world = createWorld();
      await world.launch(1);
      // The process ended and nobody saw it (the server was shutting down, an event was lost).
      world.launcher.ended.add('jr-1-1');

      world.now = T0 + SETTINGS.lostLaunchGraceMs;
      const report = await world.reconcile();
      for (const jobId of world.dispatcher.jobs()) await world.core.provisionJob(jobId);

      expect(report.stuck?.lostLaunches).toEqual([1]);
      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.launched);
      expect(job.attempt).toBe(2);
      expect(job.history.map((e) => e.note).join('\n')).toMatch(/jr-1-1 is gone before it took its job/);
      expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1', 'jr-1-2']);
    });

    it('records a job GitHub shows completed when its runner is gone, and launches nothing more', async () => {
      const world = createWorld();
      await world.launch(1);
      world.launcher.ended.add('jr-1-1');
      world.githubJob(1, 'completed', 'jr-1-1', 'success');

      world.now = T0 + SETTINGS.lostLaunchGraceMs;
      await world.reconcile();
      for (const jobId of world.dispatcher.jobs()) await world.core.provisionJob(jobId);

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.completed);
      expect(job.attempt).toBe(1);
      expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1']);
    });

    it('asks nothing about a launched job whose runner is listed, or that is younger than the grace', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      world.launcher.ended.add('jr-2-1');
      world.github.calls.length = 0;

      world.now = T0 + SETTINGS.lostLaunchGraceMs - 1;
      await world.reconcile();
      expect(world.github.count('getWorkflowJob')).toBe(0);

      world.now = T0 + SETTINGS.lostLaunchGraceMs;
      const report = await world.reconcile();
      // jr-1-1 is still listed: only job 2 is asked about.
      expect(report.stuck?.lostLaunches).toEqual([2]);
      expect(world.github.count('getWorkflowJob')).toBe(1);
      expect((await world.job(1)).attempt).toBe(1);
    });

    it('leaves a stolen job to its swap window even when its runner is gone', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.store.jobs.update(1, {}, { set: { failureClass: 'stolen' } }, T0);
      world.launcher.ended.add('jr-1-1');

      world.now = T0 + SETTINGS.lostLaunchGraceMs;
      const report = await world.reconcile();
      expect(report.stuck?.lostLaunches).toEqual([]);
    });

    it('records completed from the Actions API when the webhook was missed, and retires the idle runner', async () => {
      const world = createWorld();
      await world.launch(1);
      world.githubJob(1, 'completed', null, 'cancelled');

      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      const report = await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.completed);
      expect(job.conclusion).toBe('cancelled');
      expect(job.history.at(-2)?.note).toMatch(/seen in the Actions API/);
      expect(report.stuck?.corrected).toEqual([1]);
      expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
      expect(world.github.runners.size).toBe(0);
      expect((await world.store.runners.get('jr-1-1'))?.state).toBe('stopped');
    });

    it('records running from the Actions API when in_progress was missed', async () => {
      const world = createWorld();
      await world.launch(1);
      world.githubJob(1, 'in_progress', 'jr-1-1');

      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.running);
      expect(job.ranOn).toBe('jr-1-1');
      expect(world.launcher.stopped).toEqual([]);
    });

    it('gives a replacement to a job still queued on GitHub whose runner is busy with another job', async () => {
      const world = createWorld();
      const launched = await world.launch(1);
      const registration = world.github.runners.get(launched.runnerId as number);
      if (registration) Object.assign(registration, { status: 'online', busy: true });

      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.queued);
      expect(job.attempt).toBe(2);
      expect(job.failureClass).toBe('stolen');
      expect(job.runnerName).toBeUndefined();
      expect(world.dispatcher.calls).toContainEqual({ jobId: 1, delayMs: 0 });
      // The busy runner serves the other job: it is not stopped.
      expect(world.launcher.stopped).toEqual([]);
    });

    it('fails a job GitHub no longer knows (404) with the reason and retires its runner', async () => {
      const world = createWorld();
      await world.launch(1);
      world.github.jobs.delete(1);

      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      await world.reconcile();

      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.failed);
      expect(job.reason).toMatch(/GitHub no longer knows job 1/);
      expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
    });
  });

  describe('running', () => {
    it('asks GitHub about a running job once per period and records a missed completed', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.webhook('in_progress', 1, { runnerName: 'jr-1-1' });
      const startedAt = world.now;
      world.github.calls.length = 0;

      world.now = startedAt + SETTINGS.runningCheckEveryMs - 1;
      await world.reconcile();
      expect(world.github.count('getWorkflowJob')).toBe(0);

      world.githubJob(1, 'in_progress', 'jr-1-1');
      world.now = startedAt + SETTINGS.runningCheckEveryMs;
      await world.reconcile();
      world.now += 1_000;
      await world.reconcile();
      expect(world.github.count('getWorkflowJob')).toBe(1);
      expect((await world.job(1)).status).toBe(JobStatus.running);

      world.githubJob(1, 'completed', 'jr-1-1', 'success');
      world.now = startedAt + 2 * SETTINGS.runningCheckEveryMs;
      await world.reconcile();
      const job = await world.job(1);
      expect(job.status).toBe(JobStatus.completed);
      expect(job.conclusion).toBe('success');
      // It ran on its own runner: no spare to retire.
      expect(job.history.some((h) => /spare/.test(h.note))).toBe(false);
    });

    it('keeps going when the Actions API fails for one job', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      world.githubJob(1, 'completed', null, 'cancelled');
      world.githubJob(2, 'completed', null, 'cancelled');
      world.github.failures.getWorkflowJob = [new ConditionFailedError('boom')];

      world.now = T0 + SETTINGS.launchedCheckAfterMs;
      const report = await world.reconcile();

      expect(report.stuck?.errors).toBe(1);
      expect((await world.job(2)).status).toBe(JobStatus.completed);
    });
  });
});

describe('stuckJobVerdict', () => {
  const base = {
    jobId: 1,
    runId: 1,
    owner: 'o',
    repo: 'r',
    scopeKey: 'o/r',
    installationId: 1,
    labels: [],
    attempt: 1,
    heals: 0,
    deliveryIds: [],
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    history: [],
  };

  it('never acts on terminal jobs', () => {
    for (const status of [JobStatus.completed, JobStatus.failed]) {
      expect(stuckJobVerdict({ ...base, status }, T0 + 10 * 86_400_000, SETTINGS)).toEqual({ kind: 'none' });
    }
  });

  it('uses launchedAt, not the last update, for the launched deadline', () => {
    const job = { ...base, status: JobStatus.launched, launchedAt: T0, updatedAt: T0 + 100_000 };
    expect(stuckJobVerdict(job, T0 + SETTINGS.launchedCheckAfterMs, SETTINGS).kind).toBe('ask-github');
  });

  it('treats a healing job like a queued one (dispatch once due)', () => {
    const job = { ...base, status: JobStatus.healing, notBefore: T0 + 5_000 };
    expect(stuckJobVerdict(job, T0 + 4_999, SETTINGS).kind).toBe('none');
    expect(stuckJobVerdict(job, T0 + 5_000, SETTINGS).kind).toBe('dispatch');
  });
});
