import { performance } from 'node:perf_hooks';
import type { BenchServices, Latencies } from '../bench-env.ts';
import { startBenchApp } from '../bench-env.ts';
import { checkExactlyOnce, describeExactlyOnce, isExactlyOnce } from '../exactly-once.ts';
import type { PhaseResult } from '../phase.ts';
import type { BurstAnswer, BurstRequest } from '../services/load-service.ts';
import { round, summarize } from '../stats.ts';

export interface BurstSettings {
  latencies: Latencies;
  repos: readonly string[];
  /** Experiments only (`--github-max-concurrent`): override the GitHub client's in-flight limit. */
  githubMaxConcurrent?: number | undefined;
  jobs: number;
  firstJobId: number;
  timeoutMs: number;
}

/**
 * `burst_1000_s`: N distinct `queued` deliveries written at once; the time until every job has been
 * launched, each exactly once. The same run gives `github_calls_per_job` (simulator request log, token
 * minting included) and `dynamodb_requests_per_job` (requests the server's store client sent, webhook
 * writes included) over N jobs in the given repositories.
 */
export async function runBurst(services: BenchServices, settings: BurstSettings): Promise<PhaseResult> {
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'burst',
    githubMaxConcurrent: settings.githubMaxConcurrent,
  });
  const failures: string[] = [];
  try {
    const request: BurstRequest = {
      factory: bench.deliveries,
      url: bench.webhookUrl,
      firstJobId: settings.firstJobId,
      count: settings.jobs,
    };
    await services.load.call('prepareBurst', request);
    await services.resetGitHubCounts();
    bench.storeRequests.reset();

    const started = performance.now();
    const answers = await services.load.call<BurstAnswer>('fireBurst');
    let timedOut = false;
    try {
      await bench.launcher.waitForLaunches(settings.jobs, settings.timeoutMs);
    } catch (error) {
      timedOut = true;
      failures.push(`burst: ${(error as Error).message}`);
    }
    const lastLaunch = Math.max(...bench.launcher.timings.map((t) => t.doneAt));
    await bench.app.dispatcher.idle();

    const expected = Array.from({ length: settings.jobs }, (_, i) => settings.firstJobId + i);
    const report = checkExactlyOnce(
      expected,
      bench.launcher.timings.map((t) => t.jobId),
    );
    if (!isExactlyOnce(report)) failures.push(`burst: ${describeExactlyOnce(report)}`);
    const github = await services.githubCounts();
    const jobs = report.launched || 1;
    const launchedAfter = summarize(bench.launcher.timings.map((t) => (t.doneAt - started) / 1000));
    return {
      figures: {
        burst_1000_s: timedOut ? Number.NaN : round((lastLaunch - started) / 1000),
        github_calls_per_job: round(github.total / jobs),
        dynamodb_requests_per_job: round(bench.storeRequests.total() / jobs),
      },
      details: {
        jobs: settings.jobs,
        repos: settings.repos.length,
        all_acked_s: round(answers.answeredMs / 1000),
        ack_p50_ms: round(answers.summary.p50),
        ack_p99_ms: round(answers.summary.p99),
        answers: answers.statuses,
        half_launched_s: round(launchedAfter.p50),
        github_requests: github.byEndpoint,
        store_requests: bench.storeRequests.byCommand(),
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    await bench.close();
  }
}
