import type { Config } from '../../config/config.ts';
import {
  type Classification,
  ClassificationSource,
  classifyBootstrapExit,
  classifyLogLine,
} from '../../domain/classify-failure.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import type { ActionKind, FailureAction } from '../../domain/failure-policy.ts';
import { isTerminal, JobStatus } from '../../domain/job-status.ts';
import { parseRunnerName } from '../../domain/runner-name.ts';
import { SignalVerdict } from '../../domain/signal-confirmation.ts';
import { warmReadyName } from '../../domain/warm-ready-line.ts';
import type { Clock, Logger } from '../../ports/runtime.ts';
import type { JobRepository } from '../../ports/store.ts';
import type { ConfirmRunnerSignal } from './confirm-runner-signal.ts';
import type { RunnerFailure, RunnerFailureActions } from './runner-failure-actions.ts';

/**
 * What a watcher saw about one runner: a log line (stdout/stderr, `_diag/*.log`, a CloudWatch Logs
 * event), the exit of its process, or a platform state change (CodeBuild build / EC2 instance).
 */
export type RunnerSignal =
  | { kind: 'log'; runnerName: string; line: string; source: string; at: number; launchId?: string }
  | { kind: 'exit'; runnerName: string; code: number | null; signal?: string | null; at: number; launchId?: string }
  | {
      kind: 'state';
      runnerName: string;
      state: string;
      at: number;
      launchId?: string;
      /** The bootstrap's exit status when the platform reports it (a CodeBuild build phase's context). */
      exitCode?: number;
    };

export interface SignalOutcome {
  /** Whether the signal changed anything (a job write). */
  acted: boolean;
  action?: ActionKind;
  note: string;
}

export interface HandleRunnerSignalDeps {
  config: Pick<Config, 'runner'>;
  jobs: Pick<JobRepository, 'get'>;
  actions: RunnerFailureActions;
  /**
   * Asks GitHub or the platform whether the signal is true (docs/design.md "Signals are hints"): nothing
   * is stopped, opened or spent on a signal it does not confirm.
   */
  confirm: ConfirmRunnerSignal;
  clock: Clock;
  logger: Logger;
  /**
   * Told of every exit and every ended platform state, whatever the exit code (a capped pool takes the
   * runner's slot back: `RunnerCapacity.runnerEnded`). Errors are logged, never thrown.
   */
  onRunnerEnded?: ((runnerName: string) => Promise<unknown>) | undefined;
  /**
   * Told of a warm runner's ready line (`domain/warm-ready-line.ts`) that names the runner the line's launch
   * belongs to; resolves whether the record moved to `ready` (`WarmPool.runnerReady`). Errors are logged.
   */
  onWarmReady?: ((runnerName: string, launchId: string | undefined, at: number) => Promise<boolean>) | undefined;
}

/**
 * Platform states that mean the runner's build or instance ended (CodeBuild build states, EC2 instance
 * states, lower-cased). A JIT runner that ends while its job is still `launched` never took the job.
 */
/**
 * The state the reconciler reports for a `launched` job's launch that its platform no longer lists
 * (`reconcile/find-lost-launches.ts`): the process, build or instance is gone and its end was never seen.
 */
export const LOST_LAUNCH_STATE = 'gone';

const ENDED_STATES: ReadonlySet<string> = new Set([
  LOST_LAUNCH_STATE,
  'failed',
  'fault',
  'timed_out',
  'stopped',
  'stopping',
  'shutting-down',
  'terminated',
]);

const UNKNOWN_LINE: SignalOutcome = Object.freeze({ acted: false, note: 'no failure signature' });
const FOREVER = Number.POSITIVE_INFINITY;
/**
 * How long a runner's log lines are dropped after one was not confirmed. Why: a looping (or forged)
 * line repeats every few seconds and each confirmation costs GitHub calls; a genuine failure is met
 * again after the pause, and the start timeout is the backstop either way.
 */
export const UNCONFIRMED_QUIET_MS = 30_000;
/**
 * The pause after a line GitHub or the platform could not be asked about (a lookup failed, the breaker is
 * open): shorter, because nothing refuted the line; a genuine failure met during a GitHub hiccup is looked
 * at again within seconds instead of waiting out the whole pause.
 */
export const UNDETERMINED_QUIET_MS = 5_000;
/** Bound on the in-memory "already handled" map (one entry per runner name). */
const MAX_QUIET_ENTRIES = 10_000;

const ignored = (note: string, action?: ActionKind): SignalOutcome =>
  action === undefined ? { acted: false, note } : { acted: false, action, note };

function endedClassification(signal: Exclude<RunnerSignal, { kind: 'log' }>): Classification | undefined {
  if (signal.kind === 'exit') {
    if (signal.code === 0) return undefined;
    const how =
      signal.code === null
        ? `was killed${signal.signal ? ` by ${signal.signal}` : ''}`
        : `exited with code ${signal.code}`;
    return {
      class: FailureClass.transient,
      signature: 'runner-exited',
      detail: `runner ${signal.runnerName} ${how} before it took its job`,
      source: ClassificationSource.event,
    };
  }
  const state = signal.state.trim().toLowerCase();
  if (!ENDED_STATES.has(state)) return undefined;
  // An exit no fresh runner can change (checksum mismatch, no checksum) is classified by the domain.
  const bootstrap =
    signal.exitCode === undefined
      ? undefined
      : classifyBootstrapExit({ runnerName: signal.runnerName, code: signal.exitCode });
  if (bootstrap) return bootstrap;
  return {
    class: FailureClass.transient,
    signature: 'runner-ended',
    detail:
      state === LOST_LAUNCH_STATE
        ? `runner ${signal.runnerName} is gone before it took its job (its launch is no longer listed; its end was not seen)`
        : `runner ${signal.runnerName} ended (${signal.state}) before it took its job`,
    source: ClassificationSource.event,
  };
}

/**
 * Acts on runner signals (docs/design.md "Failure classes"). The local launcher calls it for every output line, so the common
 * case — a line no signature matches — returns before any I/O. A matching line costs one job read; the
 * runner repeats its error on every retry, so once a runner has been acted on (or found stale) its later
 * signals are dropped in memory, and the conditional job write in the actions guarantees one action even
 * across processes.
 */
export function createHandleRunnerSignal(deps: HandleRunnerSignalDeps) {
  const { config, jobs, actions, clock, logger } = deps;
  const prefix = config.runner.namePrefix;
  /** Runner name → time until which its signals are dropped without a read. */
  const quietUntil = new Map<string, number>();
  /** Runner names with a signal being handled right now (copies arriving meanwhile are dropped). */
  const inFlight = new Set<string>();

  function quiet(runnerName: string, until: number): void {
    if (quietUntil.size >= MAX_QUIET_ENTRIES) {
      // Oldest first (Map keeps insertion order): names of long-finished jobs.
      for (const name of [...quietUntil.keys()].slice(0, MAX_QUIET_ENTRIES / 10)) quietUntil.delete(name);
    }
    quietUntil.set(runnerName, until);
  }

  async function handle(
    signal: RunnerSignal,
    classification: Classification,
    parsed: { jobId: number; attempt: number },
  ): Promise<SignalOutcome> {
    const { runnerName } = signal;
    const job = await jobs.get(parsed.jobId);
    if (!job) {
      quiet(runnerName, FOREVER);
      return ignored(`job ${parsed.jobId} is not recorded`);
    }
    if (isTerminal(job.status)) {
      quiet(runnerName, FOREVER);
      return ignored(`job ${job.jobId} is already ${job.status}`);
    }
    if (parsed.attempt < job.attempt) {
      // Names are never reused across attempts: this runner's signals are stale for good.
      quiet(runnerName, FOREVER);
      return ignored(`signal from attempt ${parsed.attempt}; the job is at attempt ${job.attempt}`);
    }
    if (parsed.attempt > job.attempt) return ignored(`signal from attempt ${parsed.attempt} ahead of the job`);
    if (job.status !== JobStatus.launched) {
      // Provisioning (the launch is not recorded yet: the runner repeats its line), running, waiting…
      return ignored(`job ${job.jobId} is ${job.status}, not launched`);
    }
    if (signal.kind !== 'log' && job.launchedAt !== undefined && signal.at < job.launchedAt) {
      return ignored('signal from an earlier launch of this runner name');
    }

    const now = clock.now();
    const failure: RunnerFailure = {
      job,
      runnerName,
      classification,
      processEnded: signal.kind !== 'log',
      launchId: signal.kind === 'state' ? undefined : signal.launchId,
    };
    if (signal.kind !== 'log' && (await actions.stoppedByUs(job, runnerName))) {
      return ignored('we stopped that runner ourselves');
    }
    // Signals are hints: only what GitHub or the platform confirms may stop, open or spend anything.
    const confirmation = await deps.confirm(
      { kind: signal.kind, runnerName, failureClass: classification.class, job, launchId: signal.launchId },
      now,
    );
    if (confirmation.verdict !== SignalVerdict.confirmed) {
      // A state event is not repeated by the platform: a later one (terminated after shutting-down) gets its chance.
      if (signal.kind === 'log') {
        const pause =
          confirmation.verdict === SignalVerdict.undetermined ? UNDETERMINED_QUIET_MS : UNCONFIRMED_QUIET_MS;
        quiet(runnerName, now + pause);
      }
      logger.info('runner signal not confirmed; nothing done', {
        runnerName,
        signature: classification.signature,
        verdict: confirmation.verdict,
        reason: confirmation.reason,
      });
      return ignored(`not confirmed (${confirmation.verdict}): ${confirmation.reason}`);
    }
    const action: FailureAction =
      signal.kind === 'log' ? await actions.decideFor(failure, now) : actions.decideEnded(failure);
    const outcome = await actions.act(failure, action, now);
    if (outcome.acted) {
      // A new attempt or a terminal job: this name will never matter again. A breaker pause keeps the
      // attempt (and name) for the relaunch, so it only silences the old runner until the window ends.
      const until = action.kind === 'open-breaker' ? (outcome.job?.notBefore ?? now) : FOREVER;
      quiet(runnerName, until);
    }
    return { acted: outcome.acted, action: outcome.action, note: outcome.note };
  }

  /** Whether the signal says the runner's process, build or instance is gone. */
  const ended = (signal: RunnerSignal) =>
    signal.kind === 'exit' || (signal.kind === 'state' && ENDED_STATES.has(signal.state.trim().toLowerCase()));

  return async function handleRunnerSignal(signal: RunnerSignal): Promise<SignalOutcome> {
    if (deps.onRunnerEnded && ended(signal)) {
      await deps.onRunnerEnded(signal.runnerName).catch((error: unknown) =>
        logger.warn('cannot release the runner slot; the reconciler frees it', {
          runnerName: signal.runnerName,
          error: String(error),
        }),
      );
    }
    if (signal.kind === 'log' && deps.onWarmReady) {
      const named = warmReadyName(signal.line);
      // The line must name the runner its log stream belongs to: a warm runner reports only itself.
      if (named !== undefined) {
        if (named !== signal.runnerName) return ignored(`a ready line naming ${named} from ${signal.runnerName}`);
        const ready = await deps.onWarmReady(signal.runnerName, signal.launchId, signal.at).catch((error: unknown) => {
          logger.warn('cannot record a warm runner as ready', { runnerName: signal.runnerName, error: String(error) });
          return false;
        });
        return ready
          ? { acted: true, note: `warm runner ${signal.runnerName} is ready` }
          : ignored(`warm runner ${signal.runnerName} is not booting under that launch`);
      }
    }
    let classification: Classification | undefined;
    switch (signal.kind) {
      case 'log':
        classification = classifyLogLine(signal.line);
        break;
      case 'exit':
      case 'state':
        classification = endedClassification(signal);
        break;
    }
    if (!classification) return UNKNOWN_LINE;
    // The runner retries these by itself (decide says the same); the start timeout covers one that never recovers.
    if (signal.kind === 'log' && classification.class === FailureClass.transient) {
      return ignored('the runner retries this by itself');
    }
    const parsed = parseRunnerName(config.runner.namePrefix, signal.runnerName);
    if (!parsed) return ignored(`${signal.runnerName} is not a JIT runner name of prefix ${prefix}`);
    const { runnerName } = signal;
    if ((quietUntil.get(runnerName) ?? 0) > clock.now()) return ignored('runner already handled');
    if (inFlight.has(runnerName)) return ignored('a signal of this runner is being handled');

    inFlight.add(runnerName);
    try {
      const outcome = await handle(signal, classification, parsed);
      if (outcome.acted) {
        logger.info('runner signal acted on', {
          runnerName,
          signature: classification.signature,
          source: signal.kind === 'log' ? signal.source : signal.kind,
          action: outcome.action,
        });
      }
      return outcome;
    } finally {
      inFlight.delete(runnerName);
    }
  };
}

export type HandleRunnerSignal = ReturnType<typeof createHandleRunnerSignal>;
