import type { Config } from '../../config/config.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import type { Logger } from '../../ports/runtime.ts';
import type { JobProgress } from '../ingress/accept-webhook.ts';

export interface DropHandoffDeps {
  config: Pick<Config, 'runner'>;
  launcher: RunnerLauncher;
  logger: Logger;
}

export interface DropHandoff {
  /** A job went `in_progress` (or `completed`) on one of our runners: that runner has read its hand-off. */
  onProgress(progress: JobProgress): Promise<void>;
  /** A runner's build or instance ended (runner-events' state signals, the local process): nobody will read it. */
  onRunnerEnded(runnerName: string): Promise<void>;
}

/**
 * Deletes a runner's out-of-band hand-off (its JIT config or the workaround's registration token) as soon
 * as it is no longer needed (docs/decisions.md "Per-runner hand-off"), instead of leaving it to the SSM
 * expiration and the reconciler's sweep: the runner's job started or completed on it (it read the config
 * to get there), or its build/instance ended. Best effort and idempotent: a delete that fails is logged
 * and left to the expiration; a hand-off already gone is success (the launcher says so). Launchers without
 * hand-offs (local) have no `dropHandoff`, and then this does nothing.
 */
export function createDropHandoff(deps: DropHandoffDeps): DropHandoff {
  const { config, launcher, logger } = deps;

  async function drop(runnerName: string, why: string): Promise<void> {
    if (!launcher.dropHandoff) return;
    try {
      await launcher.dropHandoff(runnerName);
    } catch (error) {
      logger.warn('cannot delete the hand-off; its expiration will', { runnerName, why, error: String(error) });
    }
  }

  return {
    async onProgress(progress) {
      if (progress.action === 'waiting' || !progress.runnerName) return;
      // Only names this fleet minted: a job on someone else's runner has no hand-off of ours.
      if (!parseRunnerName(config.runner.namePrefix, progress.runnerName)) return;
      await drop(progress.runnerName, `job ${progress.jobId} ${progress.action}`);
    },
    async onRunnerEnded(runnerName) {
      await drop(runnerName, 'runner ended');
    },
  };
}
