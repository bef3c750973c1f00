import type { FailureClass } from './failure-class.ts';
import type { JobStatus } from './job-status.ts';
import type { RunnerVersionRole } from './version-role.ts';

/** One line of a job's history, kept on the job item so `jit-runners job show` can tell its story. */
export interface JobEvent {
  at: number;
  status: JobStatus;
  note: string;
}

/** The `JOB#<workflow_job.id>` item (docs/design.md "State"). Times are epoch milliseconds. */
export interface Job {
  jobId: number;
  runId: number;
  owner: string;
  repo: string;
  /** Registration scope key (`owner/repo` or `org`), see `scopeKey`. */
  scopeKey: string;
  installationId: number;
  labels: string[];
  /**
   * The commit the job runs on (`workflow_job.head_sha`): where a failure check run is posted
   * (docs/design.md "Failures on GitHub"). Absent on items recorded before it was kept.
   */
  headSha?: string;
  /** The job's name in its workflow (`workflow_job.name`), for people; absent on older items. */
  jobName?: string;
  /** The workflow's name (`workflow_job.workflow_name`), for people; absent on older items or when GitHub gives none. */
  workflowName?: string;
  /**
   * Name of the pool that serves the job, chosen by its labels when it was recorded (docs/design.md
   * "Configuration", Pools). Absent on items recorded before pools existed: those read as `default`
   * (see `poolNameOf`).
   */
  pool?: string;
  status: JobStatus;
  /** 1-based; the runner name is derived from (job id, attempt). Counts failures and thefts alike. */
  attempt: number;
  /**
   * How many of those attempts replaced a stolen runner (absent = 0). They do not count toward
   * `MAX_ATTEMPTS_PER_JOB` (see `failureAttempts`) but toward `MAX_THEFTS_PER_JOB`.
   */
  thefts?: number;
  /**
   * How many of those attempts were skipped because the job went `waiting` (an environment approval)
   * after its runner was minted (absent = 0): that runner was retired, and neither counts toward
   * `MAX_ATTEMPTS_PER_JOB` (docs/design.md "Approval waits").
   */
  waits?: number;
  /** Healing attempts (workaround/relaunch after a failure class) spent on this job. */
  heals: number;
  deliveryIds: string[];
  runnerName?: string;
  runnerId?: number;
  launchId?: string;
  runnerVersion?: string;
  /**
   * Why the runner got `runnerVersion`: the canary, the current, previous or fallback version, or the pin
   * (`RunnerVersionRole`). Written by the launch's own write, with `runnerVersion`; absent on jobs launched
   * before it was recorded.
   */
  runnerVersionRole?: RunnerVersionRole;
  /**
   * Served warm: the warm runner `runnerName` runs in (docs/design.md "Warm runners"). Its hand-off is named
   * after this name, the only one the warm runner knew before the job existed, so deleting it needs it
   * (docs/decisions.md "Warm runners on AWS"). Written and cleared by the launch's own write, with `runnerName`.
   */
  warmName?: string;
  /** Runner that GitHub says picked the job (from `in_progress`), which may not be ours for this job. */
  ranOn?: string;
  conclusion?: string;
  failureClass?: FailureClass;
  reason?: string;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  /** Not to be provisioned before this time (breaker backoff, retry backoff). */
  notBefore?: number;
  launchedAt?: number;
  /**
   * The attempt whose provisioning a dead provisioner left unfinished, kept while GitHub has not been asked
   * about it yet: its name may be minted and its runner may have run the job. Inert once `attempt` moved on.
   */
  interruptedAttempt?: number;
  /**
   * When the failure check run of this failed job was claimed (the job's own version-checked write, before
   * the post): at most one per failure (docs/design.md "Failures on GitHub").
   */
  failureCheckRunAt?: number;
  /**
   * Rounds of posting that claimed check run so far: the report's, then one per reconciler retry (each
   * claimed with the job's own version-checked write). Absent on jobs claimed before it was kept: one.
   */
  failureCheckRunTries?: number;
  /** When the claimed failure check run was posted, or found posted by an earlier try. */
  failureCheckRunPostedAt?: number;
  /** Why the claimed failure check run was given up for good (a refusal, the tries or the hour spent). */
  failureCheckRunGaveUp?: string;
  /**
   * Its place in its pool's backlog rotation while `waiting-capacity` (see `turnFor`); kept afterwards
   * for `job show`.
   */
  turn?: number;
  /** When the job last started waiting for room in its pool (absent: it never did). */
  backlogSince?: number;
  /** When the job last went `waiting` (absent: it never waited for an approval). */
  waitingSince?: number;
  /**
   * When GitHub last made the job assignable to a runner again (queued after an approval wait); absent
   * means since `createdAt`. The start timeout counts from the later of this and `launchedAt`.
   */
  assignableAt?: number;
  createdAt: number;
  updatedAt: number;
  /** Optimistic-concurrency counter, bumped by every write. */
  version: number;
  history: JobEvent[];
}

/** What the webhook knows about a queued job when it first records it. */
export type NewJob = Pick<
  Job,
  | 'jobId'
  | 'runId'
  | 'owner'
  | 'repo'
  | 'scopeKey'
  | 'installationId'
  | 'labels'
  | 'pool'
  | 'headSha'
  | 'jobName'
  | 'workflowName'
>;
