import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { RECONCILE_LOCK, reconcileSettings } from '../../../functions/use-cases/reconcile/reconcile.ts';
import { createWorld, runnerApiCalls, SETTINGS, T0 } from './reconcile-fixtures.ts';

describe('reconcile', () => {
  it('does nothing while another reconciler holds the lease', async () => {
    const world = createWorld();
    await world.queue(1);
    world.now = T0 + SETTINGS.queuedGraceMs + 1;
    await world.store.locks.acquire(RECONCILE_LOCK, 'other-process', world.now, SETTINGS.leaseMs);

    const report = await world.reconcile();

    expect(report.ran).toBe(false);
    expect(world.dispatcher.calls).toEqual([]);
    expect(world.github.calls).toEqual([]);
  });

  it('lets exactly one of two concurrent runs act', async () => {
    const store = createMemoryStore();
    const a = createWorld({ store, owner: 'process-a' });
    const b = createWorld({ store, owner: 'process-b' });
    await a.queue(1);
    a.now = b.now = T0 + SETTINGS.queuedGraceMs + 1;

    const reports = await Promise.all([a.reconcile(), b.reconcile()]);

    expect(reports.map((r) => r.ran).sort()).toEqual([false, true]);
    expect([...a.dispatcher.jobs(), ...b.dispatcher.jobs()]).toEqual([1]);
  });

  it('takes over the lease of a reconciler that died once the lease expires', async () => {
    const world = createWorld();
    await world.store.locks.acquire(RECONCILE_LOCK, 'dead-process', T0, SETTINGS.leaseMs);

    world.now = T0 + SETTINGS.leaseMs;
    expect((await world.reconcile()).ran).toBe(false);
    world.now = T0 + SETTINGS.leaseMs + 1;
    expect((await world.reconcile()).ran).toBe(true);
  });

  it('releases its lease after a run so the next scheduled run in any process may act', async () => {
    const store = createMemoryStore();
    const a = createWorld({ store, owner: 'process-a' });
    const b = createWorld({ store, owner: 'process-b' });

    expect((await a.reconcile()).ran).toBe(true);
    expect((await b.reconcile()).ran).toBe(true);
  });

  it('makes no runner API call when there is no job work (only the delivery log is read)', async () => {
    const world = createWorld();
    for (let i = 0; i < 3; i++) {
      world.now += 60_000;
      await world.reconcile();
    }
    expect(world.github.count('listHookDeliveries')).toBe(3);
    expect(runnerApiCalls(world.github)).toEqual([]);
    expect(world.launcher.stopped).toEqual([]);
  });

  it('stops no runner when the open jobs cannot be listed (they would all look orphaned)', async () => {
    const world = createWorld();
    await world.launch(1);
    world.now += 600_000;
    world.store.failNext('jobs.listOpen');

    const report = await world.reconcile();

    expect(report.failedSteps).toEqual(['list-open']);
    expect(world.launcher.stopped).toEqual([]);
    expect(world.github.count('deleteRunner')).toBe(0);
  });

  it('goes on with the other steps when one step fails', async () => {
    const world = createWorld();
    await world.queue(1);
    world.now = T0 + SETTINGS.queuedGraceMs + 1;
    world.github.failures.listHookDeliveries = [new Error('GitHub unreachable')];

    const report = await world.reconcile();

    expect(report.failedSteps).toEqual(['deliveries']);
    expect(world.dispatcher.jobs()).toEqual([1]);
  });
});

describe('reconcileSettings', () => {
  const timeouts = (reconcileIntervalSeconds: number, runnerStartSeconds = 120) => ({
    timeouts: { reconcileIntervalSeconds, runnerStartSeconds, baselineOnlineSeconds: 60 },
  });

  it('gives the production deadlines for the default one-minute interval', () => {
    expect(reconcileSettings(timeouts(60))).toEqual({
      leaseMs: 120_000,
      queuedGraceMs: 30_000,
      launchedCheckAfterMs: 120_000,
      runningCheckEveryMs: 600_000,
      orphanGraceMs: 120_000,
      swapGraceMs: 15_000,
      lostLaunchGraceMs: 15_000,
    });
  });

  it('shortens the deadlines with the interval, down to a floor', () => {
    const s = reconcileSettings(timeouts(1, 5));
    expect(s.queuedGraceMs).toBe(2_000);
    expect(s.runningCheckEveryMs).toBe(10_000);
    expect(s.orphanGraceMs).toBe(5_000);
    expect(s.lostLaunchGraceMs).toBe(5_000);
    expect(s.launchedCheckAfterMs).toBe(5_000);
    expect(s.leaseMs).toBe(10_000);
    expect(s.swapGraceMs).toBe(5_000);
  });
});
