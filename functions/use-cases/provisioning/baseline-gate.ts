import type { Config } from '../../config/config.ts';
import { type Baseline, BaselineState } from '../../domain/baseline.ts';
import type { Job } from '../../domain/job.ts';
import { poolNameOf } from '../../domain/runner-pool.ts';
import type { Scope } from '../../domain/scope.ts';
import type { GitHubTarget } from '../../ports/github.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import type { BaselineRepository } from '../../ports/store.ts';

export type GateDecision =
  | { proceed: true }
  /** Wait (the workaround is running or must run first); `fail` ends the job instead (budget spent). */
  | { proceed: false; until: number; reason: string; fail?: boolean };

/**
 * Applies `BASELINE_POLICY` before a JIT mint (docs/design.md "Failure classes"): `off` always proceeds; `on-error` waits only
 * while a scope is known to miss its runner metadata; `proactive` makes sure a baseline exists first.
 */
export interface BaselineGate {
  beforeMint(job: Job, scope: Scope, target: GitHubTarget, now: number): Promise<GateDecision>;
  /** Drops what the gate remembers about a scope (a metadata signal was just seen for it). */
  forget(scopeKey: string): void;
}

export interface BaselineGateDeps {
  config: Pick<Config, 'baselinePolicy' | 'limits'>;
  baselines: BaselineRepository;
  logger: Logger;
  metrics: Metrics;
  /**
   * Starts the regular-runner workaround for a scope in the background. Must be safe to call many
   * times: the workaround elects one runner per scope with a conditional write. `pool` is the asking
   * job's pool: the regular runner starts there.
   */
  requestWorkaround: (scope: Scope, target: GitHubTarget, now: number, pool: string) => void;
  /** How long a `present` baseline is trusted without a read (it only ever changes on a metadata signal). */
  presentCacheMs?: number;
  /**
   * Under `on-error`, how long "no baseline item" is trusted without a read. Absence also only ends on a
   * metadata signal (which calls `forget` here) or a workaround; kept shorter than `presentCacheMs` because
   * a signal seen by another process reaches this one only through the store.
   */
  absentCacheMs?: number;
  /** How often a waiting job looks again. */
  pollMs?: number;
}

/** `BASELINE_POLICY` in front of every JIT mint (see {@link BaselineGate}). */
export function createBaselineGate(deps: BaselineGateDeps): BaselineGate {
  const { config, baselines, logger } = deps;
  const presentCacheMs = deps.presentCacheMs ?? 60_000;
  const pollMs = deps.pollMs ?? 2_000;
  const absentCacheMs = deps.absentCacheMs ?? 10_000;
  const present = new Map<string, number>();
  const absent = new Map<string, number>();
  // Why share in-flight reads: a burst starts dozens of jobs of one scope at once, all with a cold cache;
  // one read answers them all instead of one read each.
  const reading = new Map<string, Promise<Baseline | undefined>>();
  // Bumped by `forget`: a read that was already under way then may not cache its (older) answer.
  const generation = new Map<string, number>();

  async function fetchBaseline(scopeKey: string, now: number): Promise<Baseline | undefined> {
    const started = generation.get(scopeKey) ?? 0;
    const baseline = await baselines.get(scopeKey);
    if ((generation.get(scopeKey) ?? 0) !== started) return baseline;
    if (baseline?.state === BaselineState.present) present.set(scopeKey, now);
    else present.delete(scopeKey);
    if (!baseline && config.baselinePolicy === 'on-error') absent.set(scopeKey, now);
    else absent.delete(scopeKey);
    return baseline;
  }

  async function read(scopeKey: string, now: number): Promise<Baseline | undefined> {
    const seen = present.get(scopeKey);
    if (seen !== undefined && now - seen < presentCacheMs) {
      return { scopeKey, state: BaselineState.present, workarounds: 0, updatedAt: seen, version: 0 };
    }
    const missingSince = absent.get(scopeKey);
    if (missingSince !== undefined && now - missingSince < absentCacheMs) return undefined;
    let pending = reading.get(scopeKey);
    if (!pending) {
      const p = fetchBaseline(scopeKey, now).finally(() => {
        if (reading.get(scopeKey) === p) reading.delete(scopeKey);
      });
      pending = p;
      reading.set(scopeKey, p);
    }
    return pending;
  }

  return {
    /** Drop the cached verdicts (a metadata-missing signal arrived for the scope). */
    forget(scopeKey: string) {
      present.delete(scopeKey);
      absent.delete(scopeKey);
      reading.delete(scopeKey);
      generation.set(scopeKey, (generation.get(scopeKey) ?? 0) + 1);
    },

    async beforeMint(job, scope, target, now): Promise<GateDecision> {
      if (config.baselinePolicy === 'off') return { proceed: true };
      const baseline = await read(job.scopeKey, now);
      if (baseline?.state === BaselineState.present) return { proceed: true };
      // on-error: a scope nobody has seen fail gets JIT runners straight away (the fast path).
      if (!baseline && config.baselinePolicy === 'on-error') return { proceed: true };

      if (baseline?.state === BaselineState.failed && baseline.workarounds >= config.limits.maxWorkaroundsPerScope) {
        return {
          proceed: false,
          fail: true,
          until: now,
          reason: `the regular-runner workaround for ${job.scopeKey} failed ${baseline.workarounds} times${baseline.reason ? ` (last: ${baseline.reason})` : ''}`,
        };
      }
      deps.requestWorkaround(scope, target, now, poolNameOf(job));
      logger.info('job waits for the scope baseline', {
        jobId: job.jobId,
        scope: job.scopeKey,
        state: baseline?.state ?? 'none',
      });
      return {
        proceed: false,
        until: now + pollMs,
        reason: `waiting for the regular-runner workaround in ${job.scopeKey} (${baseline?.state ?? 'no baseline yet'})`,
      };
    },
  };
}
