import type { BenchServices, Latencies } from '../bench-env.ts';
import { startBenchApp } from '../bench-env.ts';
import { DeliveryFactory, DeliveryKind } from '../deliveries.ts';
import { checkExactlyOnce, describeExactlyOnce, isExactlyOnce } from '../exactly-once.ts';
import { keepAliveAgent, sendPaced } from '../paced-sender.ts';
import type { PhaseResult } from '../phase.ts';
import { round, summarize } from '../stats.ts';

export interface CriticalPathSettings {
  latencies: Latencies;
  repos: readonly string[];
  /** Experiments only (`--github-max-concurrent`): override the GitHub client's in-flight limit. */
  githubMaxConcurrent?: number | undefined;
  /** New served jobs per second. */
  rate: number;
  jobs: number;
  firstJobId: number;
  settleTimeoutMs: number;
}

/**
 * `queued_to_launch_p50/p99_ms` and `critical_path_ratio`: new served jobs at a steady rate; each one is
 * timed from the moment its delivery is written to the server until the launcher has accepted the launch
 * (the platform's answer to StartBuild/RunInstances). The deliveries are sent from this process so both
 * ends are read from one clock. The ratio divides the p50 by the latencies no design can avoid: one
 * durable write, one JIT mint, one launch.
 */
export async function runCriticalPath(services: BenchServices, settings: CriticalPathSettings): Promise<PhaseResult> {
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'critical',
    githubMaxConcurrent: settings.githubMaxConcurrent,
  });
  await services.resetGitHubCounts();
  bench.storeRequests.reset();
  const factory = new DeliveryFactory(bench.deliveries);
  const sentAt = new Map<number, number>();
  let nextJobId = settings.firstJobId;
  const agent = keepAliveAgent(64);
  const failures: string[] = [];
  try {
    const result = await sendPaced(
      { url: bench.webhookUrl, rate: settings.rate, count: settings.jobs },
      () => factory.delivery(DeliveryKind.served, nextJobId++),
      { agent, onAnswer: (a) => sentAt.set(a.jobId, a.sentAt) },
    );
    try {
      await bench.launcher.waitForLaunches(settings.jobs, settings.settleTimeoutMs);
    } catch (error) {
      failures.push(`critical path: ${(error as Error).message}`);
    }
    await bench.app.dispatcher.idle();
    const report = checkExactlyOnce(
      result.servedJobIds,
      bench.launcher.timings.map((t) => t.jobId),
    );
    if (!isExactlyOnce(report)) failures.push(`critical path: ${describeExactlyOnce(report)}`);

    const toLaunch: number[] = [];
    const toCall: number[] = [];
    for (const t of bench.launcher.timings) {
      const sent = sentAt.get(t.jobId);
      if (sent === undefined) continue;
      toLaunch.push(t.doneAt - sent);
      toCall.push(t.calledAt - sent);
    }
    const launch = summarize(toLaunch);
    const call = summarize(toCall);
    const floor = settings.latencies.storeMs + settings.latencies.githubMs + settings.latencies.launchMs;
    const github = await services.githubCounts();
    const jobs = bench.launcher.timings.length || 1;
    return {
      figures: {
        queued_to_launch_p50_ms: round(launch.p50),
        queued_to_launch_p99_ms: round(launch.p99),
        critical_path_ratio: round(launch.p50 / floor),
        steady_github_calls_per_job: round(github.total / jobs),
        steady_dynamodb_requests_per_job: round(bench.storeRequests.total() / jobs),
      },
      details: {
        jobs: settings.jobs,
        rate_per_s: settings.rate,
        repos: settings.repos.length,
        samples: launch.samples,
        unavoidable_ms: floor,
        queued_to_launch_p90_ms: round(launch.p90),
        queued_to_launch_max_ms: round(launch.max),
        queued_to_launch_call_p50_ms: round(call.p50),
        queued_to_launch_call_p99_ms: round(call.p99),
        ack_p50_ms: round(summarize(result.latencies).p50),
        github_requests: github.byEndpoint,
        store_requests: bench.storeRequests.byCommand(),
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    agent.destroy();
    await bench.close();
  }
}
