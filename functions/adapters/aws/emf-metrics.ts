import type { Metrics } from '../../ports/runtime.ts';

export interface EmfMetricsOptions {
  /** CloudWatch namespace (the stack sets `POWERTOOLS_METRICS_NAMESPACE=JitRunners/<stack>`). */
  namespace: string;
  write?: (line: string) => void;
  now?: () => number;
}

/**
 * The {@link Metrics} port as CloudWatch Embedded Metric Format lines, one per count. Each count is
 * published twice in one record: with no dimensions (what the alarms watch: the namespace is already
 * per fleet) and with the caller's dimensions (failure class, scope) for drilling down. Written with
 * `process.stdout.write`, not `console`, so Lambda's JSON log format does not wrap the EMF document.
 */
export function createEmfMetrics(options: EmfMetricsOptions): Metrics {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  return {
    count(name, value = 1, dimensions = {}) {
      const keys = Object.keys(dimensions).slice(0, 29);
      const dimensionSets: string[][] = keys.length > 0 ? [[], keys] : [[]];
      write(
        JSON.stringify({
          _aws: {
            Timestamp: now(),
            CloudWatchMetrics: [
              { Namespace: options.namespace, Dimensions: dimensionSets, Metrics: [{ Name: name, Unit: 'Count' }] },
            ],
          },
          ...Object.fromEntries(keys.map((k) => [k, String(dimensions[k])])),
          [name]: value,
        }),
      );
    },
  };
}
