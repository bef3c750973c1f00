import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { BenchServices, Latencies } from '../bench-env.ts';
import { startBenchApp } from '../bench-env.ts';
import { DeliveryKind } from '../deliveries.ts';
import type { PhaseResult } from '../phase.ts';
import type { PacedAnswer, PacedRequest } from '../services/load-service.ts';
import { round } from '../stats.ts';

export interface ThroughputSettings {
  latencies: Latencies;
  repos: readonly string[];
  /** Experiments only (`--github-max-concurrent`): override the GitHub client's in-flight limit. */
  githubMaxConcurrent?: number | undefined;
  /** Offered rates tried in order (deliveries/s); the run stops at the first step over the limit. */
  rates: readonly number[];
  /** Each step lasts at least this long, and long enough for `minSamples`. */
  minStepMs: number;
  minSamples: number;
  /** The p99 a step may not pass. */
  p99LimitMs: number;
  firstJobId: number;
}

export interface ThroughputStep {
  offered_per_s: number;
  accepted_per_s: number;
  samples: number;
  p50_ms: number;
  p99_ms: number;
  dropped: number;
  errors: number;
}

/** Counts the job items in the table (paged Scan): every accepted job must be durable. */
async function countJobs(client: import('@aws-sdk/client-dynamodb').DynamoDBClient, tableName: string) {
  let count = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * `webhooks_per_s`: new served `queued` deliveries (each one a durable conditional write) at rising steady
 * rates; the figure is the highest accepted rate of a step whose p99 stayed within the limit. The
 * provisioner is detached for this phase (dispatches are only recorded), as it runs in its own Lambda in
 * AWS: this is the ingress's capacity. Every accepted job must be in the table and dispatched once.
 */
export async function runThroughput(services: BenchServices, settings: ThroughputSettings): Promise<PhaseResult> {
  const bench = await startBenchApp(services, {
    latencies: settings.latencies,
    repos: settings.repos,
    name: 'throughput',
    githubMaxConcurrent: settings.githubMaxConcurrent,
  });
  const dispatched = new Map<number, number>();
  bench.app.dispatcher.setHandler(async (jobId) => {
    dispatched.set(jobId, (dispatched.get(jobId) ?? 0) + 1);
  });
  const steps: ThroughputStep[] = [];
  const failures: string[] = [];
  const accepted = new Set<number>();
  let nextJobId = settings.firstJobId;
  try {
    for (const rate of settings.rates) {
      const count = Math.max(settings.minSamples, Math.ceil((rate * settings.minStepMs) / 1000));
      const request: PacedRequest = {
        factory: bench.deliveries,
        plan: { url: bench.webhookUrl, rate, count, maxInFlight: 4_000 },
        pattern: [DeliveryKind.served],
        firstJobId: nextJobId,
        summaryOnly: true,
      };
      nextJobId += count;
      const result = await services.load.call<PacedAnswer>('paced', request);
      for (const id of result.queuedJobIds) accepted.add(id);
      const step: ThroughputStep = {
        offered_per_s: rate,
        accepted_per_s: round((result.accepted / result.measuredMs) * 1000),
        samples: result.summary.samples,
        p50_ms: round(result.summary.p50),
        p99_ms: round(result.summary.p99),
        dropped: result.dropped,
        errors: result.errors,
      };
      steps.push(step);
      // Let the queue drain so the next step starts from an idle server.
      await bench.app.dispatcher.idle();
      if (step.p99_ms > settings.p99LimitMs || step.dropped > 0 || step.errors > 0) break;
    }
    const within = steps.filter((s) => s.p99_ms <= settings.p99LimitMs && s.dropped === 0 && s.errors === 0);
    const best = within.reduce<ThroughputStep | undefined>(
      (b, s) => (!b || s.accepted_per_s > b.accepted_per_s ? s : b),
      undefined,
    );

    const stored = await countJobs(bench.client, bench.tableName);
    if (stored !== accepted.size) {
      failures.push(`throughput: ${accepted.size} deliveries answered "job queued" but ${stored} jobs are stored`);
    }
    const notDispatched = [...accepted].filter((id) => !dispatched.has(id)).length;
    const doubled = [...dispatched.values()].filter((n) => n > 1).length;
    if (notDispatched > 0 || doubled > 0) {
      failures.push(`throughput: ${notDispatched} accepted jobs never dispatched, ${doubled} dispatched twice`);
    }
    return {
      figures: { webhooks_per_s: best ? best.accepted_per_s : 0 },
      details: {
        p99_limit_ms: settings.p99LimitMs,
        steps,
        accepted_jobs: accepted.size,
        stored_jobs: stored,
        provisioner: 'detached (dispatches recorded; in AWS it is a separate function)',
      },
      failures,
    };
  } finally {
    await bench.close();
  }
}
