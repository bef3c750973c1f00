import type { Job } from '../domain/job.ts';
import type { CountMetric, MeasureMetric, MetricDimensions, MetricUnit } from './metric-names.ts';

/** Time comes in through this port so the core stays deterministic in tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Hands a job to the provisioner (Lambda Invoke Event in AWS, an in-process queue locally). */
export interface Dispatcher {
  /**
   * `delayMs`: hand it over no earlier than that (breaker or retry backoff). Adapters that cannot delay
   * (Lambda Invoke) may drop delayed dispatches: the reconciler resumes jobs whose `notBefore` has passed.
   */
  dispatch(jobId: number, options?: { delayMs?: number; handoff?: JobHandoff }): Promise<void>;
}

/**
 * A job recorded already leased (see `JobRepository.create`'s `lease`), handed to the provisioner with
 * its dispatch so it needs neither a lease write nor a read. Adapters that cannot carry it drop it: the
 * provisioner then takes the lease itself (after it expired).
 */
export interface JobHandoff {
  /** The job exactly as recorded: status `provisioning`, `leaseOwner` = the hand-off's token. */
  job: Job;
}

export type LogFields = Record<string, unknown>;

/** Structured logger (Powertools Logger in AWS). Implementations must redact secrets. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * Metrics for the dashboard and alarms (EMF lines in AWS, functions/adapters/aws/emf-metrics.ts). Names and
 * dimensions come from the catalogue in metric-names.ts, so every name emitted is one the dashboard knows.
 */
export interface Metrics {
  /** An event happened `value` times (unit Count). */
  count(name: CountMetric, value?: number, dimensions?: MetricDimensions): void;
  /** A value with a unit: a latency (Milliseconds) or a gauge (Count) such as runners alive in a pool. */
  measure(name: MeasureMetric, value: number, unit: MetricUnit, dimensions?: MetricDimensions): void;
}

export const noopMetrics: Metrics = { count: () => {}, measure: () => {} };
