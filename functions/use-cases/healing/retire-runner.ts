import { RunnerKind, type RunnerRecord, RunnerState } from '../../domain/runner-record.ts';
import { type GitHubPort, GitHubRequestError, type GitHubTarget } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';

/**
 * A runner of ours that nothing needs any more: a spare, an orphan launch or registration, a failing
 * runner before its job's next attempt, the runner of a failed or waiting job, a baseline runner.
 */
export interface RunnerToRetire {
  runnerName: string;
  target: GitHubTarget;
  scopeKey: string;
  /** Default `jit`; the workaround retires its `baseline` runners through the same path. */
  kind?: RunnerKind | undefined;
  /** Job the runner was minted for, when known. */
  jobId?: number | undefined;
  runnerId?: number | undefined;
  /** Absent: no process to stop (only the registration is left). */
  launchId?: string | undefined;
  /** The process, build or instance already ended (an exit or state-change signal): nothing to stop. */
  processEnded?: boolean | undefined;
  version?: string | undefined;
  /** When the runner was launched, for a record written here for the first time (default: now). */
  launchedAt?: number | undefined;
  /** Why, for the log (never a secret). */
  reason: string;
  /**
   * A runner that may take a job between the caller's look and this retire (a spare, an orphan launch, a
   * failing runner whose scope may just have healed): its registration goes first, and GitHub's refusal to
   * delete a runner that is running a job (`422`) keeps it, process and all (`busy` in the outcome). Why:
   * stopping a runner that just took a job would cancel that job.
   */
  onlyIdle?: boolean | undefined;
}

export interface RetireOutcome {
  /** The `stopping` mark was written. False: nothing else was attempted (see {@link createRetireRunner}). */
  marked: boolean;
  /** This call stopped the process (false when there was none, it had ended, or the stop failed). */
  stopped: boolean;
  /** The registration is gone (deleted now, already gone, or never registered). */
  deleted: boolean;
  /** `onlyIdle` only: GitHub refused the delete because the runner runs a job; nothing was stopped. */
  busy?: true;
}

export interface RetireRunnerDeps {
  store: Pick<Store, 'runners'>;
  github: GitHubPort;
  launcher: RunnerLauncher;
  /** No GitHub call for a scope whose breaker is open: the registration is then left to the reconciler. */
  scopeGuard?: Pick<ScopeGuard, 'openUntil'> | undefined;
  logger: Logger;
  metrics: Metrics;
  /**
   * Told once the runner's process is gone (stopped now, or it had ended) or it never had one: a capped
   * pool takes its slot back here (`RunnerCapacity.runnerEnded`). Errors are logged, never thrown.
   */
  onProcessGone?: ((runnerName: string) => Promise<unknown>) | undefined;
}

/**
 * The one way a runner of ours is retired (docs/design.md "Retiring a runner"), used by every caller:
 * spare and orphan clean-up, runner-failure actions, approval waits, the stuck-job pass and the
 * regular-runner workaround.
 *
 * 1. Mark `RUNNER#<name>` `stopping` (creating the item when the provisioner never wrote one).
 * 2. Stop the process, build or instance, unless it already ended.
 * 3. Delete the registration (by id, or looked up by name), unless the scope's breaker is open.
 * 4. Mark it `stopped`.
 *
 * Why the process goes first: a registration deleted under a live process makes the runner log
 * "registration deleted" and exit, and a stopped process cannot take a job in between. A spare
 * (`onlyIdle`) is the exception: it may take a job between its caller's look and the stop, and stopping
 * it then cancels that job, so its registration goes first (steps 3, 2, 4) and GitHub's `422` for a
 * runner running a job keeps it.
 *
 * Races and repeats: the mark is an unconditional upsert, so it cannot lose a race. A second retirer of
 * the same runner (a reconciler next to a spare check, a retry after a crash that left the item in
 * `stopping`, a name retired again after it already ended) marks it again and repeats the steps, each
 * idempotent: stopping an ended launch does nothing, a registration already gone (not found, or a
 * `404` on delete) counts as deleted. Marking again also keeps the mark later than the runner's launch,
 * which is what `stoppedByUs` compares when the same name was launched again after a breaker pause.
 *
 * When the mark fails (the store is unavailable, or throttles past the SDK's retries): nothing else is
 * done, the outcome says `marked: false` and the call does not throw. Why not carry on: the mark is how
 * the runner-signal handler knows that the exit or the "registration deleted" line that follows our stop
 * is ours and no registration-gone failure; without it our own stop could spend an attempt. Nothing is
 * lost by waiting: every caller has moved the job on before it retires (terminal, waiting, or the next
 * attempt), so the reconciler's orphan sweep finds the runner again and retires it then. The exception
 * is a breaker pause (same attempt, same name): the relaunch after it meets the leftover registration
 * as a `409` and adopts or deletes it.
 *
 * A failed stop is logged and the delete still runs (a live process whose registration is gone exits by
 * itself). A failed delete leaves the item in `stopping`: the orphan sweep deletes the registration later.
 * Best effort throughout: it never throws.
 */
export function createRetireRunner(deps: RetireRunnerDeps) {
  const { store, github, launcher, scopeGuard, logger, metrics, onProcessGone } = deps;

  async function mark(runner: RunnerToRetire, state: RunnerState, now: number): Promise<void> {
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
          kind: runner.kind ?? RunnerKind.jit,
          scopeKey: runner.scopeKey,
          installationId: runner.target.installationId,
          ...(runner.jobId !== undefined ? { jobId: runner.jobId } : {}),
          ...(runner.runnerId !== undefined ? { runnerId: runner.runnerId } : {}),
          ...(runner.launchId !== undefined ? { launchId: runner.launchId } : {}),
          version: runner.version ?? 'unknown',
          state,
          createdAt: runner.launchedAt ?? now,
        },
        now,
      );
    }
  }

  async function deleteRegistration(runner: RunnerToRetire): Promise<void> {
    try {
      const runnerId = runner.runnerId ?? (await github.findRunnerByName(runner.target, runner.runnerName))?.id;
      if (runnerId !== undefined) await github.deleteRunner(runner.target, runnerId);
    } catch (error) {
      // Gone already (it was ephemeral and unregistered itself, or another retirer was first): done.
      if (error instanceof GitHubRequestError && error.status === 404) return;
      throw error;
    }
  }

  /**
   * `onlyIdle`: the registration first. True when GitHub refused because the runner runs a job (it is then
   * kept: nothing is stopped, the mark goes back). Otherwise the retire goes on as usual (the stop, then a
   * delete unless this one succeeded): a breaker-open scope or a failed delete leaves no better choice than
   * the stop it always made.
   */
  async function deleteWhileIdle(
    runner: RunnerToRetire,
    outcome: RetireOutcome,
    breakerOpen: () => Promise<boolean>,
    now: number,
  ): Promise<boolean> {
    const fields = { runnerName: runner.runnerName, jobId: runner.jobId, reason: runner.reason };
    try {
      if (await breakerOpen()) return false;
      await deleteRegistration(runner);
      outcome.deleted = true;
      return false;
    } catch (error) {
      if (error instanceof GitHubRequestError && error.status === 422) {
        // It took a job after the caller looked: stopping it would cancel that job. The mark goes back,
        // so its end is its own.
        await mark(runner, RunnerState.running, now).catch((cause: unknown) =>
          logger.warn('cannot clear the stopping mark of a busy runner', { ...fields, error: String(cause) }),
        );
        logger.info('runner kept: it is running a job', fields);
        return true;
      }
      logger.warn('cannot delete the runner registration before its stop', { ...fields, error: String(error) });
      return false;
    }
  }

  return async function retireRunner(runner: RunnerToRetire, now: number): Promise<RetireOutcome> {
    const outcome: RetireOutcome = { marked: false, stopped: false, deleted: false };
    const fields = { runnerName: runner.runnerName, jobId: runner.jobId, reason: runner.reason };
    try {
      await mark(runner, RunnerState.stopping, now);
      outcome.marked = true;
    } catch (error) {
      logger.warn('cannot mark the runner stopping; left for the next reconcile', { ...fields, error: String(error) });
      return outcome;
    }
    // Asked once per retire: an onlyIdle retire whose first delete was skipped for it must not ask again.
    let open: boolean | undefined;
    const breakerOpen = async () => {
      open ??= scopeGuard !== undefined && (await scopeGuard.openUntil(runner.scopeKey, now)) !== undefined;
      return open;
    };
    if (runner.onlyIdle && (await deleteWhileIdle(runner, outcome, breakerOpen, now))) {
      return { ...outcome, busy: true };
    }
    if (runner.launchId !== undefined && !runner.processEnded) {
      try {
        await launcher.stop(runner.launchId);
        outcome.stopped = true;
      } catch (error) {
        logger.warn('cannot stop the runner process', { ...fields, launchId: runner.launchId, error: String(error) });
      }
    }
    // A failed stop leaves the process maybe alive: its slot stays held until its end (or the reconciler).
    const gone = runner.launchId === undefined || runner.processEnded === true || outcome.stopped;
    if (gone && onProcessGone && (runner.kind ?? RunnerKind.jit) === RunnerKind.jit) {
      await onProcessGone(runner.runnerName).catch((error: unknown) =>
        logger.warn('cannot release the runner slot; the reconciler frees it', { ...fields, error: String(error) }),
      );
    }
    try {
      if (!outcome.deleted && (await breakerOpen())) {
        logger.info('breaker open: the runner registration is left for the reconciler', fields);
        return outcome;
      }
      if (!outcome.deleted) await deleteRegistration(runner);
      outcome.deleted = true;
    } catch (error) {
      logger.warn('cannot delete the runner registration', { ...fields, error: String(error) });
      return outcome;
    }
    await mark(runner, RunnerState.stopped, now).catch((error: unknown) =>
      logger.warn('cannot mark the runner stopped', { ...fields, error: String(error) }),
    );
    metrics.count(CountMetric.runnerRetired);
    logger.info('runner retired', fields);
    return outcome;
  };
}

export type RetireRunner = ReturnType<typeof createRetireRunner>;
