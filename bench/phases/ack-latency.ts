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
  /** Experiments only (`--github-max-concurrent`): override the GitHub client's in-flight limit. */
  githubMaxConcurrent?: number | undefined;
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
  /**
   * Ingress only, the Lambda shape: dispatches are recorded instead of provisioned in this process
   * (in AWS the provisioner is another function). Figures then carry the `ack_ingress_` prefix.
   */
  detachProvisioner?: boolean;
}

/**
 * `ack_p50_ms`/`ack_p99_ms`: request → response of signed deliveries over real HTTP at a steady rate, a mix
 * of new served jobs, jobs the fleet does not serve, and duplicates. The served jobs are provisioned as
 * they arrive (same process, simulated latencies), and each must be launched exactly once.
 */
export async function runAckLatency(services: BenchServices, settings: AckSettings): Promise<PhaseResult> {
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'ack',
    githubMaxConcurrent: settings.githubMaxConcurrent,
  });
  const detached = settings.detachProvisioner === true;
  const dispatched: number[] = [];
  if (detached) {
    bench.app.dispatcher.setHandler(async (jobId) => {
      dispatched.push(jobId);
    });
  }
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
    const name = detached ? 'ack (ingress only)' : 'ack';
    if (!detached) {
      try {
        await bench.launcher.waitForLaunches(result.servedJobIds.length, settings.settleTimeoutMs);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    await bench.app.dispatcher.idle();
    // Detached, "launched" means handed to the provisioner: each served job exactly once.
    const report = checkExactlyOnce(
      result.servedJobIds,
      detached ? dispatched : bench.launcher.timings.map((t) => t.jobId),
    );
    if (!isExactlyOnce(report)) failures.push(`${name}: ${describeExactlyOnce(report)}`);
    const errors = Object.entries(result.statuses).filter(([status]) => !['200', '202'].includes(status));
    if (errors.length > 0) failures.push(`${name}: unexpected answers ${JSON.stringify(Object.fromEntries(errors))}`);

    const prefix = detached ? 'ack_ingress' : 'ack';
    return {
      figures: {
        [`${prefix}_p50_ms`]: round(result.summary.p50),
        [`${prefix}_p99_ms`]: round(result.summary.p99),
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
        provisioner: detached ? 'detached (dispatches recorded)' : 'in this process, as npm start runs it',
        exactly_once: describeExactlyOnce(report),
      },
      failures,
    };
  } finally {
    await bench.close();
  }
}
