import type { Baseline } from './baseline.ts';
import type { Classification } from './classify-failure.ts';
import { FailureClass } from './failure-class.ts';
import {
  backoff,
  FAILURE_RETRY_BACKOFF,
  giveUpReason,
  type JobLimits,
  type JobSpending,
  JobStep,
  PROVISION_RETRY_BACKOFF,
  spentBudget,
} from './job-budget.ts';
import { isTerminal, JobStatus } from './job-status.ts';
import { chooseRunnerVersion, type VersionChoice } from './version-policy.ts';

/**
 * What to do about a classified failure (docs/design.md "Failure classes"), with budgets: every failure ends in an
 * action or in `fail` with a human reason — a job is never silently dropped.
 */

export const ActionKind = {
  /** Run the regular-runner workaround for the scope, delete the stuck registration, re-mint, relaunch. */
  healMetadata: 'heal-metadata',
  /** Open the scope's breaker (see `breaker-policy.ts`); the job waits in `waiting-breaker`. */
  openBreaker: 'open-breaker',
  /** Stop the runner, delete its registration, re-mint under the next attempt, launch `version`. */
  relaunch: 'relaunch',
  /** Delete the registration and mint again under the next attempt's name, same version. */
  remint: 'remint',
  /** Repeat the step that failed after `backoffMs` (job `notBefore`). */
  retry: 'retry',
  /** The job's runner ran another job: launch a replacement if GitHub still shows the job queued. */
  replaceIfQueued: 'replace-if-queued',
  /** End the job `failed` with `reason`. */
  fail: 'fail',
  /** Nothing to do (stale or expected signal, or the runner retries by itself). */
  ignore: 'ignore',
} as const;
export type ActionKind = (typeof ActionKind)[keyof typeof ActionKind];

export type FailureAction =
  | { kind: 'heal-metadata' }
  | { kind: 'open-breaker' }
  | { kind: 'relaunch'; useFallbackVersion: boolean; version: string }
  | { kind: 'remint' }
  | { kind: 'retry'; backoffMs: number; notBefore: number }
  | { kind: 'replace-if-queued' }
  | { kind: 'fail'; reason: string }
  | { kind: 'ignore'; reason: string };

/** The usual action per class, as data (docs, `jit-runners job show`); {@link decide} applies budgets on top. */
export const ACTION_FOR_CLASS: Readonly<Record<FailureClass, ActionKind>> = {
  'metadata-missing': ActionKind.healMetadata,
  'breaker-open': ActionKind.openBreaker,
  'version-deprecated': ActionKind.relaunch,
  'registration-gone': ActionKind.remint,
  transient: ActionKind.retry,
  config: ActionKind.fail,
  stolen: ActionKind.replaceIfQueued,
  'start-timeout': ActionKind.remint,
  'checksum-mismatch': ActionKind.fail,
};

/** The job budgets (see `job-budget.ts`) and the scope's workaround budget, from `config.limits`. */
export interface FailureLimits extends JobLimits {
  /** Regular-runner workarounds per scope. */
  maxWorkaroundsPerScope: number;
}

/** `BASELINE_POLICY` values (same strings as the configuration). */
export type BaselinePolicyName = 'on-error' | 'proactive' | 'off';

export interface DecideInput {
  classification: Classification;
  /** What the job spent (heals: see {@link spendsHeal}), and its status. */
  job: JobSpending & { status?: JobStatus | undefined };
  /** Attempt of the runner the signal is about; a signal from an older attempt is stale. */
  signalAttempt?: number | undefined;
  /** We stopped or deleted that runner ourselves (healing, spare cleanup): its signals are expected. */
  runnerStoppedByUs?: boolean | undefined;
  /** When the failing runner's JIT config was minted: a baseline verified after that already healed the scope. */
  runnerMintedAt?: number | undefined;
  limits: FailureLimits;
  baselinePolicy: BaselinePolicyName;
  /** The scope's `BASELINE#` record, if any. */
  baseline?: Pick<Baseline, 'state' | 'verifiedOnlineAt' | 'workarounds'> | undefined;
  /** Version of the failing runner, the configured pin, fallback and floor. */
  versions: { current: string; pinned: string; fallback?: string | undefined; floor: string };
  now: number;
  /** [0, 1), for backoff jitter. */
  random: () => number;
}

/** Whether acting on `action` spends one of the job's heals (the use case bumps `Job.heals`). */
export function spendsHeal(action: FailureAction): boolean {
  switch (action.kind) {
    case 'heal-metadata':
    case 'relaunch':
    case 'remint':
    case 'retry':
    case 'replace-if-queued':
      return true;
    case 'open-breaker':
    case 'fail':
    case 'ignore':
      return false;
  }
}

/** Whether acting on `action` mints a new runner (the use case bumps `Job.attempt`). */
export function mintsRunner(action: FailureAction): boolean {
  switch (action.kind) {
    case 'heal-metadata':
    case 'relaunch':
    case 'remint':
    case 'replace-if-queued':
      return true;
    case 'open-breaker':
    case 'retry':
    case 'fail':
    case 'ignore':
      return false;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function failed(c: Classification, why: string): FailureAction {
  return { kind: 'fail', reason: `${c.class}: ${c.detail}; ${why}` };
}

/** `action` when the job's budgets allow a new runner after failure `c`, else `fail` with the give-up reason. */
function ifNewRunnerAllowed(
  c: Classification,
  job: JobSpending,
  limits: JobLimits,
  action: FailureAction,
  why = '',
): FailureAction {
  const spent = spentBudget(job, JobStep.newRunner, limits);
  return spent ? failed(c, `${giveUpReason(spent)}${why}`) : action;
}

/**
 * Decides what to do about one classified failure of a job. Pure: the same input gives the same
 * action, so a signal seen twice (the runner prints its error every retry) decides the same thing
 * and the use case's conditional writes make acting on it idempotent.
 */
export function decide(input: DecideInput): FailureAction {
  const { classification: c, job, limits } = input;
  const fromRunner = c.source === 'log' || c.source === 'timeout' || c.source === 'event';

  if (job.status !== undefined && isTerminal(job.status)) {
    return { kind: 'ignore', reason: `the job is already ${job.status}` };
  }
  if (fromRunner && input.signalAttempt !== undefined && input.signalAttempt < job.attempt) {
    return {
      kind: 'ignore',
      reason: `signal from attempt ${input.signalAttempt}; the job is at attempt ${job.attempt}`,
    };
  }
  if (fromRunner && input.runnerStoppedByUs) {
    return { kind: 'ignore', reason: 'we stopped that runner ourselves' };
  }
  // Why: the runner repeats its error line on every retry; the first one already moved the job to
  // `healing`, the rest must not start a second heal.
  if (fromRunner && job.status === JobStatus.healing) {
    return { kind: 'ignore', reason: 'the job is already being healed' };
  }

  /** Guards every action that mints a new runner. */
  const newRunner = (action: FailureAction, why = ''): FailureAction => ifNewRunnerAllowed(c, job, limits, action, why);

  switch (c.class) {
    case FailureClass.metadataMissing: {
      if (input.baselinePolicy === 'off') {
        return newRunner(
          { kind: 'remint' },
          '; the regular-runner workaround is disabled (baseline policy off): register a regular runner for the scope (`jit-runners baseline ensure`) or use the on-error policy',
        );
      }
      const baseline = input.baseline;
      // A baseline verified after this runner was minted means another job already healed the scope:
      // a fresh JIT config is all this job needs.
      if (
        baseline?.state === 'present' &&
        baseline.verifiedOnlineAt !== undefined &&
        input.runnerMintedAt !== undefined &&
        baseline.verifiedOnlineAt > input.runnerMintedAt
      ) {
        return newRunner({ kind: 'remint' });
      }
      // Another process is running the workaround: join it (the use case waits for it, no new run).
      if (baseline?.state === 'healing') return newRunner({ kind: 'heal-metadata' });
      const workarounds = baseline?.workarounds ?? 0;
      if (workarounds >= limits.maxWorkaroundsPerScope) {
        return failed(
          c,
          `the regular-runner workaround already ran ${plural(workarounds, 'time')} for the scope without healing it (limit ${limits.maxWorkaroundsPerScope})`,
        );
      }
      return newRunner({ kind: 'heal-metadata' });
    }

    case FailureClass.breakerOpen:
      // Waiting on GitHub's breaker is not the job's fault: no budget spent; the window is capped.
      return { kind: 'open-breaker' };

    case FailureClass.versionDeprecated: {
      let choice: VersionChoice;
      try {
        choice = chooseRunnerVersion({
          pinned: input.versions.pinned,
          fallback: input.versions.fallback,
          floor: input.versions.floor,
          lastFailureClass: FailureClass.versionDeprecated,
          previousVersion: input.versions.current,
        });
      } catch (error) {
        // Configuration parsing refuses such pins at start-up; this only guards hand-built inputs.
        return failed(c, error instanceof Error ? error.message : 'the pinned runner version is not usable');
      }
      if (choice.version === input.versions.current) {
        const hint =
          input.versions.fallback === undefined
            ? 'no fallback version is configured'
            : `the fallback ${input.versions.fallback} is the version that failed or is not usable`;
        return failed(
          c,
          `runner ${input.versions.current} is refused and ${hint}: pin a newer runner version (and set a newer fallback)`,
        );
      }
      return newRunner({ kind: 'relaunch', useFallbackVersion: choice.usedFallback, version: choice.version });
    }

    case FailureClass.registrationGone:
      return newRunner({ kind: 'remint' });

    case FailureClass.transient: {
      // The runner retries its own connect errors; the start timeout covers it if it never recovers.
      if (fromRunner) return { kind: 'ignore', reason: 'the runner retries this by itself' };
      const spent = spentBudget(job, JobStep.retry, limits);
      if (spent) return failed(c, giveUpReason(spent));
      const wait = backoff(job.heals + 1, FAILURE_RETRY_BACKOFF, input.random);
      const backoffMs = Math.max(wait, c.retryAfterMs ?? 0);
      return { kind: 'retry', backoffMs, notBefore: input.now + backoffMs };
    }

    case FailureClass.config:
      return failed(c, 'not retried: fix the configuration or the GitHub App, then re-run the job');

    case FailureClass.stolen:
      return newRunner({ kind: 'replace-if-queued' });

    case FailureClass.checksumMismatch:
      return failed(c, CHECKSUM_MISMATCH_HINT);

    case FailureClass.startTimeout: {
      // Nothing said why the runner never worked. In a scope with no verified baseline the known
      // cause is missing runner metadata with logs we did not see, so heal while the scope's
      // workaround budget lasts; otherwise (or when it is spent) just try a fresh runner.
      const noBaseline = input.baseline?.state !== 'present';
      const workaroundsLeft = (input.baseline?.workarounds ?? 0) < limits.maxWorkaroundsPerScope;
      if (input.baselinePolicy !== 'off' && noBaseline && workaroundsLeft) {
        return newRunner({ kind: 'heal-metadata' });
      }
      return newRunner({ kind: 'remint' });
    }
  }
}

/** Why a checksum mismatch is not retried, and what to do about it. */
const CHECKSUM_MISMATCH_HINT =
  'not retried: every attempt would download the same tarball. Check the entry in runner/checksums.json against the release notes of that version (or what between the runner and github.com alters downloads), then re-run the job';

/**
 * A JIT runner that exited (or whose build/instance ended) while its job was still `launched`: it never
 * took the job. A fresh runner while the job's budgets last, else `fail` with the give-up reason; an end
 * no fresh runner can change (the bootstrap refused the tarball, or found no checksum for it) fails at once.
 */
export function decideRunnerEnded(input: {
  classification: Classification;
  job: JobSpending;
  limits: JobLimits;
}): FailureAction {
  const c = input.classification;
  switch (c.class) {
    case FailureClass.checksumMismatch:
      return failed(c, CHECKSUM_MISMATCH_HINT);
    case FailureClass.config:
      return failed(c, 'not retried: fix the configuration, then re-run the job');
    case FailureClass.metadataMissing:
    case FailureClass.breakerOpen:
    case FailureClass.versionDeprecated:
    case FailureClass.registrationGone:
    case FailureClass.transient:
    case FailureClass.stolen:
    case FailureClass.startTimeout:
      return ifNewRunnerAllowed(c, input.job, input.limits, { kind: 'remint' });
  }
}

/** What the provisioner does about a failed mint or launch (see {@link decideProvisionFailure}). */
export type ProvisionAction =
  /** Park the job in `waiting-breaker` until the scope's breaker closes. */
  | { kind: 'open-breaker' }
  /** Provision the same attempt again (same runner name) after `backoffMs`. */
  | { kind: 'retry'; backoffMs: number; notBefore: number }
  /** Provision the next attempt (the next runner name) at once. */
  | { kind: 'remint' }
  | { kind: 'fail'; reason: string };

export interface ProvisionFailureInput {
  /** The scope guard's class for a GitHub error, or the launcher error's (`config`, else `transient`). */
  failureClass: FailureClass;
  /** What failed, in words: the start of the job's reason or retry note. */
  cause: string;
  /** Our own leftover registration held the job's runner name and is deleted now (see `provision-job.ts`). */
  nameLeftOver?: boolean | undefined;
  job: JobSpending;
  limits: JobLimits;
  now: number;
  /** [0, 1), for backoff jitter. */
  random: () => number;
}

/**
 * Decides what the provisioner does after a failed mint or launch. Transient provisioning failures spend
 * no attempt and no heal: they retry under the same runner name, and the scope's breaker is what bounds
 * them (docs/design.md "Budgets and backoff").
 */
export function decideProvisionFailure(input: ProvisionFailureInput): ProvisionAction {
  const { job, limits, cause } = input;
  if (input.nameLeftOver) {
    // The leftover was ours and is gone: go again at once under the next name rather than after a backoff.
    const spent = spentBudget(job, JobStep.nextName, limits);
    return spent ? { kind: 'fail', reason: `${cause}; ${giveUpReason(spent)}` } : { kind: 'remint' };
  }
  switch (input.failureClass) {
    case FailureClass.breakerOpen:
      return { kind: 'open-breaker' };
    case FailureClass.config:
    case FailureClass.checksumMismatch:
      return { kind: 'fail', reason: cause };
    case FailureClass.metadataMissing:
    case FailureClass.versionDeprecated:
    case FailureClass.registrationGone:
    case FailureClass.transient:
    case FailureClass.stolen:
    case FailureClass.startTimeout: {
      const spent = spentBudget(job, JobStep.mint, limits);
      if (spent) return { kind: 'fail', reason: `${cause}; ${giveUpReason(spent)}` };
      const backoffMs = backoff(job.attempt, PROVISION_RETRY_BACKOFF, input.random);
      return { kind: 'retry', backoffMs, notBefore: input.now + backoffMs };
    }
  }
}
