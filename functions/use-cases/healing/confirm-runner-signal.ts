import type { Config } from '../../config/config.ts';
import type { FailureClass } from '../../domain/failure-class.ts';
import type { Job } from '../../domain/job.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import {
  type Confirmation,
  confirmationNeeds,
  type JobFact,
  judgeSignal,
  type LaunchFact,
  type RunnerFact,
  type SignalKind,
  SignalVerdict,
} from '../../domain/signal-confirmation.ts';
import { type GitHubPort, GitHubRequestError, type GitHubTarget } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';

export interface ConfirmRunnerSignalDeps {
  config: Pick<Config, 'runner'>;
  github: Pick<GitHubPort, 'getRunner' | 'findRunnerByName' | 'getWorkflowJob'>;
  launcher: Pick<RunnerLauncher, 'listActive'>;
  /** No GitHub call for a scope whose breaker is open: the signal then stays undetermined. */
  scopeGuard: Pick<ScopeGuard, 'openUntil'>;
}

/** A classified signal about the runner of a `launched` job, before anything acts on it. */
export interface SignalToConfirm {
  kind: SignalKind;
  runnerName: string;
  failureClass: FailureClass;
  /** The job as read; `job.runnerId` is this runner's only when `job.runnerName` names it. */
  job: Job;
  /** The build or instance id the signal came with, if any (else the job's). */
  launchId?: string | undefined;
}

const ONCE = { once: true } as const;
const statusOf = (error: unknown) => (error instanceof GitHubRequestError ? error.status : 0);

/**
 * Asks GitHub or the platform what `judgeSignal` (domain/signal-confirmation.ts) needs to know about a
 * signal, and returns its verdict. Why the lookups do not count toward the scope's breaker: for the
 * metadata failure a 500 on the runner is the very symptom being confirmed, and a hint must not be able
 * to open a breaker by making us ask; an open breaker is still honoured (no call at all).
 */
export function createConfirmRunnerSignal(deps: ConfirmRunnerSignalDeps) {
  const { config, github, launcher, scopeGuard } = deps;

  async function runnerFact(target: GitHubTarget, s: SignalToConfirm): Promise<RunnerFact> {
    try {
      const { job, runnerName } = s;
      // One try: a 500 here is the metadata failure's own face, an answer rather than something to wait out.
      const runner =
        job.runnerId !== undefined && job.runnerName === runnerName
          ? await github.getRunner(target, job.runnerId, ONCE)
          : await github.findRunnerByName(target, runnerName, ONCE);
      return runner ? { kind: 'registered', status: runner.status, busy: runner.busy } : { kind: 'gone' };
    } catch (error) {
      if (error instanceof GitHubRequestError && error.status === 404) return { kind: 'gone' };
      const breakerOpen = error instanceof GitHubRequestError && /\bbreaker open\b/i.test(error.body);
      return { kind: 'unanswered', status: statusOf(error), breakerOpen };
    }
  }

  async function jobFact(job: Job): Promise<JobFact> {
    try {
      const state = await github.getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId);
      return state ? { kind: 'found', status: state.status, runnerName: state.runnerName } : { kind: 'gone' };
    } catch (error) {
      return { kind: 'unanswered', status: statusOf(error) };
    }
  }

  async function launchFact(s: SignalToConfirm): Promise<LaunchFact> {
    const launchId = s.launchId ?? s.job.launchId;
    try {
      const active = await launcher.listActive();
      const running = active.some((l) =>
        launchId !== undefined ? l.launchId === launchId : l.runnerName === s.runnerName,
      );
      return { kind: running ? 'active' : 'ended' };
    } catch {
      return { kind: 'unanswered' };
    }
  }

  return async function confirmRunnerSignal(s: SignalToConfirm, now: number): Promise<Confirmation> {
    const needs = confirmationNeeds(s.kind);
    const base = { signal: s.kind, failureClass: s.failureClass, runnerName: s.runnerName };
    let runner: RunnerFact | undefined;
    let job: JobFact | undefined;
    if (needs.runner || needs.job) {
      if ((await scopeGuard.openUntil(s.job.scopeKey, now)) !== undefined) {
        return {
          verdict: SignalVerdict.undetermined,
          reason: `the breaker for ${s.job.scopeKey} is open: GitHub was not asked`,
        };
      }
      const target: GitHubTarget = {
        installationId: s.job.installationId,
        scope: scopeForRepository(config.runner.scope, s.job.owner, s.job.repo),
      };
      if (needs.runner) runner = await runnerFact(target, s);
      // A busy runner refutes the signal on its own: no second call.
      if (needs.job && !(runner?.kind === 'registered' && runner.busy)) job = await jobFact(s.job);
    }
    const launch = needs.launch ? await launchFact(s) : undefined;
    return judgeSignal({ ...base, runner, job, launch });
  };
}

export type ConfirmRunnerSignal = ReturnType<typeof createConfirmRunnerSignal>;
