import type { Config } from '../../config/config.ts';
import { BaselineMethod, BaselineState } from '../../domain/baseline.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { type BaselineRepository, ConditionFailedError } from '../../ports/store.ts';
import type { JobProgress } from '../ingress/accept-webhook.ts';

export interface RecordObservedBaselineDeps {
  config: Pick<Config, 'runner'>;
  baselines: BaselineRepository;
  logger: Logger;
  metrics: Metrics;
}

/**
 * A JIT runner of ours that runs a job proves the scope's runner metadata exists (docs/design.md "Failure classes"): record
 * `BASELINE#` with method `observed` when the scope has no record yet. Listens to `in_progress`
 * deliveries (build-core's `progressListeners`). Each scope is remembered after its first look, so this
 * costs at most one read and one write per scope per process; it never throws into the webhook path.
 */
export function createRecordObservedBaseline(deps: RecordObservedBaselineDeps) {
  const { config, baselines, logger, metrics } = deps;
  const seen = new Set<string>();

  return async function recordObservedBaseline(progress: JobProgress): Promise<void> {
    if (progress.action !== 'in_progress' || !progress.runnerName) return;
    if (!parseRunnerName(config.runner.namePrefix, progress.runnerName)) return;
    const key = progress.scopeKey;
    if (seen.has(key)) return;
    // Before the await: concurrent deliveries for one scope cost one read, not one each.
    seen.add(key);
    try {
      if (await baselines.get(key)) return;
      await baselines.put(
        {
          scopeKey: key,
          state: BaselineState.present,
          method: BaselineMethod.observed,
          runnerName: progress.runnerName,
          verifiedOnlineAt: progress.at,
          workarounds: 0,
          installationId: progress.installationId,
        },
        0,
        progress.at,
      );
      metrics.count(CountMetric.baselineObserved, 1, { scope: key });
      logger.info('scope baseline observed', { scope: key, runnerName: progress.runnerName, jobId: progress.jobId });
    } catch (error) {
      // Someone recorded the scope first: that is all we wanted.
      if (error instanceof ConditionFailedError) return;
      seen.delete(key);
      logger.warn('cannot record the observed baseline', { scope: key, error: String(error) });
    }
  };
}
