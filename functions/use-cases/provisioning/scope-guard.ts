import type { Config } from '../../config/config.ts';
import type { Breaker } from '../../domain/breaker.ts';
import { closedBreaker, isBreakerFailure, isOpen, recordFailure, recordSuccess } from '../../domain/breaker-policy.ts';
import { type Classification, classifyApiError } from '../../domain/classify-failure.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import type { GitHubRequestError } from '../../ports/github.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { type BreakerRepository, ConditionFailedError } from '../../ports/store.ts';

export interface FailureVerdict {
  class: FailureClass;
  detail: string;
  /** Set when this failure (or an earlier one) has the scope's breaker open. */
  openUntil?: number;
}

/** Per-scope circuit breaker in front of every GitHub call for a scope (docs/design.md "Budgets and backoff"). */
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

interface Cached {
  breaker: Breaker | undefined;
  readAt: number;
}

/**
 * The per-scope breaker backed by `BREAKER#<scope>`. Reads are cached for `cacheMs` so the hot path
 * costs no store request per job; a healthy scope is never written (a success only writes when it
 * closes a breaker that had failures).
 */
export function createScopeGuard(deps: ScopeGuardDeps): ScopeGuard {
  const { config, breakers, logger, metrics } = deps;
  const random = deps.random ?? Math.random;
  const cacheMs = deps.cacheMs ?? 5_000;
  const cache = new Map<string, Cached>();
  // Why share in-flight reads: a burst starts dozens of jobs of one scope at once with a cold cache; one
  // read answers them all. A `fresh` read (after a lost race) always goes to the store.
  const reading = new Map<string, Promise<Breaker | undefined>>();

  async function read(scopeKey: string, now: number, fresh = false): Promise<Breaker | undefined> {
    const hit = cache.get(scopeKey);
    if (!fresh && hit && now - hit.readAt < cacheMs) return hit.breaker;
    const pending = fresh ? undefined : reading.get(scopeKey);
    if (pending) return pending;
    const p = breakers
      .get(scopeKey)
      .then((breaker) => {
        cache.set(scopeKey, { breaker, readAt: now });
        return breaker;
      })
      .finally(() => {
        if (reading.get(scopeKey) === p) reading.delete(scopeKey);
      });
    if (!fresh) reading.set(scopeKey, p);
    return p;
  }

  /** Applies a transition with optimistic concurrency; one re-read on a lost race is enough. */
  async function apply(
    scopeKey: string,
    now: number,
    transition: (
      b: Breaker | undefined,
    ) => { breaker: Omit<Breaker, 'version' | 'updatedAt'>; changed: boolean } | undefined,
  ): Promise<Breaker | undefined> {
    for (let tries = 0; tries < 2; tries++) {
      const current = await read(scopeKey, now, tries > 0);
      const next = transition(current);
      if (!next?.changed) return current;
      try {
        const stored = await breakers.put(next.breaker, current?.version ?? 0, now);
        cache.set(scopeKey, { breaker: stored, readAt: now });
        return stored;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
    return read(scopeKey, now, true);
  }

  /** Feeds one classified failure to the scope's breaker (see {@link isBreakerFailure}). */
  async function feed(scopeKey: string, classification: Classification, now: number): Promise<FailureVerdict> {
    if (!isBreakerFailure(classification)) return { class: classification.class, detail: classification.detail };
    let opened = false;
    const breaker = await apply(scopeKey, now, (b) => {
      const t = recordFailure(b ?? closedBreaker(scopeKey), {
        now,
        breakerOpenSignal: classification.class === FailureClass.breakerOpen,
        threshold: config.limits.breakerFailureThreshold,
        maxBackoffMs: config.limits.breakerMaxBackoffSeconds * 1000,
        random,
        reason: classification.detail,
      });
      opened = t.opened;
      return t;
    });
    if (opened) {
      metrics.count(CountMetric.breakerOpened, 1, { scope: scopeKey });
      logger.warn('breaker opened', { scope: scopeKey, until: breaker?.openUntil, reason: classification.detail });
    }
    if (isOpen(breaker, now)) {
      return {
        class: FailureClass.breakerOpen,
        detail: classification.detail,
        openUntil: breaker?.openUntil as number,
      };
    }
    return { class: classification.class, detail: classification.detail };
  }

  return {
    async openUntil(scopeKey, now) {
      const breaker = await read(scopeKey, now);
      return isOpen(breaker, now) ? breaker?.openUntil : undefined;
    },

    async recordFailure(scopeKey, error: GitHubRequestError, now): Promise<FailureVerdict> {
      const classification = classifyApiError({
        status: error.status,
        body: error.body,
        endpoint: error.endpoint,
        scopeKey,
      });
      return feed(scopeKey, classification, now);
    },

    async recordSignal(scopeKey, classification, now): Promise<FailureVerdict> {
      return feed(scopeKey, classification, now);
    },

    async recordSuccess(scopeKey, now) {
      const cached = cache.get(scopeKey)?.breaker;
      // Quiet when healthy: no breaker item, or a clean one, means nothing to write.
      if (!cached || (cached.consecutiveFailures === 0 && cached.opens === 0 && cached.openUntil === 0)) return;
      await apply(scopeKey, now, (b) => (b ? recordSuccess(b) : undefined));
      logger.info('breaker closed', { scope: scopeKey });
    },
  };
}
