import { JobStatus } from '../../../functions/domain/job-status.ts';
import { mintsByJob, startWorld, type World } from '../support/reliability-world.ts';
import { pool } from './pool.ts';

export interface LoadSize {
  jobs: number;
  repos: number;
  duplicates: number;
  /** Concurrent duplicate posts. */
  concurrency: number;
  timeoutMs: number;
}

export const LOAD_FAST: LoadSize = { jobs: 200, repos: 10, duplicates: 400, concurrency: 50, timeoutMs: 90_000 };
export const LOAD_FULL: LoadSize = { jobs: 1000, repos: 20, duplicates: 2000, concurrency: 100, timeoutMs: 600_000 };

export interface LoadResult {
  jobs: number;
  repos: number;
  duplicates: number;
  mints: number;
  launches: number;
  /** Jobs not `launched` in the store at the end. */
  lost: number[];
  /** Jobs minted or launched more than once. */
  doubled: number[];
  /** Answers to the duplicate posts, by status. */
  duplicateAnswers: Record<number, number>;
  /** Deliveries (the simulator's own and duplicates) answered 5xx. */
  serverErrors: number;
  /** The simulator's deliveries not answered within GitHub's 10 s (status 0), e.g. on an overloaded machine. */
  timeouts: number;
  elapsedMs: number;
}

/**
 * Load, one of the reliability soak scenarios (docs/reliability.md): distinct queued jobs across repositories, delivered by the simulator as GitHub
 * would, plus duplicate deliveries of the same jobs under new delivery ids posted concurrently straight
 * to the local server. Runners are the RecordingLauncher: the figures are mints and launches.
 */
export async function runLoad(size: LoadSize, onWorld: (world: World) => void = () => {}): Promise<LoadResult> {
  const started = Date.now();
  const world = await startWorld({ runners: 'recording' });
  onWorld(world);
  const repos = Array.from({ length: size.repos }, (_, i) => `load-${i}`);

  const ids = world.queue(size.jobs, repos);
  const answers: number[] = [];
  await pool(size.duplicates, size.concurrency, async (i) => {
    const jobId = ids[i % ids.length] as number;
    answers.push(await world.post(world.payloads.get(jobId), `dup-${i}-${jobId}`));
  });

  await world.settleOn(ids, (job) => job.status === JobStatus.launched, size.timeoutMs).catch(() => undefined);
  await world.sim.settled();
  await world.app.dispatcher.idle();

  const mints = mintsByJob(world.sim);
  const launches = new Map<number, number>();
  for (const l of world.recording?.launches ?? []) launches.set(l.jobId, (launches.get(l.jobId) ?? 0) + 1);
  const lost: number[] = [];
  for (const id of ids) {
    const job = await world.app.store.jobs.get(id);
    if (job?.status !== JobStatus.launched) lost.push(id);
  }
  const doubled = ids.filter((id) => (mints.get(id)?.length ?? 0) > 1 || (launches.get(id) ?? 0) > 1);
  const duplicateAnswers: Record<number, number> = {};
  for (const status of answers) duplicateAnswers[status] = (duplicateAnswers[status] ?? 0) + 1;
  const deliveries = world.sim.deliveries();
  const serverErrors = deliveries.filter((d) => d.statusCode >= 500).length + answers.filter((s) => s >= 500).length;
  const timeouts = deliveries.filter((d) => d.statusCode === 0).length;

  return {
    jobs: size.jobs,
    repos: size.repos,
    duplicates: size.duplicates,
    mints: [...mints.values()].reduce((n, names) => n + names.length, 0),
    launches: world.recording?.launches.length ?? 0,
    lost,
    doubled,
    duplicateAnswers,
    serverErrors,
    timeouts,
    elapsedMs: Date.now() - started,
  };
}
