import type { Config } from '../config/config.ts';
import type { Scope } from '../domain/scope.ts';
import type { GitHubTarget } from '../ports/github.ts';
import type { Logger, Metrics } from '../ports/runtime.ts';
import { type Baseline, type BaselineRepository, BaselineState } from '../ports/store.ts';
import type { BaselineGate, GateDecision } from './baseline-gate.ts';

export interface BaselineGateDeps {
  config: Pick<Config, 'baselinePolicy' | 'limits'>;
  baselines: BaselineRepository;
  logger: Logger;
  metrics: Metrics;
  /**
   * Starts the regular-runner workaround for a scope in the background. Must be safe to call many
   * times: the workaround elects one runner per scope with a conditional write.
   */
  requestWorkaround: (scope: Scope, target: GitHubTarget, now: number) => void;
  /** How long a `present` baseline is trusted without a read (it only ever changes on a metadata signal). */
  presentCacheMs?: number;
  /** How often a waiting job looks again. */
  pollMs?: number;
}

/** `BASELINE_POLICY` in front of every JIT mint (see {@link BaselineGate}). */
export function createBaselineGate(deps: BaselineGateDeps): BaselineGate & { forget(scopeKey: string): void } {
  const { config, baselines, logger } = deps;
  const presentCacheMs = deps.presentCacheMs ?? 60_000;
  const pollMs = deps.pollMs ?? 2_000;
  const present = new Map<string, number>();

  async function read(scopeKey: string, now: number): Promise<Baseline | undefined> {
    const seen = present.get(scopeKey);
    if (seen !== undefined && now - seen < presentCacheMs) {
      return { scopeKey, state: BaselineState.present, workarounds: 0, updatedAt: seen, version: 0 };
    }
    const baseline = await baselines.get(scopeKey);
    if (baseline?.state === BaselineState.present) present.set(scopeKey, now);
    else present.delete(scopeKey);
    return baseline;
  }

  return {
    /** Drop the cached `present` verdict (a metadata-missing signal arrived for the scope). */
    forget(scopeKey: string) {
      present.delete(scopeKey);
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
      deps.requestWorkaround(scope, target, now);
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
