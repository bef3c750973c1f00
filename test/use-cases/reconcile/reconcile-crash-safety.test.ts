import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import type { GitHubTarget } from '../../../functions/ports/github.ts';
import type { LaunchRequest } from '../../../functions/ports/launcher.ts';
import { StoreUnavailableError } from '../../../functions/ports/store.ts';
import { createWorld, OWNER, T0 } from './reconcile-fixtures.ts';

const target: GitHubTarget = { installationId: 1, scope: { kind: 'repo', owner: OWNER, repo: 'app' } };

describe('provisioner crash safety', () => {
  it('adopts a runner that was launched but is still booting when a crash lost the record (no second launch)', async () => {
    const world = createWorld();
    await world.queue(1);
    // The earlier provisioner minted jr-1-1 and launched it, then died before writing `launched`.
    const minted = await world.github.generateJitConfig(target, {
      name: 'jr-1-1',
      labels: [],
      runnerGroupId: 1,
      workFolder: '_work',
    });
    await world.launcher.launch({ runnerName: 'jr-1-1', jobId: 1, attempt: 1 } as LaunchRequest);

    await world.core.provisionJob(1);

    const job = await world.job(1);
    expect(job.status).toBe(JobStatus.launched);
    expect(job.runnerName).toBe('jr-1-1');
    expect(job.runnerId).toBe(minted.runnerId);
    expect(job.launchId).toBe('rec-jr-1-1');
    expect(world.launcher.launches).toHaveLength(1);
    expect(world.github.count('deleteRunner')).toBe(0);
  });

  it('still deletes a minted runner that was never launched and mints the next attempt', async () => {
    const world = createWorld();
    await world.queue(1);
    await world.github.generateJitConfig(target, { name: 'jr-1-1', labels: [], runnerGroupId: 1, workFolder: '_work' });

    expect(await world.core.provisionJob(1)).toBe('retry');
    expect(await world.core.provisionJob(1)).toBe('launched');

    expect(world.launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-2']);
  });

  it('stops the runner it just launched when the job was cancelled during the launch', async () => {
    const world = createWorld();
    await world.queue(1);
    const launch = world.launcher.launch.bind(world.launcher);
    world.launcher.launch = async (request) => {
      const answer = await launch(request);
      await world.webhook('completed', 1, { runnerName: null, conclusion: 'cancelled' });
      return answer;
    };

    await world.core.provisionJob(1);

    expect((await world.job(1)).status).toBe(JobStatus.completed);
    expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
    expect(world.github.runners.size).toBe(0);
  });

  it('records the runner on a job that started elsewhere during the launch, so the spare is stopped at completed', async () => {
    const world = createWorld();
    await world.queue(1);
    const launch = world.launcher.launch.bind(world.launcher);
    world.launcher.launch = async (request) => {
      const answer = await launch(request);
      await world.webhook('in_progress', 1, { runnerName: 'other-runner' });
      return answer;
    };

    await world.core.provisionJob(1);
    const running = await world.job(1);
    expect(running.status).toBe(JobStatus.running);
    expect(running.runnerName).toBe('jr-1-1');
    expect(running.launchId).toBe('rec-jr-1-1');

    await world.webhook('completed', 1, { runnerName: 'other-runner', conclusion: 'success' });
    expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
  });

  it('writes the launch even when the store throttles that write (a lost record would mean a second launch)', async () => {
    const world = createWorld();
    await world.queue(1);
    const launch = world.launcher.launch.bind(world.launcher);
    world.launcher.launch = async (request) => {
      const answer = await launch(request);
      world.store.failNext('jobs.update', new StoreUnavailableError('throttled (injected)'), 2);
      return answer;
    };

    expect(await world.core.provisionJob(1)).toBe('launched');

    const job = await world.job(1);
    expect(job.status).toBe(JobStatus.launched);
    expect(job.launchId).toBe('rec-jr-1-1');
    expect(world.launcher.launches).toHaveLength(1);
  });

  it('survives a store failure while closing a breaker after a successful mint (no unhandled rejection)', async () => {
    const world = createWorld();
    await world.store.breakers.put({ scopeKey: `${OWNER}/app`, consecutiveFailures: 1, opens: 0, openUntil: 0 }, 0, T0);
    await world.queue(1);
    world.store.failNext('breakers.put', new StoreUnavailableError('throttled'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      expect(await world.core.provisionJob(1)).toBe('launched');
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(world.logger.text()).toMatch(/cannot record the scope success/);
  });
});
