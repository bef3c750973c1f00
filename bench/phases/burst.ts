import { performance } from 'node:perf_hooks';
import { sustainableJobsPerSecond } from '../../functions/adapters/dynamodb/count-write-units.ts';
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
    bench.writeUnits.reset();

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
    const writes = bench.writeUnits.report();
    const sustainable = sustainableJobsPerSecond(writes, jobs);
    const launchedAfter = summarize(bench.launcher.timings.map((t) => (t.doneAt - started) / 1000));
    return {
      figures: {
        burst_1000_s: timedOut ? Number.NaN : round((lastLaunch - started) / 1000),
        github_calls_per_job: round(github.total / jobs),
        dynamodb_requests_per_job: round(bench.storeRequests.total() / jobs),
        index_writes_per_job: round(writes.indexWrites / jobs),
        peak_writes_per_partition_key_per_s: writes.peak?.writeUnitsPerSecond ?? 0,
        sustainable_jobs_per_s: sustainable.jobsPerSecond,
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
        // The write-unit figures: the busiest key in one second, the key with the most units per job (it
        // bounds sustainable_jobs_per_s at 1,000 units/s per key), and the totals.
        peak_key: writes.peak?.key ?? '',
        busiest_key_per_job: { key: sustainable.key, write_units: round(sustainable.perJob) },
        write_units_per_job: round((writes.tableWriteUnits + writes.indexWriteUnits) / jobs),
        index_write_units_per_job: round(writes.indexWriteUnits / jobs),
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    await bench.close();
  }
}
