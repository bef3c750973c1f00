import type { Config } from '../../config/config.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import { isWarmRunnerName } from '../../domain/warm-pool.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import type { Logger } from '../../ports/runtime.ts';
import type { JobRepository } from '../../ports/store.ts';
import type { JobProgress } from '../ingress/accept-webhook.ts';

export interface DropHandoffDeps {
  config: Pick<Config, 'runner'>;
  launcher: RunnerLauncher;
  logger: Logger;
  /**
   * Jobs, read when a JIT runner's build or instance ended, to learn whether it ran in a warm runner. Wire it
   * only where jobs can be served warm: without it an ended runner's own hand-off is deleted, as for a cold one.
   */
  jobs?: Pick<JobRepository, 'get'> | undefined;
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
 *
 * A job served warm had its config handed to a warm runner, under the name planned from the warm runner's
 * name (the only name that runner knew before the job existed), so that is the name deleted, not the job's
 * runner's: `dropHandoff(<job runner name>)` would miss it and leave the secret readable until the
 * expiration. On progress the warm name comes with the delivery (accept-webhook takes it from the job its
 * write returned: no read). An ended CodeBuild build keeps its warm name, an ended EC2 instance carries the
 * job's runner name: only that case reads the job, off the webhook path.
 */
export function createDropHandoff(deps: DropHandoffDeps): DropHandoff {
  const { config, launcher, logger, jobs } = deps;
  const prefix = config.runner.namePrefix;

  async function drop(handoffOf: string, runnerName: string, why: string): Promise<void> {
    if (!launcher.dropHandoff) return;
    try {
      await launcher.dropHandoff(handoffOf);
    } catch (error) {
      logger.warn('cannot delete the hand-off; its expiration will', {
        runnerName,
        ...(handoffOf !== runnerName ? { warmName: handoffOf } : {}),
        why,
        error: String(error),
      });
    }
  }

  /** The warm runner an ended JIT runner ran in, from its job's record; undefined for a cold one. */
  async function warmNameOf(runnerName: string): Promise<string | undefined> {
    const minted = jobs && parseRunnerName(prefix, runnerName);
    if (!minted) return undefined;
    try {
      const job = await jobs.get(minted.jobId);
      return job?.runnerName === runnerName ? job.warmName : undefined;
    } catch (error) {
      logger.warn('cannot read the job of an ended runner; deleting its own hand-off only', {
        runnerName,
        error: String(error),
      });
      return undefined;
    }
  }

  const isWarm = (name: string | undefined): name is string => name !== undefined && isWarmRunnerName(prefix, name);

  return {
    async onProgress(progress) {
      if (progress.action === 'waiting' || !progress.runnerName) return;
      // Only names this fleet minted: a job on someone else's runner has no hand-off of ours.
      if (!parseRunnerName(prefix, progress.runnerName)) return;
      const handoffOf = isWarm(progress.warmName) ? progress.warmName : progress.runnerName;
      await drop(handoffOf, progress.runnerName, `job ${progress.jobId} ${progress.action}`);
    },
    async onRunnerEnded(runnerName) {
      if (!launcher.dropHandoff) return;
      const warmName = await warmNameOf(runnerName);
      await drop(isWarm(warmName) ? warmName : runnerName, runnerName, 'runner ended');
    },
  };
}
