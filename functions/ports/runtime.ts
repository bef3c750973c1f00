import type { Job } from '../domain/job.ts';

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

/** Counters for dashboards/alarms (Powertools Metrics in AWS). */
export interface Metrics {
  count(name: string, value?: number, dimensions?: Record<string, string>): void;
}

export const noopMetrics: Metrics = { count: () => {} };
