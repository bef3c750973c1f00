import type { Config } from '../config/config.ts';
import type { Classification } from '../domain/classify-failure.ts';
import type { FailureClass } from '../domain/failure-class.ts';
import type { GitHubRequestError } from '../ports/github.ts';
import type { Logger, Metrics } from '../ports/runtime.ts';
import type { BreakerRepository } from '../ports/store.ts';

export interface FailureVerdict {
  class: FailureClass;
  detail: string;
  /** Set when this failure (or an earlier one) has the scope's breaker open. */
  openUntil?: number;
}

/** Per-scope circuit breaker in front of every GitHub call for a scope (issue 3 §5). */
export interface ScopeGuard {
  /** undefined when calls for the scope may go ahead; otherwise when the breaker closes. */
  openUntil(scopeKey: string, now: number): Promise<number | undefined>;
  recordFailure(scopeKey: string, error: GitHubRequestError, now: number): Promise<FailureVerdict>;
  /**
   * A failure seen outside an API call (a runner log line such as `breaker open`, a timeout): counts
   * toward the breaker exactly as {@link recordFailure} does for the same classification.
   */
  recordSignal(scopeKey: string, classification: Classification, now: number): Promise<FailureVerdict>;
  recordSuccess(scopeKey: string, now: number): Promise<void>;
}

export interface ScopeGuardDeps {
  config: Pick<Config, 'limits'>;
  breakers: BreakerRepository;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  /** How long a read breaker state is trusted (saves a store read per job on the hot path). */
  cacheMs?: number;
}
