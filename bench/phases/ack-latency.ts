import type { BenchServices, Latencies } from '../bench-env.ts';
import { startBenchApp } from '../bench-env.ts';
import type { DeliveryKind } from '../deliveries.ts';
import { checkExactlyOnce, describeExactlyOnce, isExactlyOnce } from '../exactly-once.ts';
import type { PhaseResult } from '../phase.ts';
import type { PacedAnswer, PacedRequest } from '../services/load-service.ts';
import { round } from '../stats.ts';

export interface AckSettings {
  latencies: Latencies;
  repos: readonly string[];
  /** Deliveries per second (steady, open loop). */
  rate: number;
  /** Measured deliveries (percentiles come from these). */
  samples: number;
  /** Deliveries sent first and not measured (connections, JIT warm-up, token mint). */
  warmup: number;
  pattern: DeliveryKind[];
  firstJobId: number;
  /** How long to wait for the served jobs to be launched after the last delivery. */
  settleTimeoutMs: number;
}

/**
 * `ack_p50_ms`/`ack_p99_ms`: request → response of signed deliveries over real HTTP at a steady rate, a mix
 * of new served jobs, jobs the fleet does not serve, and duplicates. The served jobs are provisioned as
 * they arrive (same process, simulated latencies), and each must be launched exactly once.
 */
export async function runAckLatency(services: BenchServices, settings: AckSettings): Promise<PhaseResult> {
  const bench = await startBenchApp(services, { latencies: settings.latencies, repos: settings.repos, name: 'ack' });
  try {
    const request: PacedRequest = {
      factory: bench.deliveries,
      plan: {
        url: bench.webhookUrl,
        rate: settings.rate,
        count: settings.warmup + settings.samples,
        warmup: settings.warmup,
      },
      pattern: settings.pattern,
      firstJobId: settings.firstJobId,
      summaryOnly: true,
    };
    const result = await services.load.call<PacedAnswer>('paced', request);
    const failures: string[] = [];
    try {
      await bench.launcher.waitForLaunches(result.servedJobIds.length, settings.settleTimeoutMs);
    } catch (error) {
      failures.push(`ack: ${(error as Error).message}`);
    }
    await bench.app.dispatcher.idle();
    const report = checkExactlyOnce(
      result.servedJobIds,
      bench.launcher.timings.map((t) => t.jobId),
    );
    if (!isExactlyOnce(report)) failures.push(`ack: ${describeExactlyOnce(report)}`);
    const errors = Object.entries(result.statuses).filter(([status]) => !['200', '202'].includes(status));
    if (errors.length > 0) failures.push(`ack: unexpected answers ${JSON.stringify(Object.fromEntries(errors))}`);

    return {
      figures: {
        ack_p50_ms: round(result.summary.p50),
        ack_p99_ms: round(result.summary.p99),
      },
      details: {
        rate_per_s: settings.rate,
        samples: result.summary.samples,
        warmup: settings.warmup,
        p90_ms: round(result.summary.p90),
        max_ms: round(result.summary.max),
        mix: result.kinds,
        answers: result.statuses,
        dropped: result.dropped,
        achieved_rate_per_s: round((result.summary.samples / result.measuredMs) * 1000),
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    await bench.close();
  }
}
