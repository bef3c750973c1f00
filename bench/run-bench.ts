import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { type BenchServices, startServices } from './bench-env.ts';
import { type BenchOptions, Phase } from './bench-options.ts';
import { repoNames } from './deliveries.ts';
import { describeMachine, endLoad } from './machine.ts';
import type { PhaseResult } from './phase.ts';
import { runAckLatency } from './phases/ack-latency.ts';
import { runBoot } from './phases/boot.ts';
import { runBundles } from './phases/bundles.ts';
import { runBurst } from './phases/burst.ts';
import { runCapacity } from './phases/capacity.ts';
import { runColdInit } from './phases/cold-init.ts';
import { runCriticalPath } from './phases/critical-path.ts';
import { runThroughput } from './phases/throughput.ts';
import type { BenchReport, Figures } from './report.ts';
import { round } from './stats.ts';

/** Job id ranges per phase: one table per phase, but ids stay distinct across the whole run. */
const FIRST_JOB_ID = {
  ack: 1_000_000,
  ackIngress: 1_500_000,
  critical: 2_000_000,
  burst: 3_000_000,
  throughput: 4_000_000,
  capacity: 5_000_000,
  boot: 6_000_000,
  cold: 9_000_000,
};

/** Runs the selected phases in one process and gathers one report. Progress goes to `progress` (stderr). */
export async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchReport> {
  const started = performance.now();
  const machine = await describeMachine();
  const figures: Figures = {};
  const details: Record<string, unknown> = {};
  const failures: string[] = [];
  const samples: Record<string, unknown> = {};
  const repos = repoNames(options.repos);
  const { latencies } = options;
  const tuning = { githubMaxConcurrent: options.githubMaxConcurrent };
  const want = (p: Phase) => options.phases.includes(p);

  const record = (name: string, result: PhaseResult) => {
    Object.assign(figures, result.figures);
    details[name] = result.details;
    failures.push(...result.failures);
  };
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    // A second of quiet between phases: the previous server's sockets, timers and garbage go first.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    progress(`bench: ${name}…`);
    const t = performance.now();
    try {
      return await run();
    } finally {
      progress(`bench: ${name} done in ${round((performance.now() - t) / 1000)} s`);
    }
  };

  let services: BenchServices | undefined;
  try {
    if (options.phases.some((p) => p !== Phase.bundles)) {
      services = await timed('starting the store, GitHub simulator and load generator', () =>
        startServices(latencies, options.profileDir ? { cpuProfDir: options.profileDir } : {}),
      );
    }
    if (want(Phase.ack) && services) {
      const s = services;
      // The same load twice: end to end, then with the provisioner detached (ingress only).
      const ack = {
        latencies,
        repos,
        ...tuning,
        rate: options.ack.rate,
        samples: options.ack.samples,
        warmup: options.ack.warmup,
        pattern: options.ack.mix,
        settleTimeoutMs: 120_000,
      };
      const result = await timed('ack latency', () => runAckLatency(s, { ...ack, firstJobId: FIRST_JOB_ID.ack }));
      record('ack', result);
      samples.ack = result.details.samples;
      const ingress = await timed('ack latency, ingress only', () =>
        runAckLatency(s, { ...ack, firstJobId: FIRST_JOB_ID.ackIngress, detachProvisioner: true }),
      );
      record('ack_ingress', ingress);
      samples.ack_ingress = ingress.details.samples;
    }
    if (want(Phase.critical) && services) {
      const s = services;
      const result = await timed('queued → launch', () =>
        runCriticalPath(s, {
          latencies,
          repos,
          ...tuning,
          rate: options.critical.rate,
          jobs: options.critical.jobs,
          firstJobId: FIRST_JOB_ID.critical,
          settleTimeoutMs: 120_000,
        }),
      );
      record('critical_path', result);
      samples.queued_to_launch = result.details.samples;
    }
    if (want(Phase.burst) && services) {
      const s = services;
      const result = await timed('burst', () =>
        runBurst(s, {
          latencies,
          repos,
          ...tuning,
          jobs: options.burst.jobs,
          firstJobId: FIRST_JOB_ID.burst,
          timeoutMs: options.burst.timeoutMs,
        }),
      );
      record('burst', result);
      samples.burst_jobs = options.burst.jobs;
    }
    if (want(Phase.throughput) && services) {
      const s = services;
      const result = await timed('webhook throughput', () =>
        runThroughput(s, {
          latencies,
          repos,
          ...tuning,
          rates: options.throughput.rates,
          minStepMs: options.throughput.minStepMs,
          minSamples: options.throughput.minSamples,
          p99LimitMs: options.throughput.p99LimitMs,
          firstJobId: FIRST_JOB_ID.throughput,
        }),
      );
      record('throughput', result);
      samples.throughput_step = `>= ${options.throughput.minSamples} deliveries and >= ${options.throughput.minStepMs / 1000} s per step`;
    }
    if (want(Phase.capacity) && services) {
      const s = services;
      const result = await timed('pool capacity', () =>
        runCapacity(s, {
          latencies,
          repos,
          jobs: options.capacity.jobs,
          maxRunners: options.capacity.maxRunners,
          idleMs: options.capacity.idleMs,
          reconcileIntervalSeconds: options.capacity.reconcileIntervalSeconds,
          sequentialReleases: options.capacity.sequential,
          firstJobId: FIRST_JOB_ID.capacity,
          timeoutMs: 60_000,
        }),
      );
      record('capacity', result);
      samples.capacity_releases = result.details.releases;
    }
    if (want(Phase.boot) && services) {
      const s = services;
      const { boot } = options;
      const result = await timed('queued → running, cold and warm (simulated boots)', () =>
        runBoot(s, {
          latencies,
          boot: { coldBootMs: boot.coldBootMs, runnerStartMs: boot.runnerStartMs, handoffReadMs: boot.handoffReadMs },
          repos,
          warmSize: boot.warmSize,
          coldJobs: boot.coldJobs,
          warmRounds: boot.warmRounds,
          firstJobId: FIRST_JOB_ID.boot,
          timeoutMs: Math.max(60_000, 4 * (boot.coldBootMs + boot.runnerStartMs)),
        }),
      );
      record('boot', result);
      samples.boot_cold_jobs = boot.coldJobs;
      samples.boot_warm_jobs = boot.warmSize * boot.warmRounds;
      samples.boot_burst_jobs = 2 * boot.warmSize;
    }
    if (want(Phase.bundles) || want(Phase.cold)) {
      await mkdir(options.outDir, { recursive: true });
      const bundles = await timed('bundles', () => runBundles(options.outDir));
      if (want(Phase.bundles)) record('bundles', bundles);
      else failures.push(...bundles.failures);
      if (want(Phase.cold) && services && bundles.bundles.length > 0) {
        const s = services;
        const result = await timed('cold starts', () =>
          runColdInit(s, bundles.bundles, { runs: options.cold.runs, firstJobId: FIRST_JOB_ID.cold }),
        );
        record('cold_init', result);
        samples.cold_runs_per_function = options.cold.runs;
      }
    }
  } finally {
    await services?.close();
  }

  return {
    machine: { ...machine, load_at_end: endLoad() },
    settings: {
      latencies_ms: { github: latencies.githubMs, store: latencies.storeMs, launch: latencies.launchMs },
      repos: options.repos,
      ack: { rate_per_s: options.ack.rate, mix: mixText(options.ack.mix) },
      critical: { rate_per_s: options.critical.rate },
      ...(want(Phase.boot)
        ? {
            boot: {
              cold_boot_ms: options.boot.coldBootMs,
              runner_start_ms: options.boot.runnerStartMs,
              handoff_read_ms: options.boot.handoffReadMs,
              warm_size: options.boot.warmSize,
            },
          }
        : {}),
      ...(want(Phase.capacity)
        ? {
            capacity: {
              jobs: options.capacity.jobs,
              max_runners: options.capacity.maxRunners,
              idle_s: options.capacity.idleMs / 1000,
              reconcile_interval_s: options.capacity.reconcileIntervalSeconds,
            },
          }
        : {}),
      phases: options.phases,
      ...(options.githubMaxConcurrent === undefined ? {} : { github_max_concurrent: options.githubMaxConcurrent }),
    },
    samples,
    figures,
    details,
    failures,
    durationS: round((performance.now() - started) / 1000),
  };
}

function mixText(pattern: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const k of pattern) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}:${n}`).join(',');
}
