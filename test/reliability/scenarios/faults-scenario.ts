import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../../functions/domain/job.ts';
import { scopeKey } from '../../../functions/domain/scope.ts';
import { doubledLaunches, mintsByJob, OWNER, startWorld, type World } from '../support/reliability-world.ts';

export const Fault = {
  serverErrors: 'simulator 500s (half the calls of the scope)',
  badGateway: 'simulator 502 on runner endpoints',
  unavailable: 'simulator 503 on runner endpoints',
  timeouts: 'GitHub requests time out (latency above the client timeout)',
  secondaryRateLimit: '403 secondary rate limit with retry-after',
  breakerOpen: 'breaker open',
  storeThrottling: 'store throttling (ProvisionedThroughputExceededException)',
  storeRestart: 'store restart',
  launcherFailures: 'launcher failures',
  webhookFailures: 'queued deliveries answered 500',
} as const;
export type Fault = (typeof Fault)[keyof typeof Fault];

export interface FaultsSize {
  jobsPerFault: number;
  /** Jobs of the mixed run (every fault at once, at `mixedRate`). */
  mixedJobs: number;
  mixedRate: number;
  /** How long a fault stays on while its jobs come in. */
  windowMs: number;
  timeoutMs: number;
}

export const FAULTS_FAST: FaultsSize = {
  jobsPerFault: 3,
  mixedJobs: 10,
  mixedRate: 0.2,
  windowMs: 2_500,
  timeoutMs: 60_000,
};
export const FAULTS_FULL: FaultsSize = {
  jobsPerFault: 20,
  mixedJobs: 100,
  mixedRate: 0.2,
  windowMs: 8_000,
  timeoutMs: 300_000,
};

export interface FaultRunResult {
  fault: string;
  jobs: number;
  completed: number;
  /** Failed jobs, each with its reason. */
  failed: { jobId: number; reason: string }[];
  /** Jobs not terminal in the store by the deadline. */
  lost: number[];
  /** Their histories, one line each. */
  lostStories: string[];
  /** Jobs launched twice (see `doubledLaunches`). */
  doubled: number[];
  /** Mints beyond one per job (re-mints after a failed launch, replacements), all gone at the end. */
  extraMints: number;
  elapsedMs: number;
}

export interface FaultsResult {
  runs: FaultRunResult[];
  lingering: { registrations: string[]; processes: string[] };
  /** Faults that were really injected (counters from the injectors). */
  injected: { storeThrottled: number; launchFailures: number; webhooksFailed: number };
}

/** World settings that let a fault clear within a test: short breaker windows, short request timeouts. */
export const FAULT_ENV = { BREAKER_MAX_BACKOFF_SECONDS: '3', RUNNER_START_TIMEOUT_SECONDS: '15' };

async function measure(world: World, fault: string, ids: number[], timeoutMs: number, started: number) {
  let jobs: Job[];
  const lost: number[] = [];
  const lostStories: string[] = [];
  try {
    jobs = await world.settle(ids, timeoutMs);
  } catch {
    jobs = [];
    for (const id of ids) {
      const job = await world.app.store.jobs.get(id).catch(() => undefined);
      if (job && (job.status === 'completed' || job.status === 'failed')) jobs.push(job);
      else {
        lost.push(id);
        // What a lost job went through, for the failure message.
        lostStories.push(
          `${id} ${job?.status ?? 'unknown'}: ${(job?.history ?? []).map((e) => `${e.status} ${e.note}`).join(' | ')}`,
        );
      }
    }
  }
  if (lost.length > 0) {
    // The whole capture log, so a lost job can be followed after the run (its path is in the message).
    const file = join(tmpdir(), `jit-runners-faults-${Date.now()}.log`);
    await writeFile(file, world.logger.timed());
    lostStories.push(`log: ${file}`);
  }
  const mints = mintsByJob(world.sim);
  const doubled = doubledLaunches(world.flaky.launched, jobs);
  return {
    fault,
    jobs: ids.length,
    completed: jobs.filter((j) => j.status === 'completed').length,
    failed: jobs.filter((j) => j.status === 'failed').map((j) => ({ jobId: j.jobId, reason: j.reason ?? '' })),
    lost,
    lostStories,
    doubled,
    extraMints: ids.reduce((n, id) => n + Math.max(0, (mints.get(id)?.length ?? 0) - 1), 0),
    elapsedMs: Date.now() - started,
  } satisfies FaultRunResult;
}

/**
 * Faults, one of the reliability soak scenarios (docs/reliability.md): each fault on its own (its own repository, so simulator faults touch only its
 * jobs), then all of them mixed at a set rate. Real sample runners, the real Octokit adapter with a short
 * timeout, the embedded store behind a throttleable client. Every job must end `completed` or `failed`
 * with a reason; none lost, none run twice, no runner left behind.
 */
export async function runFaults(size: FaultsSize, onWorld: (world: World) => void = () => {}): Promise<FaultsResult> {
  const world = await startWorld({
    runners: 'sample',
    faultyStore: true,
    github: { timeoutMs: 1_000, retryBaseDelayMs: 50 },
    env: FAULT_ENV,
    seed: 23,
  });
  onWorld(world);
  const scope = (repo: string) => scopeKey({ kind: 'repo', owner: OWNER, repo });
  const hold = () => new Promise((resolve) => setTimeout(resolve, size.windowMs));
  const runs: FaultRunResult[] = [];
  let webhooksFailed = 0;

  async function one(fault: Fault, on: () => void | Promise<void>, off: () => void) {
    const started = Date.now();
    const repo = `fault-${runs.length}`;
    await on();
    const ids = world.queue(size.jobsPerFault, [repo]);
    await hold();
    off();
    runs.push(await measure(world, fault, ids, size.timeoutMs, started));
  }
  const sim = world.sim;
  const repoOf = () => `fault-${runs.length}`;

  await one(
    Fault.serverErrors,
    () => sim.setFault(scope(repoOf()), { failRate: 0.5 }),
    () => sim.clearFault(),
  );
  await one(
    Fault.badGateway,
    () => sim.setFault(scope(repoOf()), { apiStatus: 502, times: 6 }),
    () => sim.clearFault(),
  );
  await one(
    Fault.unavailable,
    () => sim.setFault(scope(repoOf()), { apiStatus: 503, times: 6 }),
    () => sim.clearFault(),
  );
  await one(
    Fault.timeouts,
    () => sim.setLatency(1_500),
    () => sim.setLatency(0),
  );
  await one(
    Fault.secondaryRateLimit,
    () => sim.setFault(scope(repoOf()), { rateLimit: { retryAfterSeconds: 1 }, times: 4 }),
    () => sim.clearFault(),
  );
  await one(
    Fault.breakerOpen,
    () => sim.setFault(scope(repoOf()), { breakerOpen: true, times: 6 }),
    () => sim.clearFault(),
  );
  const dynamo = world.dynamo;
  if (!dynamo) throw new Error('faulty store expected');
  await one(
    Fault.storeThrottling,
    () => {
      dynamo.throttleRate = 0.3;
    },
    () => {
      dynamo.throttleRate = 0;
    },
  );
  await one(
    Fault.storeRestart,
    () => {
      // Restarted while the jobs come in: requests in between fail to connect.
      setTimeout(() => void dynamo.restart(500).catch(() => undefined), 200);
    },
    () => {},
  );
  await one(
    Fault.launcherFailures,
    () => {
      world.flaky.failRate = 0.5;
    },
    () => {
      world.flaky.failRate = 0;
    },
  );
  let queuedSeen = 0;
  await one(
    Fault.webhookFailures,
    () =>
      world.proxy.setFault((d) => {
        if (d.action !== 'queued' || world.proxy.failed.some((f) => f.guid === d.guid)) return false;
        queuedSeen += 1;
        const fail = queuedSeen % 2 === 1;
        if (fail) webhooksFailed += 1;
        return fail;
      }),
    () => world.proxy.setFault(undefined),
  );

  // ── all at once, at a set rate ──
  {
    const started = Date.now();
    const repo = 'fault-mixed';
    const rate = size.mixedRate;
    sim.setFault(scope(repo), { failRate: rate });
    dynamo.throttleRate = rate / 4;
    world.flaky.failRate = rate;
    world.proxy.setFault((d) => {
      if (d.action !== 'queued' || world.proxy.failed.some((f) => f.guid === d.guid)) return false;
      const fail = world.random() < rate / 2;
      if (fail) webhooksFailed += 1;
      return fail;
    });
    const ids = world.queue(size.mixedJobs, [repo]);
    setTimeout(() => void dynamo.restart(300).catch(() => undefined), size.windowMs / 3);
    setTimeout(() => sim.setLatency(1_500), size.windowMs / 2);
    await hold();
    sim.setLatency(0);
    sim.clearFault();
    dynamo.throttleRate = 0;
    world.flaky.failRate = 0;
    world.proxy.setFault(undefined);
    runs.push(await measure(world, 'mixed (all of the above at once)', ids, size.timeoutMs, started));
  }

  const lingering = await world.waitNoLingering(30_000);
  return {
    runs,
    lingering,
    injected: { storeThrottled: dynamo.throttled, launchFailures: world.flaky.failures, webhooksFailed },
  };
}
