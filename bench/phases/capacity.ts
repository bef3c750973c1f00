import { performance } from 'node:perf_hooks';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { JobStatus } from '../../functions/domain/job-status.ts';
import type { GitHubPort } from '../../functions/ports/github.ts';
import type { BenchServices, Latencies } from '../bench-env.ts';
import { SERVED_LABELS, startBenchApp } from '../bench-env.ts';
import { DeliveryFactory, DeliveryKind } from '../deliveries.ts';
import { checkExactlyOnce, describeExactlyOnce, isExactlyOnce } from '../exactly-once.ts';
import { keepAliveAgent, post } from '../paced-sender.ts';
import type { PhaseResult } from '../phase.ts';
import { round, summarize } from '../stats.ts';
import { logStoreRequests, type StoreRequest } from '../store-request-log.ts';

export interface CapacitySettings {
  latencies: Latencies;
  repos: readonly string[];
  /** Jobs queued at once into the one capped pool. */
  jobs: number;
  /** The pool's `maxRunners`. */
  maxRunners: number;
  /** How long the full pool is watched with its backlog waiting and nothing happening. */
  idleMs: number;
  /** `RECONCILE_INTERVAL_SECONDS` of the server: its timer runs through the whole phase. */
  reconcileIntervalSeconds: number;
  /** Runners ended one at a time (each waits for the launch its end released); the rest end in rounds. */
  sequentialReleases: number;
  firstJobId: number;
  timeoutMs: number;
}

const POOL = 'capped';
const RECONCILE_LOCK_KEY = 'LOCK#reconciler';

/** `JOB#123` → `JOB#*`, `gsi2 BACKLOG#capped#3` → `gsi2 BACKLOG#capped#*`: requests grouped by what they touch. */
const kindOf = (request: StoreRequest) =>
  `${request.command.replace(/Command$/, '')} ${request.target.replace(/#\d+$/, '#*')}`;

function tally(requests: readonly StoreRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) out[kindOf(r)] = (out[kindOf(r)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Reconcile runs in a request log: each run is bracketed by its lease (PutItem on `LOCK#reconciler`, then
 * DeleteItem on it); the requests between belong to the run. Returns the runs, each with its requests.
 */
function reconcileRuns(log: readonly StoreRequest[]): { start: number; end: number; requests: StoreRequest[] }[] {
  const runs: { start: number; end: number; requests: StoreRequest[] }[] = [];
  let open: { start: number; requests: StoreRequest[] } | undefined;
  for (const r of log) {
    const lock = r.target === RECONCILE_LOCK_KEY;
    if (lock && r.command === 'PutItemCommand' && !open) open = { start: r.at, requests: [] };
    if (open) open.requests.push(r);
    if (lock && r.command === 'DeleteItemCommand' && open) {
      runs.push({ start: open.start, end: r.at, requests: open.requests });
      open = undefined;
    }
  }
  if (open) runs.push({ start: open.start, end: Number.POSITIVE_INFINITY, requests: open.requests });
  return runs;
}

/**
 * Who is alive, counted the way the capacity contract means it: a runner is alive from the moment its JIT
 * config is asked for (the mint) until the bench ends it. Seen from outside the product: the GitHub client
 * the server uses (wrapped) and the launcher. The peak is sampled at every mint and every launch request.
 */
class AliveRunners {
  private readonly minted = new Set<string>();
  private readonly launched = new Set<string>();
  peakMinted = 0;
  peakLaunched = 0;

  mint(name: string): void {
    this.minted.add(name);
    this.peakMinted = Math.max(this.peakMinted, this.minted.size);
  }
  /** A mint that failed started nothing. */
  unmint(name: string): void {
    if (!this.launched.has(name)) this.minted.delete(name);
  }
  launch(name: string): void {
    this.launched.add(name);
    this.peakLaunched = Math.max(this.peakLaunched, this.launched.size);
    this.peakMinted = Math.max(this.peakMinted, this.minted.size);
  }
  end(name: string): void {
    this.minted.delete(name);
    this.launched.delete(name);
  }
  get alive(): number {
    return this.minted.size;
  }
}

/**
 * The capped pool (one pool, `maxRunners` N): `jobs` queued at once, N launched and the rest waiting in the
 * durable backlog (`waiting-capacity`), then
 * - `store_requests_per_waiting_job_per_min`: the store requests over an idle window with the pool full
 *   and the backlog waiting, outside the reconciler's runs, per waiting job per minute (0: nothing polls);
 *   `reconcile_store_requests_per_pass`: what one reconciler run costs then (its timer runs all along);
 * - `backlog_release_p50/p99_ms`: a runner's end (the exit signal, sent the way the local launcher sends
 *   it) → the next waiting job's launch request at the launcher, one runner at a time; compared with one
 *   store write and one JIT mint (`backlog_release_ratio`);
 * - `capacity_overshoot`: the most runners alive above the cap over the whole phase (minted and not yet
 *   ended, counted outside the product), the concurrent rounds included (every alive runner ends at once).
 * Every job must be launched exactly once.
 */
export async function runCapacity(services: BenchServices, settings: CapacitySettings): Promise<PhaseResult> {
  const { maxRunners } = settings;
  const alive = new AliveRunners();
  const wrapGitHub = (github: GitHubPort): GitHubPort => ({
    ...github,
    async generateJitConfig(target, request) {
      alive.mint(request.name);
      try {
        return await github.generateJitConfig(target, request);
      } catch (error) {
        alive.unmint(request.name);
        throw error;
      }
    },
  });
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'capacity',
    env: {
      [EnvName.runnerPools]: JSON.stringify([{ name: POOL, labels: [...SERVED_LABELS], maxRunners }]),
      [EnvName.reconcileIntervalSeconds]: String(settings.reconcileIntervalSeconds),
    },
    reconcile: true,
    wrapGitHub,
  });
  const log = logStoreRequests(bench.client);
  bench.launcher.onLaunchRequest = (request) => alive.launch(request.runnerName);
  // The bench's own look at the backlog goes through a client of its own: not counted, not delayed.
  const lookClient = createLocalDynamoClient(services.dynamo.ready.endpoint);
  const look = createDynamoStore({ client: lookClient, tableName: bench.tableName });
  const agent = keepAliveAgent(64);
  const failures: string[] = [];
  const signals = new Set<Promise<unknown>>();
  const ended = new Set<string>();

  /** Ends a runner the way the local launcher reports a runner process that exited. */
  const endRunner = (runnerName: string, launchId: string): number => {
    ended.add(runnerName);
    alive.end(runnerName);
    bench.launcher.ended(launchId);
    const at = performance.now();
    const signal = bench.app.core
      .handleRunnerSignal({ kind: 'exit', runnerName, code: 0, signal: null, at: Date.now(), launchId })
      .catch((error: unknown) => failures.push(`capacity: exit signal of ${runnerName}: ${String(error)}`));
    signals.add(signal);
    void signal.finally(() => signals.delete(signal));
    return at;
  };
  const aliveLaunches = () => bench.launcher.timings.filter((t) => !ended.has(t.runnerName));
  const waitFor = async (what: string, check: () => Promise<boolean>) => {
    const deadline = performance.now() + settings.timeoutMs;
    while (!(await check())) {
      if (performance.now() > deadline) throw new Error(`capacity: ${what} after ${settings.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const waitingJobs = async () =>
    (await look.jobs.listOpen()).filter((job) => job.status === JobStatus.waitingCapacity).length;

  try {
    // ── fill: every job at once; N launched, the rest waiting ──
    const factory = new DeliveryFactory(bench.deliveries);
    const url = new URL(bench.webhookUrl);
    const ids = Array.from({ length: settings.jobs }, (_, i) => settings.firstJobId + i);
    const answers = await Promise.all(ids.map((id) => post(agent, url, factory.delivery(DeliveryKind.served, id))));
    const refused = answers.filter((a) => a.status !== 202);
    if (refused.length > 0) failures.push(`capacity: ${refused.length} deliveries not accepted`);
    const waitingExpected = Math.max(0, settings.jobs - maxRunners);
    await bench.launcher.waitForLaunches(Math.min(maxRunners, settings.jobs), settings.timeoutMs);
    await waitFor(`${waitingExpected} jobs waiting`, async () => (await waitingJobs()) >= waitingExpected);
    await bench.app.dispatcher.idle();
    const filledRequests = log.requests.length;

    // ── (a) idle window: pool full, backlog waiting ──
    const waiting = await waitingJobs();
    const idleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, settings.idleMs));
    const idleEnd = performance.now();
    const launchesDuringIdle = bench.launcher.timings.filter((t) => t.calledAt >= idleStart).length;
    // A run still going at the window's end is waited for, so every run that overlaps the window is whole.
    await waitFor('reconcile run to end', async () =>
      reconcileRuns(log.requests).every((run) => Number.isFinite(run.end)),
    );
    const runs = reconcileRuns(log.requests).filter((run) => run.start <= idleEnd && run.end >= idleStart);
    const inRun = new Set(runs.flatMap((run) => run.requests));
    const idleOutside = log.requests.filter((r) => r.at >= idleStart && r.at <= idleEnd && !inRun.has(r));
    const minutes = (idleEnd - idleStart) / 60_000;
    const runRequests = runs.map((run) => run.requests.length);
    const capacityPart = (run: { requests: StoreRequest[] }) =>
      run.requests.filter((r) => r.target.startsWith('POOL#') || r.target.startsWith('gsi2 ')).length;

    // ── (b) one runner at a time: end → the next waiting job's launch request ──
    const releases: number[] = [];
    const releaseRequests: number[] = [];
    const sequential = Math.min(settings.sequentialReleases, waitingExpected);
    for (let i = 0; i < sequential; i++) {
      const oldest = aliveLaunches()[0];
      if (!oldest) break;
      const launches = bench.launcher.timings.length;
      const before = log.requests.length;
      const endedAt = endRunner(oldest.runnerName, oldest.launchId);
      await bench.launcher.waitForLaunches(launches + 1, settings.timeoutMs);
      const next = bench.launcher.timings[launches];
      if (next) releases.push(next.calledAt - endedAt);
      releaseRequests.push(log.requests.filter((r, k) => k >= before && next && r.at <= next.calledAt).length);
      await Promise.all([...signals]);
      await bench.app.dispatcher.idle();
    }

    // ── (c) rounds: every alive runner ends at once while jobs still wait ──
    const rounds: number[] = [];
    while (bench.launcher.timings.length < settings.jobs) {
      const current = aliveLaunches();
      if (current.length === 0) {
        failures.push('capacity: jobs still waiting with no runner alive to end');
        break;
      }
      const launches = bench.launcher.timings.length;
      const expect = Math.min(settings.jobs, launches + current.length);
      const roundStart = performance.now();
      for (const t of current) endRunner(t.runnerName, t.launchId);
      await bench.launcher.waitForLaunches(expect, settings.timeoutMs);
      const last = bench.launcher.timings[expect - 1];
      if (last) rounds.push(last.calledAt - roundStart);
      await Promise.all([...signals]);
      await bench.app.dispatcher.idle();
    }

    // ── the last runners end: the pool must come back empty ──
    for (const t of aliveLaunches()) endRunner(t.runnerName, t.launchId);
    await Promise.all([...signals]);
    await bench.app.dispatcher.idle();
    const record = await look.pools.get(POOL);
    const slotsLeft = record ? Object.keys(record.slots).length : 0;
    const waitingLeft = await waitingJobs();
    if (slotsLeft > 0 || waitingLeft > 0) {
      failures.push(`capacity: after every runner ended, ${slotsLeft} slots still held, ${waitingLeft} jobs waiting`);
    }

    const report = checkExactlyOnce(
      ids,
      bench.launcher.timings.map((t) => t.jobId),
    );
    if (!isExactlyOnce(report)) failures.push(`capacity: ${describeExactlyOnce(report)}`);
    const overshoot = Math.max(0, alive.peakMinted - maxRunners);
    if (overshoot > 0) failures.push(`capacity: ${alive.peakMinted} runners alive in a pool of ${maxRunners}`);

    const release = summarize(releases);
    const floor = settings.latencies.storeMs + settings.latencies.githubMs;
    const perPass = summarize(runRequests);
    return {
      figures: {
        capacity_overshoot: overshoot,
        backlog_release_p50_ms: round(release.p50),
        backlog_release_p99_ms: round(release.p99),
        backlog_release_ratio: round(release.p50 / floor),
        store_requests_per_waiting_job_per_min:
          waiting > 0 ? round(idleOutside.length / waiting / minutes) : Number.NaN,
        reconcile_store_requests_per_pass: runs.length > 0 ? round(perPass.mean) : Number.NaN,
      },
      details: {
        jobs: settings.jobs,
        max_runners: maxRunners,
        repos: settings.repos.length,
        peak_alive_minted: alive.peakMinted,
        peak_alive_launched: alive.peakLaunched,
        waiting_in_idle_window: waiting,
        idle_window_s: round((idleEnd - idleStart) / 1000),
        idle_requests_outside_reconcile: idleOutside.length,
        idle_requests_outside_reconcile_by_kind: tally(idleOutside),
        launches_during_idle: launchesDuringIdle,
        reconcile_interval_s: settings.reconcileIntervalSeconds,
        reconcile_runs_in_window: runs.length,
        reconcile_requests_per_run: runRequests,
        reconcile_capacity_requests_per_run: runs.map(capacityPart),
        reconcile_run_by_kind: runs[0] ? tally(runs[0].requests) : {},
        store_requests_to_fill: filledRequests,
        releases: release.samples,
        unavoidable_ms: floor,
        backlog_release_p90_ms: round(release.p90),
        backlog_release_max_ms: round(release.max),
        store_requests_per_release_p50: round(summarize(releaseRequests).p50),
        concurrent_rounds: rounds.length,
        concurrent_round_last_launch_ms: rounds.map(round),
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    bench.launcher.onLaunchRequest = undefined;
    agent.destroy();
    log.detach();
    await Promise.all([...signals]);
    await bench.close();
    lookClient.destroy();
  }
}
