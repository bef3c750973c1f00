import { JitRunnersError } from '../domain/errors.ts';
import type { Scope } from '../domain/scope.ts';

/** Which installation to act as, and where runners are registered. */
export interface GitHubTarget {
  installationId: number;
  scope: Scope;
}

export interface GitHubRunner {
  id: number;
  name: string;
  status: 'online' | 'offline';
  busy: boolean;
  labels: string[];
}

export interface JitConfig {
  runnerId: number;
  runnerName: string;
  /** Secret: never log it. */
  encodedJitConfig: string;
}

export interface RunnerToken {
  /** Secret: never log it. */
  token: string;
  expiresAt: string;
}

export interface WorkflowJobState {
  id: number;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  runnerName: string | null;
}

/** One workflow run as the discovery of queued jobs needs it (`GET /repos/{owner}/{repo}/actions/runs`). */
export interface WorkflowRunSummary {
  id: number;
  /** `queued`, `in_progress`, `completed`, … (null on old runs). */
  status: string | null;
}

/** Status filters of `GET /repos/{owner}/{repo}/actions/runs` that can hold a queued job. */
export type OpenRunStatus = 'queued' | 'in_progress';

/** One job of a run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`). */
export interface WorkflowRunJob {
  id: number;
  runId: number;
  status: WorkflowJobState['status'];
  labels: string[];
  /** ISO time the job was created (queued). */
  createdAt: string;
}

/** One page of a list; `more` says whether another page exists. */
export interface Page<T> {
  items: T[];
  more: boolean;
}

export interface HookDelivery {
  id: number;
  guid: string;
  deliveredAt: string;
  event: string;
  action: string | null;
  statusCode: number;
  redelivery: boolean;
}

// ───────────── errors ─────────────

export class GitHubError extends JitRunnersError {
  readonly area = 'github';
}

/** GitHub answered with an error status (or the request failed before an answer: status 0). */
export class GitHubRequestError extends GitHubError {
  constructor(
    message: string,
    readonly status: number,
    /** `METHOD /path/template` of the call, e.g. `POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig`. */
    readonly endpoint: string,
    /** Response body text (already free of secrets: GitHub error bodies never echo tokens). */
    readonly body: string,
    readonly scopeKey: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 409 from `generate-jitconfig`: a runner with that name already exists in the scope. */
export class RunnerNameTakenError extends GitHubError {
  constructor(
    readonly runnerName: string,
    options?: { cause?: unknown },
  ) {
    super(`a runner named ${runnerName} already exists`, options);
  }
}

// ───────────── port ─────────────

/** How a runner lookup is sent. */
export interface LookupOptions {
  /**
   * One try, no retry of a 5xx: for a caller that takes the failure itself as an answer. Why: confirming
   * the missing-metadata failure asks about a runner whose lookup answers 500 by that very failure; the
   * client's retries would only add a second or more before the stuck runner is stopped.
   */
  once?: boolean;
}

export interface GitHubPort {
  generateJitConfig(
    target: GitHubTarget,
    request: { name: string; labels: readonly string[]; runnerGroupId: number; workFolder: string },
  ): Promise<JitConfig>;
  createRegistrationToken(target: GitHubTarget): Promise<RunnerToken>;
  createRemoveToken(target: GitHubTarget): Promise<RunnerToken>;
  listRunners(target: GitHubTarget): Promise<GitHubRunner[]>;
  /** undefined when the runner does not exist (404). */
  getRunner(target: GitHubTarget, runnerId: number, options?: LookupOptions): Promise<GitHubRunner | undefined>;
  findRunnerByName(target: GitHubTarget, name: string, options?: LookupOptions): Promise<GitHubRunner | undefined>;
  /** Idempotent: a runner already gone (404) is success. */
  deleteRunner(target: GitHubTarget, runnerId: number): Promise<void>;
  /** `GET /repos/{owner}/{repo}/actions/jobs/{job_id}`; undefined on 404. */
  getWorkflowJob(
    installationId: number,
    owner: string,
    repo: string,
    jobId: number,
  ): Promise<WorkflowJobState | undefined>;
  /**
   * `GET /repos/{owner}/{repo}/actions/runs?status=…` (installation token), one page of up to 100 runs,
   * newest first. Used only by the opt-in discovery of queued jobs.
   */
  listWorkflowRuns(
    installationId: number,
    owner: string,
    repo: string,
    request: { status: OpenRunStatus; page: number },
  ): Promise<Page<WorkflowRunSummary>>;
  /** `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs` (latest attempt), one page of up to 100 jobs. */
  listWorkflowRunJobs(
    installationId: number,
    owner: string,
    repo: string,
    request: { runId: number; page: number },
  ): Promise<Page<WorkflowRunJob>>;
  /** `GET /app/hook/deliveries` (App JWT), newest first, one page from `cursor`. */
  listHookDeliveries(cursor: string | undefined): Promise<{ deliveries: HookDelivery[]; next: string | undefined }>;
  /** `POST /app/hook/deliveries/{id}/attempts` (App JWT). */
  redeliver(deliveryId: number): Promise<void>;
  /**
   * The App installation for a scope (`GET /repos/{owner}/{repo}/installation` or
   * `GET /orgs/{org}/installation`, App JWT); undefined when the App is not installed there (404).
   */
  findInstallation(scope: Scope): Promise<number | undefined>;
}
