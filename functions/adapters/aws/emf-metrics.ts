import type { MetricDimensions, MetricUnit } from '../../ports/metric-names.ts';
import type { Metrics } from '../../ports/runtime.ts';

export interface EmfMetricsOptions {
  /** CloudWatch namespace (the stack sets `POWERTOOLS_METRICS_NAMESPACE=JitRunners/<stack>`). */
  namespace: string;
  write?: (line: string) => void;
  now?: () => number;
}

/**
 * The {@link Metrics} port as CloudWatch Embedded Metric Format lines, one per count or measure. Each value
 * is published twice in one record: with no dimensions (what the alarms watch and the fleet-wide
 * percentiles read: the namespace is already per fleet) and with the caller's dimensions (pool, failure
 * class, scope) for drilling down. A measure carries its unit (`Milliseconds` for latencies, `Count` for
 * gauges), so CloudWatch keeps percentiles of it. Written with `process.stdout.write`, not `console`, so
 * Lambda's JSON log format does not wrap the EMF document.
 */
export function createEmfMetrics(options: EmfMetricsOptions): Metrics {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;

  function emit(name: string, value: number, unit: MetricUnit, dimensions: MetricDimensions): void {
    // EMF allows 30 dimensions per set; the catalogue has fewer, the cap only guards the format.
    const keys = (Object.keys(dimensions) as (keyof MetricDimensions)[]).slice(0, 29);
    const dimensionSets: string[][] = keys.length > 0 ? [[], keys] : [[]];
    write(
      JSON.stringify({
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [
            { Namespace: options.namespace, Dimensions: dimensionSets, Metrics: [{ Name: name, Unit: unit }] },
          ],
        },
        ...Object.fromEntries(keys.map((k) => [k, String(dimensions[k])])),
        [name]: value,
      }),
    );
  }

  return {
    count(name, value = 1, dimensions = {}) {
      emit(name, value, 'Count', dimensions);
    },
    measure(name, value, unit, dimensions = {}) {
      emit(name, value, unit, dimensions);
    },
  };
}
