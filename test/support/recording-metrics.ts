import type {
  CountMetric,
  MeasureMetric,
  MetricDimensions,
  MetricName,
  MetricUnit,
} from '../../functions/ports/metric-names.ts';
import type { Metrics } from '../../functions/ports/runtime.ts';

/** One value handed to the {@link Metrics} port: a count (unit Count) or a measure with its unit. */
export interface RecordedMetric {
  kind: 'count' | 'measure';
  name: MetricName;
  value: number;
  unit: MetricUnit;
  dimensions: MetricDimensions;
}

/** The in-memory {@link Metrics} the use case specs read back: every count and measure, in order. */
export class RecordingMetrics implements Metrics {
  readonly recorded: RecordedMetric[] = [];

  count(name: CountMetric, value = 1, dimensions: MetricDimensions = {}): void {
    this.recorded.push({ kind: 'count', name, value, unit: 'Count', dimensions });
  }

  measure(name: MeasureMetric, value: number, unit: MetricUnit, dimensions: MetricDimensions = {}): void {
    this.recorded.push({ kind: 'measure', name, value, unit, dimensions });
  }

  /** What was recorded under `name`, in order. */
  named(name: MetricName): RecordedMetric[] {
    return this.recorded.filter((m) => m.name === name);
  }

  clear(): void {
    this.recorded.length = 0;
  }
}
