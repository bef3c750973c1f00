import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/config/config.ts';
import { discoveryGraceMs } from '../../functions/use-cases/reconcile/discover-queued-jobs.ts';
import { doubledLaunches, LABELS, OWNER, startWorld, type World } from './support/reliability-world.ts';

const REPOS = ['discover-0', 'discover-1'];
/** Delivered jobs get their own repository: a JIT runner takes any queued job of its repository (oldest first). */
const DELIVERED_REPO = 'discover-delivered';

describe('discovery of queued jobs (DISCOVER_QUEUED_JOBS, simulator, real sample runners)', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('completes jobs whose queued webhook GitHub never sent, not even as a failed delivery', async () => {
    world = await startWorld({
      runners: 'sample',
      seed: 21,
      env: { DISCOVER_QUEUED_JOBS: [...REPOS, DELIVERED_REPO].map((repo) => `${OWNER}/${repo}`).join(',') },
    });
    const w = world;
    // Never delivered: the simulator records no `queued` delivery for these, so there is nothing to redeliver.
    const silent = [0, 1, 2].map(
      (i) =>
        (w.sim.queueJob({ owner: OWNER, repo: REPOS[i % 2] as string, labels: LABELS }).workflow_job as { id: number })
          .id,
    );
    // Delivered as usual, in an opted-in repository: discovery must leave them alone (never noted discovered).
    const delivered = w.queue(2, [DELIVERED_REPO]);

    const jobs = await w.settle([...silent, ...delivered], 90_000);

    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill('completed'));
    const queuedDeliveries = w.sim.deliveries().filter((d) => d.action === 'queued');
    expect(queuedDeliveries).toHaveLength(delivered.length);
    expect(w.sim.deliveries().filter((d) => d.redelivery)).toEqual([]);
    for (const job of jobs) {
      const discovered = job.history.some((h) => h.note.startsWith('discovered in the Actions API'));
      expect({ jobId: job.jobId, discovered }).toEqual({ jobId: job.jobId, discovered: silent.includes(job.jobId) });
    }
    // Each silent job waited at least the grace before discovery recorded it.
    // The world reconciles every second (RECONCILE_INTERVAL_SECONDS=1).
    const grace = discoveryGraceMs(parseConfig({ env: { RECONCILE_INTERVAL_SECONDS: '1' } }));
    for (const job of jobs.filter((j) => silent.includes(j.jobId))) {
      const queuedAt = w.sim.job(job.jobId)?.createdAt ?? 0;
      expect(job.createdAt - queuedAt).toBeGreaterThanOrEqual(grace);
      expect(job.deliveryIds.every((id) => id.startsWith('discovered:run-'))).toBe(true);
    }
    expect(doubledLaunches(w.flaky.launched, jobs)).toEqual([]);
    expect(await w.waitNoLingering(20_000)).toEqual({ registrations: [], processes: [] });
  }, 150_000);
});
