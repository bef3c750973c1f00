import { FailureClass } from './failure-class.ts';
import type { Job } from './job.ts';

/**
 * What a failed job tells the developer on GitHub (docs/design.md "Failures on GitHub"): the failure
 * class in words and what to do about it, one entry per class. Pure: the check run body is built here,
 * the use case only posts it.
 */
export interface FailureAdvice {
  /** A short phrase for the check run's title: "runner metadata missing". */
  readonly title: string;
  /** What to do, one or two sentences, for the person who reads the check run. */
  readonly advice: string;
}

/** A job that ended `failed` with no class (GitHub no longer knew it, or an item from before classes). */
export const UNCLASSIFIED_ADVICE: FailureAdvice = {
  title: 'failed',
  advice:
    'Re-run the job. If it fails again, ask the people who run jit-runners to look at the job with `jit-runners job show`.',
};

export function failureAdvice(failureClass: FailureClass | undefined): FailureAdvice {
  if (failureClass === undefined) return UNCLASSIFIED_ADVICE;
  switch (failureClass) {
    case FailureClass.metadataMissing:
      return {
        title: 'runner metadata missing',
        advice:
          "GitHub has not initialised runner metadata for this repository (actions/runner issue 3823) and the regular-runner workaround did not fix it within the job's attempts. Ask the fleet's operators to run `jit-runners baseline ensure <owner/repo>` (or register one regular self-hosted runner once), then re-run the job.",
      };
    case FailureClass.breakerOpen:
      return {
        title: "GitHub's runner service is refusing requests (breaker open)",
        advice:
          "GitHub's backend kept answering `breaker open` for this scope. Wait a few minutes for it to recover, then re-run the job.",
      };
    case FailureClass.versionDeprecated:
      return {
        title: 'runner version refused',
        advice:
          'GitHub refused the runner version the fleet runs and no usable fallback was left. The fleet operators must move RUNNER_VERSION (or set RUNNER_FALLBACK_VERSION) to a current actions/runner release; then re-run the job.',
      };
    case FailureClass.registrationGone:
      return {
        title: 'runner registration deleted',
        advice:
          "The job's runners kept losing their registration on GitHub until its attempts were spent. Re-run the job; if it repeats, check that nothing else deletes this repository's self-hosted runners.",
      };
    case FailureClass.transient:
      return {
        title: 'temporary failures',
        advice:
          "GitHub or AWS failed temporarily (5xx, timeouts or rate limits) until the attempts were spent. Re-run the job; if it keeps failing, look at GitHub status and the fleet's dashboard.",
      };
    case FailureClass.config:
      return {
        title: 'configuration refused',
        advice:
          "GitHub or the launcher refused the fleet's configuration (permissions, runner group, launcher settings). A re-run fails the same way until the fleet operators fix it: `jit-runners doctor` names the setting.",
      };
    case FailureClass.stolen:
      return {
        title: 'runners taken by other jobs',
        advice:
          "Every runner minted for this job ran another job with the same labels, until the replacement budget (MAX_THEFTS_PER_JOB) was spent. Re-run the job; give jobs distinct labels, or raise the fleet's capacity, if it repeats.",
      };
    case FailureClass.startTimeout:
      return {
        title: 'runner never started',
        advice:
          "The job's runners were launched but never seen working within RUNNER_START_TIMEOUT_SECONDS. Re-run the job; if it repeats, the fleet operators should check the runners' logs and the launcher (CodeBuild, EC2).",
      };
    case FailureClass.checksumMismatch:
      return {
        title: 'runner download did not match its checksum',
        advice:
          'The actions/runner tarball downloaded did not have the pinned SHA-256, so no runner was started. A re-run fails the same way: the fleet operators must check runner/checksums.json and the download source.',
      };
  }
}

/** The check run name prefix, so a person (and a query) can tell our check runs from the workflow's. */
export const CHECK_RUN_NAME_PREFIX = 'jit-runners';

/** GitHub caps a check run's name; long job names are cut with an ellipsis. */
const MAX_NAME = 200;

/** `POST /repos/{owner}/{repo}/check-runs` body for a failed job (field names as GitHub spells them). */
export interface FailureCheckRun {
  name: string;
  head_sha: string;
  status: 'completed';
  conclusion: 'failure';
  completed_at: string;
  details_url: string;
  external_id: string;
  output: { title: string; summary: string; text: string };
}

/** The job's page on GitHub: `<server>/<owner>/<repo>/actions/runs/<run>/job/<job>`, as `html_url` spells it. */
export function jobPageUrl(serverUrl: string, job: Pick<Job, 'owner' | 'repo' | 'runId' | 'jobId'>): string {
  return `${serverUrl.replace(/\/+$/, '')}/${job.owner}/${job.repo}/actions/runs/${job.runId}/job/${job.jobId}`;
}

/** "CI / build" (workflow / job), or what is known of it; the job id when nothing is. */
export function jobDisplayName(job: Pick<Job, 'jobId' | 'jobName' | 'workflowName'>): string {
  const name = job.jobName ?? `job ${job.jobId}`;
  return job.workflowName ? `${job.workflowName} / ${name}` : name;
}

/**
 * The check run that tells the developer why a job failed on our side; undefined when the job carries no
 * commit (an item recorded before `headSha` was kept). `completedAt` is epoch milliseconds.
 */
export function failureCheckRun(
  job: Pick<
    Job,
    | 'jobId'
    | 'runId'
    | 'owner'
    | 'repo'
    | 'headSha'
    | 'jobName'
    | 'workflowName'
    | 'failureClass'
    | 'reason'
    | 'attempt'
  >,
  serverUrl: string,
  completedAt: number,
): FailureCheckRun | undefined {
  if (job.headSha === undefined) return undefined;
  const display = jobDisplayName(job);
  const advice = failureAdvice(job.failureClass);
  const link = jobPageUrl(serverUrl, job);
  const klass = job.failureClass ?? 'unclassified';
  const reason = job.reason ?? 'no reason was recorded';
  const name = `${CHECK_RUN_NAME_PREFIX}: ${job.jobName ?? `job ${job.jobId}`}`;
  return {
    name: name.length > MAX_NAME ? `${name.slice(0, MAX_NAME - 1)}…` : name,
    head_sha: job.headSha,
    status: 'completed',
    conclusion: 'failure',
    completed_at: new Date(completedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    details_url: link,
    external_id: String(job.jobId),
    output: {
      title: `No runner for ${display}: ${advice.title}`,
      summary: [
        `jit-runners could not give [${display}](${link}) a runner, and stopped trying.`,
        '',
        `- **Failure class:** \`${klass}\``,
        `- **Reason:** ${reason}`,
        '',
        `**What to do:** ${advice.advice}`,
      ].join('\n'),
      text: [
        `Job ${job.jobId} of run ${job.runId} in ${job.owner}/${job.repo}, after ${job.attempt} attempt${job.attempt === 1 ? '' : 's'}.`,
        'GitHub may keep showing the job as waiting for a runner until it times out or is cancelled: jit-runners launches no more runners for it.',
        `Operators: \`jit-runners job show ${job.jobId}\` has its full history.`,
      ].join('\n'),
    },
  };
}
