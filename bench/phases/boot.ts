import { type BenchServices, type Latencies, SERVED_LABELS, startBenchApp } from '../bench-env.ts';
import { type BootLatencies, SimulatedBootLauncher } from '../boot-launcher.ts';
import { DeliveryFactory } from '../deliveries.ts';
import type { PhaseResult } from '../phase.ts';
import { round, summarize } from '../stats.ts';

export interface BootSettings {
  latencies: Latencies;
  boot: Omit<BootLatencies, 'launchMs'>;
  repos: readonly string[];
  /** `warm` of the warm pool; the burst is twice this. */
  warmSize: number;
  /** Jobs timed on the cold pool (delivered at once, while the warm pool boots). */
  coldJobs: number;
  /** Rounds of `warmSize` jobs on the full warm pool (each waits for the refill). */
  warmRounds: number;
  firstJobId: number;
  timeoutMs: number;
}

const COLD_POOL = 'cold';
const WARM_POOL = 'warm';
const WARM_LABELS = [...SERVED_LABELS, 'warm'];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Queued → running on a simulated platform (docs/performance.md "Boot"): a cold pool and a warm pool
 * (`warm: N`) on a launcher that sleeps the platform's latencies (launch, cold boot, runner start, hand-off
 * read) and then opens a broker session at the GitHub simulator with the runner's minted credential. A job's
 * time is the webhook's send → that session as the simulator saw it (one clock: both processes run on this
 * machine). `warm_pickup_ratio` divides the warm p50 by its physical floor: one store write + one JIT mint +
 * the hand-off read + the runner's start. `warm_hit_rate`: of a burst of 2 N jobs, the share handed to a warm
 * runner that had booted; every job of the phase must get exactly one runner, with its own credential.
 */
export async function runBoot(services: BenchServices, settings: BootSettings): Promise<PhaseResult> {
  const latencies: BootLatencies = { launchMs: settings.latencies.launchMs, ...settings.boot };
  const launcher = new SimulatedBootLauncher(latencies);
  const pools = [
    { name: COLD_POOL, labels: [...SERVED_LABELS] },
    { name: WARM_POOL, labels: WARM_LABELS, warm: settings.warmSize },
  ];
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'boot',
    launcher,
    reconcile: true,
    env: {
      RUNNER_POOLS: JSON.stringify(pools),
      RECONCILE_INTERVAL_SECONDS: '1',
      RUNNER_START_TIMEOUT_SECONDS: '3600',
    },
  });
  const failures: string[] = [];
  const factory = (labels: readonly string[]) => new DeliveryFactory({ ...bench.deliveries, servedLabels: labels });
  const cold = factory(SERVED_LABELS);
  const warm = factory(WARM_LABELS);
  const sentAt = new Map<number, number>();
  let nextJob = settings.firstJobId;
  const send = async (f: DeliveryFactory, count: number): Promise<number[]> => {
    const ids = Array.from({ length: count }, () => nextJob++);
    await Promise.all(
      ids.map(async (jobId) => {
        const body = f.body(jobId);
        sentAt.set(jobId, Date.now());
        const answer = await fetch(bench.webhookUrl, { method: 'POST', headers: f.sign(body), body });
        if (answer.status !== 202) failures.push(`boot: job ${jobId} answered ${answer.status}`);
      }),
    );
    return ids;
  };
  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + settings.timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`boot: ${what} not reached in ${settings.timeoutMs} ms`);
      await sleep(20);
    }
  };
  const sessions = async () =>
    new Map(
      (await services.github.call<{ runnerName: string; at: number }[]>('sessions')).map((s) => [s.runnerName, s.at]),
    );
  const nameOf = (jobId: number) => `jr-${jobId}-1`;
  const polled = async (ids: readonly number[]) => {
    const seen = await sessions();
    return ids.every((id) => seen.has(nameOf(id)));
  };
  const latencyOf = (seen: Map<string, number>, ids: readonly number[]) =>
    ids.map((id) => (seen.get(nameOf(id)) ?? Number.NaN) - (sentAt.get(id) ?? Number.NaN));

  try {
    // Cold jobs while the warm pool boots (the server's start-up pass boots it).
    const coldIds = await send(cold, settings.coldJobs);
    await until('the cold runners polled', () => polled(coldIds));
    const warmIds: number[] = [];
    for (let r = 0; r < settings.warmRounds; r++) {
      await until('the warm pool full', () => launcher.readyWarm() >= settings.warmSize);
      const ids = await send(warm, settings.warmSize);
      await until('the warm runners polled', () => polled(ids));
      warmIds.push(...ids);
    }
    await until('the warm pool full before the burst', () => launcher.readyWarm() >= settings.warmSize);
    const burstIds = await send(warm, 2 * settings.warmSize);
    await until('every runner of the burst polled', () => polled(burstIds));
    await launcher.settled();
    await bench.app.dispatcher.idle();

    const seen = await sessions();
    const all = [...coldIds, ...warmIds, ...burstIds];
    // Exactly once, with its own credential: one runner per job, its session opened by the runner minted for it.
    const served = [...launcher.coldLaunches, ...launcher.handoffs];
    for (const id of all) {
      const n = served.filter((name) => name === nameOf(id)).length;
      if (n !== 1) failures.push(`boot: job ${id} got ${n} runners`);
    }
    for (const runner of launcher.runners) {
      if (runner.sessionStatus !== 201 || runner.sessionFor !== runner.runnerName) {
        failures.push(
          `boot: runner ${runner.runnerName} polled as ${runner.sessionFor ?? 'nobody'} (${runner.sessionStatus ?? runner.error})`,
        );
      }
    }
    const wronglyCold = warmIds.filter((id) => !launcher.readyHandoffs.has(nameOf(id)));
    if (wronglyCold.length > 0)
      failures.push(`boot: ${wronglyCold.length} jobs of a full warm pool were not served warm`);

    const coldSummary = summarize(latencyOf(seen, coldIds));
    const warmSummary = summarize(latencyOf(seen, warmIds));
    const burstHits = burstIds.filter((id) => launcher.readyHandoffs.has(nameOf(id))).length;
    const burstBooting = burstIds.filter(
      (id) => launcher.handoffs.includes(nameOf(id)) && !launcher.readyHandoffs.has(nameOf(id)),
    ).length;
    const floorMs =
      settings.latencies.storeMs + settings.latencies.githubMs + latencies.handoffReadMs + latencies.runnerStartMs;
    const coldFloorMs =
      settings.latencies.storeMs +
      settings.latencies.githubMs +
      latencies.launchMs +
      latencies.coldBootMs +
      latencies.runnerStartMs;
    return {
      figures: {
        queued_to_running_cold_p50_ms: round(coldSummary.p50),
        queued_to_running_warm_p50_ms: round(warmSummary.p50),
        warm_pickup_ratio: round(warmSummary.p50 / floorMs),
        warm_hit_rate: round(burstHits / burstIds.length),
      },
      details: {
        latencies_ms: latencies,
        warm_size: settings.warmSize,
        cold_jobs: coldIds.length,
        warm_jobs: warmIds.length,
        burst_jobs: burstIds.length,
        queued_to_running_cold_ms: coldSummary,
        queued_to_running_warm_ms: warmSummary,
        warm_floor_ms: floorMs,
        cold_floor_ms: coldFloorMs,
        cold_ratio: round(coldSummary.p50 / coldFloorMs),
        burst_served_warm_ready: burstHits,
        burst_served_warm_booting: burstBooting,
        burst_served_cold: burstIds.filter((id) => launcher.coldLaunches.includes(nameOf(id))).length,
        burst_p50_ms: round(summarize(latencyOf(seen, burstIds)).p50),
      },
      failures,
    };
  } catch (error) {
    failures.push((error as Error).message);
    return { figures: {}, details: {}, failures };
  } finally {
    await bench.close();
  }
}
