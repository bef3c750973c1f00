import { RunnerKind, type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import type { GitHubPort, GitHubTarget } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';

/** A JIT runner of ours that nothing needs any more (a spare, an orphan launch or registration). */
export interface RunnerToRetire {
  runnerName: string;
  target: GitHubTarget;
  scopeKey: string;
  /** Job the runner was minted for, when known. */
  jobId?: number | undefined;
  runnerId?: number | undefined;
  /** Absent: no process to stop (only the registration is left). */
  launchId?: string | undefined;
  version?: string | undefined;
  /** Why, for the log (never a secret). */
  reason: string;
}

export interface RetireOutcome {
  stopped: boolean;
  deleted: boolean;
}

export interface RetireRunnerDeps {
  store: Pick<Store, 'runners'>;
  github: GitHubPort;
  launcher: RunnerLauncher;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Stops a runner of ours: process first, then the registration (docs/design.md "Retiring a runner").
 * Why this order: a registration deleted under a live process makes the runner log "registration
 * deleted" and exit, which is noise at best; a stopped process cannot take a job in between.
 *
 * The `RUNNER#` item goes to `stopping` before anything is touched and to `stopped` at the end. That
 * is how the runner-signal handler knows the exit or the "registration deleted" line that follows was
 * caused by us and is no registration-gone failure (`RunnerFailureActions.stoppedByUs`). Best effort:
 * a failed step is logged and left for the next reconcile; it never throws.
 */
export function createRetireRunner(deps: RetireRunnerDeps) {
  const { store, github, launcher, logger, metrics } = deps;

  async function record(runner: RunnerToRetire, state: RunnerState, now: number): Promise<void> {
    const set: Partial<Omit<RunnerRecord, 'name' | 'createdAt' | 'updatedAt'>> = { state };
    if (runner.runnerId !== undefined) set.runnerId = runner.runnerId;
    if (runner.launchId !== undefined) set.launchId = runner.launchId;
    try {
      await store.runners.update(runner.runnerName, set, now);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      // No item yet: the provisioner keeps none for JIT runners, so write the whole record.
      await store.runners.put(
        {
          name: runner.runnerName,
          kind: RunnerKind.jit,
          scopeKey: runner.scopeKey,
          installationId: runner.target.installationId,
          ...(runner.jobId !== undefined ? { jobId: runner.jobId } : {}),
          ...(runner.runnerId !== undefined ? { runnerId: runner.runnerId } : {}),
          ...(runner.launchId !== undefined ? { launchId: runner.launchId } : {}),
          version: runner.version ?? 'unknown',
          state,
          createdAt: now,
        },
        now,
      );
    }
  }

  return async function retireRunner(runner: RunnerToRetire, now: number): Promise<RetireOutcome> {
    const outcome: RetireOutcome = { stopped: false, deleted: false };
    const fields = { runnerName: runner.runnerName, jobId: runner.jobId, reason: runner.reason };
    try {
      await record(runner, RunnerState.stopping, now);
    } catch (error) {
      // Without the marker a later "registration deleted" line could be taken for a failure: stop here.
      logger.warn('cannot mark the runner stopping; left for the next reconcile', { ...fields, error: String(error) });
      return outcome;
    }
    if (runner.launchId !== undefined) {
      try {
        await launcher.stop(runner.launchId);
        outcome.stopped = true;
      } catch (error) {
        logger.warn('cannot stop the runner process', { ...fields, launchId: runner.launchId, error: String(error) });
      }
    }
    try {
      const runnerId = runner.runnerId ?? (await github.findRunnerByName(runner.target, runner.runnerName))?.id;
      if (runnerId !== undefined) await github.deleteRunner(runner.target, runnerId);
      outcome.deleted = true;
    } catch (error) {
      logger.warn('cannot delete the runner registration', { ...fields, error: String(error) });
      return outcome;
    }
    await record(runner, RunnerState.stopped, now).catch((error: unknown) =>
      logger.warn('cannot mark the runner stopped', { ...fields, error: String(error) }),
    );
    metrics.count('RunnerRetired');
    logger.info('runner retired', fields);
    return outcome;
  };
}

export type RetireRunner = ReturnType<typeof createRetireRunner>;
