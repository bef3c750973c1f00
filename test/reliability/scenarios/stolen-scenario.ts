import type { Job } from '../../../functions/domain/job.ts';
import { LABELS, mintsByJob, OWNER, startWorld, type World } from '../support/reliability-world.ts';

export interface StolenResult {
  first: Job;
  second: Job;
  /** Who ran what on the simulator. */
  ranOn: { first: string | null; second: string | null };
  mints: string[];
  lingering: { registrations: string[]; processes: string[] };
}

/**
 * Stolen runner, one of the reliability soak scenarios (docs/reliability.md): two jobs with the same labels; the first job's runner takes the second
 * job. Real runners (local launcher + sample runner) against the simulator, whose broker hands a runner
 * the oldest queued job its labels match, exactly like GitHub.
 *
 * The order is forced: the second job is queued on "GitHub" first (so it is the oldest), the first job's
 * runner is launched, and the second job's own launch is held back until the first job's runner has
 * taken the second job.
 */
export async function runStolen(onWorld: (world: World) => void = () => {}): Promise<StolenResult> {
  const world = await startWorld({ runners: 'sample', seed: 7 });
  onWorld(world);
  const repo = 'stolen';
  const second = world.sim.queueJob({ owner: OWNER, repo, labels: LABELS, durationMs: 1_500 });
  const secondId = (second.workflow_job as { id: number }).id;
  const [firstId] = world.queue(1, [repo], { durationMs: 1_500 });
  if (firstId === undefined) throw new Error('no job queued');

  world.flaky.beforeLaunch = async (request) => {
    if (request.jobId === secondId) {
      await world.sim.waitForJob(secondId, (job) => job.runnerName === `jr-${firstId}-1`, 20_000);
    }
  };
  // The second job's `queued` arrives once the first job is launched (its runner is starting).
  await world.settleOn([firstId], (job) => job.runnerName !== undefined, 20_000);
  await world.post(second, `queued-${secondId}`);

  const [first, secondJob] = await world.settle([firstId, secondId], 60_000);
  const lingering = await world.waitNoLingering(20_000);
  const sim = { first: world.sim.job(firstId), second: world.sim.job(secondId) };
  return {
    first: first as Job,
    second: secondJob as Job,
    ranOn: { first: sim.first?.runnerName ?? null, second: sim.second?.runnerName ?? null },
    mints: [...mintsByJob(world.sim).values()].flat().sort(),
    lingering,
  };
}
