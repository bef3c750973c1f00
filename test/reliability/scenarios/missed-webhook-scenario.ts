import type { Job } from '../../../functions/domain/job.ts';
import { startWorld, type World } from '../support/reliability-world.ts';

export interface MissedSize {
  jobs: number;
  repos: number;
  /** Every n-th `queued` delivery is answered 500 (10 = 10 %). */
  failEvery: number;
  timeoutMs: number;
}

export const MISSED_FAST: MissedSize = { jobs: 20, repos: 2, failEvery: 10, timeoutMs: 60_000 };
export const MISSED_FULL: MissedSize = { jobs: 200, repos: 10, failEvery: 10, timeoutMs: 300_000 };

export interface MissedResult {
  jobs: Job[];
  /** `queued` deliveries the fault switch answered 500. */
  failedDeliveries: number;
  /** Redeliveries GitHub (the simulator) logged, per failed guid. */
  redeliveriesPerGuid: number[];
  lingering: { registrations: string[]; processes: string[] };
  elapsedMs: number;
}

/**
 * Missed webhooks, one of the reliability soak scenarios (docs/reliability.md): a fault switch answers 10 % of the `queued` deliveries 500 before they
 * reach the server, so those jobs are never recorded; GitHub does not retry. The reconciler finds them in
 * the App's delivery log and redelivers each once; every job must complete, on real sample runners.
 */
export async function runMissedWebhooks(
  size: MissedSize,
  onWorld: (world: World) => void = () => {},
): Promise<MissedResult> {
  const started = Date.now();
  const world = await startWorld({ runners: 'sample', seed: 11 });
  onWorld(world);
  let queuedSeen = 0;
  world.proxy.setFault((delivery) => {
    if (delivery.action !== 'queued') return false;
    // Only first deliveries: a redelivery carries the guid of one that failed and must get through.
    if (world.proxy.failed.some((f) => f.guid === delivery.guid)) return false;
    queuedSeen += 1;
    return queuedSeen % size.failEvery === 0;
  });
  const repos = Array.from({ length: size.repos }, (_, i) => `missed-${i}`);
  const ids = world.queue(size.jobs, repos);

  // Jobs whose `queued` was lost exist only on GitHub until the redelivery: wait for the store to know all.
  await world.settleOn(ids, () => true, size.timeoutMs);
  const jobs = await world.settle(ids, size.timeoutMs);
  const lingering = await world.waitNoLingering(20_000);
  const deliveries = world.sim.deliveries();
  const redeliveriesPerGuid = world.proxy.failed.map(
    (f) => deliveries.filter((d) => d.guid === f.guid && d.redelivery).length,
  );
  return {
    jobs,
    failedDeliveries: world.proxy.failed.length,
    redeliveriesPerGuid,
    lingering,
    elapsedMs: Date.now() - started,
  };
}
