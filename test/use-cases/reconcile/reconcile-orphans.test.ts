import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import type { GitHubTarget } from '../../../functions/ports/github.ts';
import { apiError } from '../../support/fake-github.ts';
import { createWorld, OWNER, runnerApiCalls, SETTINGS, T0 } from './reconcile-fixtures.ts';

const target: GitHubTarget = { installationId: 1, scope: { kind: 'repo', owner: OWNER, repo: 'app' } };

/** Registers a runner directly at the fake GitHub (as another fleet, a crash or a finished job leaves it). */
async function register(
  world: ReturnType<typeof createWorld>,
  name: string,
  state: { online?: boolean; busy?: boolean } = {},
) {
  const jit = await world.github.generateJitConfig(target, { name, labels: [], runnerGroupId: 1, workFolder: '_work' });
  const runner = world.github.runners.get(jit.runnerId);
  if (runner) Object.assign(runner, { status: state.online ? 'online' : 'offline', busy: state.busy ?? false });
  return jit.runnerId;
}

const names = (world: ReturnType<typeof createWorld>) => [...world.github.runners.values()].map((r) => r.name).sort();

describe('reconcile: orphans', () => {
  describe('registrations', () => {
    it('deletes offline registrations with our prefix that belong to no live job, and nothing else', async () => {
      const world = createWorld();
      await world.launch(1); // jr-1-1: the live job's runner (offline: still booting)
      await world.queue(2);
      await world.store.jobs.update(2, {}, { set: { status: JobStatus.completed } }, world.now);
      await register(world, 'jr-2-1'); // finished job, left offline
      await register(world, 'jr-1-0'); // an older attempt of a live job
      await register(world, 'jr-3-1', { online: true }); // online: not judged by the registration sweep
      await register(world, 'jr-4-1', { busy: true }); // busy: runs something
      await register(world, 'someone-elses-runner'); // other fleet
      await register(world, 'jr-baseline-octo-org-app-ab12'); // the workaround's regular runner

      world.now = T0 + 1_000;
      const report = await world.reconcile();

      expect(report.orphans?.registrationsDeleted.sort()).toEqual(['jr-1-0', 'jr-2-1']);
      expect(names(world)).toEqual([
        'jr-1-1',
        'jr-3-1',
        'jr-4-1',
        'jr-baseline-octo-org-app-ab12',
        'someone-elses-runner',
      ]);
    });

    it('deletes nothing minted for a job queued after the open jobs were read', async () => {
      const world = createWorld();
      await world.launch(1);
      const list = world.github.listRunners.bind(world.github);
      let raced = false;
      world.github.listRunners = async (t) => {
        if (!raced) {
          // Between the reconciler's read of the open jobs and its listing, job 2 is queued and minted.
          raced = true;
          await world.launch(2);
        }
        return list(t);
      };

      world.now = T0 + 1_000;
      const report = await world.reconcile();

      expect(report.orphans?.registrationsDeleted).toEqual([]);
      expect(names(world)).toEqual(['jr-1-1', 'jr-2-1']);
    });

    it('does not keep an offline registration for an open-list entry whose job has ended (a stale index entry)', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.launch(2);
      // Job 2 ran on job 1's runner, then both ended; the open list still returns the old copies.
      await world.store.jobs.update(2, {}, { set: { status: JobStatus.running, ranOn: 'jr-1-1' } }, world.now);
      const stale = await world.store.jobs.listOpen();
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.completed, ranOn: 'jr-2-1' } }, world.now);
      await world.store.jobs.update(2, {}, { set: { status: JobStatus.completed } }, world.now);
      world.store.jobs.listOpen = async () => stale;

      world.now = T0 + 1_000;
      const report = await world.reconcile();

      expect(report.openJobs).toBe(2);
      expect(report.orphans?.registrationsDeleted.sort()).toEqual(['jr-1-1', 'jr-2-1']);
      expect(names(world)).toEqual([]);
    });

    it('keeps the registration of a stolen runner while the job it took is open', async () => {
      const world = createWorld();
      await world.launch(2);
      await world.store.jobs.update(2, {}, { set: { status: JobStatus.running, ranOn: 'jr-1-1' } }, world.now);
      await register(world, 'jr-1-1');

      world.now = T0 + 1_000;
      await world.reconcile();

      expect(names(world)).toContain('jr-1-1');
    });

    it('sweeps a scope one last time after its last job ended, then stops calling GitHub', async () => {
      const world = createWorld();
      await world.launch(1);
      world.now = T0 + 1_000;
      await world.reconcile();
      expect(world.github.count('listRunners')).toBe(1);

      // The job completes (its runner is ephemeral and leaves an offline registration behind here).
      await world.webhook('completed', 1, { runnerName: 'jr-1-1', conclusion: 'success' });
      world.now += 60_000;
      await world.reconcile();
      expect(world.github.count('listRunners')).toBe(2);
      expect(names(world)).toEqual([]);

      world.github.calls.length = 0;
      for (let i = 0; i < 3; i++) {
        world.now += 60_000;
        await world.reconcile();
      }
      expect(runnerApiCalls(world.github)).toEqual([]);
    });

    it('finds a registration minted for a job that started and ended between two runs', async () => {
      const world = createWorld();
      world.now = T0 + 1_000;
      await world.reconcile(); // idle: nothing open, no scope known
      // Between two runs a job is queued and minted, its mint goes unrecorded (a crash), and another
      // runner of ours takes and finishes it: the reconciler never sees it open.
      await world.queue(5, 'other');
      await world.github.generateJitConfig(
        { installationId: 1, scope: { kind: 'repo', owner: OWNER, repo: 'other' } },
        { name: 'jr-5-1', labels: [], runnerGroupId: 1, workFolder: '_work' },
      );
      await world.webhook('completed', 5, { runnerName: 'jr-6-1', conclusion: 'success' });

      world.now += 60_000;
      const report = await world.reconcile();
      expect(report.orphans?.registrationsDeleted).toEqual(['jr-5-1']);
      expect(names(world)).toEqual([]);

      world.github.calls.length = 0;
      world.now += 60_000;
      await world.reconcile();
      expect(runnerApiCalls(world.github)).toEqual([]);
    });

    it('keeps sweeping an idle scope while a runner of ours is still online there, then stops', async () => {
      const world = createWorld();
      await world.launch(1);
      world.now = T0 + 1_000;
      await world.reconcile();
      // A runner of ours stays online after the last job ended (it is being stopped, say).
      const stray = await register(world, 'jr-9-1', { online: true });
      await world.webhook('completed', 1, { runnerName: 'jr-1-1', conclusion: 'success' });

      world.now += 60_000;
      await world.reconcile();
      expect(names(world)).toEqual(['jr-9-1']);
      const registration = world.github.runners.get(stray);
      if (registration) registration.status = 'offline';
      world.now += 60_000;
      await world.reconcile();
      expect(names(world)).toEqual([]);

      world.github.calls.length = 0;
      world.now += 60_000;
      await world.reconcile();
      expect(runnerApiCalls(world.github)).toEqual([]);
    });

    it('sweeps an idle scope again when its last listing failed', async () => {
      const world = createWorld();
      await world.launch(1);
      world.now = T0 + 1_000;
      await world.reconcile();
      await world.webhook('completed', 1, { runnerName: 'other', conclusion: 'success' });
      await register(world, 'jr-1-0');
      world.github.failures.listRunners = [apiError(502, 'bad gateway', 'GET /repos/{owner}/{repo}/actions/runners')];

      world.now += 60_000;
      await world.reconcile();
      expect(names(world)).toContain('jr-1-0');
      world.now += 60_000;
      await world.reconcile();
      expect(names(world)).toEqual([]);
    });

    it('makes no call for a scope whose breaker is open', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.store.breakers.put(
        { scopeKey: `${OWNER}/app`, consecutiveFailures: 3, opens: 1, openUntil: T0 + 60_000 },
        0,
        world.now,
      );
      world.github.calls.length = 0;

      // Past the scope guard's read cache (5 s), well inside the open window.
      world.now = T0 + 10_000;
      await world.reconcile();

      expect(world.github.count('listRunners')).toBe(0);
    });
  });

  describe('launches', () => {
    it('retires a launch whose job ended: its registration first (a runner that took a job meanwhile is kept), then its process', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.failed, reason: 'test' } }, world.now);
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

      world.now = T0 + SETTINGS.orphanGraceMs;
      const report = await world.reconcile();

      expect(report.orphans?.launchesStopped).toEqual(['jr-1-1']);
      expect(order[0]).toMatch(/^delete \d+$/);
      expect(order[1]).toBe('stop rec-jr-1-1');
      expect(names(world)).toEqual([]);
      expect((await world.store.runners.get('jr-1-1'))?.state).toBe('stopped');
    });

    it('stops the launch of an older attempt but not the current one', async () => {
      const world = createWorld();
      await world.launch(1);
      // A robbed or healed job moved on to attempt 2, whose runner is launched; attempt 1 lingers.
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.queued, attempt: 2 } }, world.now);
      await world.core.provisionJob(1);

      world.now = T0 + SETTINGS.orphanGraceMs;
      const report = await world.reconcile();

      expect(report.orphans?.launchesStopped).toEqual(['jr-1-1']);
      expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
      expect((await world.job(1)).runnerName).toBe('jr-1-2');
    });

    it('keeps a launch of an ended job whose runner GitHub shows busy (it runs a job we were not told about)', async () => {
      const world = createWorld();
      const job = await world.launch(1);
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.completed } }, world.now);
      const registration = world.github.runners.get(job.runnerId as number);
      if (registration) Object.assign(registration, { status: 'online', busy: true });

      world.now = T0 + SETTINGS.orphanGraceMs;
      await world.reconcile();

      expect(world.launcher.stopped).toEqual([]);
    });

    it('keeps a launch younger than the grace even if its job looks ended', async () => {
      const world = createWorld();
      await world.launch(1);
      await world.store.jobs.update(1, {}, { set: { status: JobStatus.completed } }, world.now);
      world.launcher.listActive = async () => [{ launchId: 'rec-jr-1-1', runnerName: 'jr-1-1', startedAt: T0 }];

      world.now = T0 + SETTINGS.orphanGraceMs - 1;
      await world.reconcile();
      expect(world.launcher.stopped).toEqual([]);

      world.now = T0 + SETTINGS.orphanGraceMs;
      await world.reconcile();
      expect(world.launcher.stopped).toEqual(['rec-jr-1-1']);
    });

    it('never touches launches whose names are not JIT names of ours', async () => {
      const world = createWorld();
      world.launcher.listActive = async () => [
        { launchId: 'rec-regular', runnerName: 'jr-baseline-octo-org-app-1', startedAt: 0 },
        { launchId: 'rec-other', runnerName: 'other-7-1', startedAt: 0 },
      ];

      world.now = T0 + 600_000;
      await world.reconcile();

      expect(world.launcher.stopped).toEqual([]);
    });
  });
});
