import { FailureClass } from './failure-class.ts';

/**
 * Signals are hints (docs/design.md "Signals are hints"): a runner log line or a build/instance state
 * event says what a runner claims, and anything that can write a runner's log can write that claim.
 * Before a signal may stop a runner, open a breaker or spend a budget, GitHub's API or the platform must
 * confirm it. This module holds the rule — what confirms what — as data in, verdict out; the use case
 * (`use-cases/healing/confirm-runner-signal.ts`) asks the questions.
 */

export const SignalVerdict = {
  /** GitHub or the platform agrees: act on the signal. */
  confirmed: 'confirmed',
  /** GitHub or the platform contradicts it (the runner is working, still registered, still running). */
  refuted: 'refuted',
  /** No answer could be had (API trouble, the scope's breaker open): do nothing now. */
  undetermined: 'undetermined',
} as const;
export type SignalVerdict = (typeof SignalVerdict)[keyof typeof SignalVerdict];

/** Where a signal came from, as far as trust goes. */
export const SignalKind = {
  /** A runner log line: CloudWatch Logs (runner-events) or the local launcher's tail of the runner's output. */
  log: 'log',
  /** The local launcher saw its own child process end: the platform itself reporting. */
  exit: 'exit',
  /** A CodeBuild build or EC2 instance state change event. */
  state: 'state',
} as const;
export type SignalKind = (typeof SignalKind)[keyof typeof SignalKind];

/** GitHub's answer about the runner (`GET …/actions/runners/{id}`, or the list by name). */
export type RunnerFact =
  | { kind: 'registered'; status: 'online' | 'offline'; busy: boolean }
  /** 404, or no runner of that name. */
  | { kind: 'gone' }
  /** The lookup failed: `status` 0 for no answer; `breakerOpen` when the body said `breaker open`. */
  | { kind: 'unanswered'; status: number; breakerOpen: boolean };

/** GitHub's answer about the job the runner was minted for (`GET …/actions/jobs/{job_id}`). */
export type JobFact =
  | { kind: 'found'; status: string; runnerName: string | null }
  | { kind: 'gone' }
  | { kind: 'unanswered'; status: number };

/** The platform's answer about the build or instance (the launcher's list of active launches). */
export type LaunchFact = { kind: 'active' } | { kind: 'ended' } | { kind: 'unanswered' };

/** Which questions a signal needs answered before it may act. */
export interface ConfirmationNeeds {
  runner: boolean;
  job: boolean;
  launch: boolean;
}

export interface ConfirmationInput {
  signal: SignalKind;
  failureClass: FailureClass;
  runnerName: string;
  /** Absent: not asked (yet). */
  runner?: RunnerFact | undefined;
  job?: JobFact | undefined;
  launch?: LaunchFact | undefined;
}

export interface Confirmation {
  verdict: SignalVerdict;
  /** A sentence for the log and the outcome note: names and statuses only, never the signal's text. */
  reason: string;
}

const NONE: ConfirmationNeeds = Object.freeze({ runner: false, job: false, launch: false });
const LOG_NEEDS: ConfirmationNeeds = Object.freeze({ runner: true, job: true, launch: false });
const STATE_NEEDS: ConfirmationNeeds = Object.freeze({ runner: false, job: false, launch: true });

/**
 * What must be asked before a signal of `kind` acts. A log line: the runner's registration and the job
 * on GitHub (the runner lookup first: a busy runner refutes without the second call). A state event:
 * whether the platform still lists the build or instance. A local exit: nothing (the launcher saw it).
 */
export function confirmationNeeds(kind: SignalKind): ConfirmationNeeds {
  switch (kind) {
    case SignalKind.log:
      return LOG_NEEDS;
    case SignalKind.state:
      return STATE_NEEDS;
    case SignalKind.exit:
      return NONE;
  }
}

const confirmed = (reason: string): Confirmation => ({ verdict: SignalVerdict.confirmed, reason });
const refuted = (reason: string): Confirmation => ({ verdict: SignalVerdict.refuted, reason });
const undetermined = (reason: string): Confirmation => ({ verdict: SignalVerdict.undetermined, reason });

/**
 * The failure's own face in the API, which confirms its line even when the runner lookup fails: the
 * metadata failure answers 500/503 for the stuck runner (docs/design.md "Why it exists"), GitHub's
 * backend breaker answers `breaker open`.
 */
function apiFaceConfirms(failureClass: FailureClass, runner: RunnerFact & { kind: 'unanswered' }): boolean {
  if (failureClass === FailureClass.breakerOpen) return runner.breakerOpen;
  if (failureClass === FailureClass.metadataMissing) return runner.status === 500 || runner.status === 503;
  return false;
}

function judgeLogLine(input: ConfirmationInput): Confirmation {
  const { failureClass, runnerName, runner, job } = input;
  const name = `runner ${runnerName}`;
  // Healthy facts refute every class: a runner that is working has no failure to heal.
  if (runner?.kind === 'registered' && runner.busy) return refuted(`GitHub shows ${name} busy running a job`);
  if (job?.kind === 'found' && job.status !== 'queued') {
    const on = job.runnerName ? ` on runner ${job.runnerName}` : '';
    return refuted(`GitHub shows the job ${job.status}${on}, not waiting for a runner`);
  }
  if (job?.kind === 'gone') return refuted('GitHub no longer knows the job');
  if (runner === undefined) return undetermined(`${name} was not looked up`);

  if (failureClass === FailureClass.registrationGone) {
    // The line says the registration is gone: only GitHub not knowing the runner confirms it.
    if (runner.kind === 'registered') return refuted(`GitHub still has ${name} registered (${runner.status})`);
    if (runner.kind === 'unanswered') return undetermined(lookupFailed(name, runner.status));
  } else {
    // Every other class is about a runner that is registered but cannot get its job.
    if (runner.kind === 'gone') return refuted(`GitHub does not know ${name}: its line does not fit`);
    if (runner.kind === 'unanswered' && !apiFaceConfirms(failureClass, runner)) {
      return undetermined(lookupFailed(name, runner.status));
    }
  }
  if (job === undefined) return undetermined('the job was not looked up on GitHub');
  if (job.kind === 'unanswered') return undetermined(`the job lookup ${answered(job.status)}`);
  return confirmed(`${describeRunner(name, runner)} and GitHub shows the job still queued`);
}

function describeRunner(name: string, runner: RunnerFact): string {
  switch (runner.kind) {
    case 'registered':
      return `GitHub shows ${name} ${runner.status} and idle`;
    case 'gone':
      return `GitHub does not know ${name}`;
    case 'unanswered':
      return `the lookup of ${name} ${answered(runner.status)}${runner.breakerOpen ? ' (breaker open)' : ''}`;
  }
}

const answered = (status: number) => (status === 0 ? 'got no answer' : `answered ${status}`);
const lookupFailed = (name: string, status: number) => `the lookup of ${name} ${answered(status)}`;

/**
 * Whether a signal may act. Pure: the same facts give the same verdict.
 *
 * - `exit` (the local launcher's own child process): confirmed; the platform itself saw it.
 * - `state`: confirmed only when the platform no longer lists the build or instance as active.
 * - `log`: refuted by any healthy fact (the runner busy; the job in progress, completed, waiting or gone
 *   on GitHub). Otherwise a `registration-gone` line needs GitHub not to know the runner; every other
 *   class needs the runner registered and idle (or its lookup failing the failure's own way: 500/503 for
 *   missing metadata, `breaker open`) and the job still queued on GitHub.
 */
export function judgeSignal(input: ConfirmationInput): Confirmation {
  switch (input.signal) {
    case SignalKind.exit:
      return confirmed('the launcher saw the runner process end');
    case SignalKind.state:
      return judgeState(input.launch);
    case SignalKind.log:
      return judgeLogLine(input);
  }
}

function judgeState(launch: LaunchFact | undefined): Confirmation {
  switch (launch?.kind) {
    case 'ended':
      return confirmed('the platform no longer lists the build or instance as running');
    case 'active':
      return refuted('the platform still lists the build or instance as running');
    case 'unanswered':
      return undetermined('the platform could not be asked about the build or instance');
    case undefined:
      return undetermined('the platform was not asked about the build or instance');
  }
}
