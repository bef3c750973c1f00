import type { AppAnswer, HookConfigFacts, InstallationFacts } from '../domain/doctor/github-app.ts';
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
  /** The commit the job runs on (`head_sha`). */
  headSha?: string;
  /** The job's name (`name`). */
  name?: string;
  /** The workflow's name (`workflow_name`; null on some jobs). */
  workflowName?: string;
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

/** Where actions/runner releases are listed by default (api.github.com). */
export const DEFAULT_RUNNER_RELEASES_URL = 'https://api.github.com/repos/actions/runner/releases';

/** One file of a release (`assets[]` of `GET /repos/{owner}/{repo}/releases`). */
export interface ReleaseAsset {
  /** `actions-runner-linux-x64-2.330.0.tar.gz`. */
  name: string;
  /** `browser_download_url`: public, redirects to a short-lived CDN address; needs no token. */
  url: string;
  /** Bytes. */
  size: number;
  /**
   * Lower-case hex SHA-256 GitHub computed at upload (`digest: "sha256:…"`), when it gives one. The
   * digest the project trusts is the one in the release notes; this one is for cross-checks only.
   */
  sha256: string | undefined;
}

/**
 * One actions/runner release as listed (`GET /repos/actions/runner/releases`), before any policy: the
 * domain reads the checksums out of `body` (`parseReleaseChecksums`) and decides whether to adopt it.
 */
export interface ListedRunnerRelease {
  /** The tag as GitHub gives it, e.g. `v2.330.0`. */
  tagName: string;
  /** The tag without a leading `v`; not checked for semver here (the domain does). */
  version: string;
  /** Epoch milliseconds; undefined for a draft (no publish date). */
  publishedAt: number | undefined;
  prerelease: boolean;
  draft: boolean;
  /** The release notes (Markdown); empty when the release has none. */
  body: string;
  /** Every asset of the release (the `.tar.gz` packages, and `.zip` ones for Windows). */
  assets: ReleaseAsset[];
}

export interface ListRunnerReleasesOptions {
  /**
   * The releases list: {@link DEFAULT_RUNNER_RELEASES_URL}, a GHES address
   * (`https://HOST/api/v3/repos/actions/runner/releases`) or a mirror that answers in GitHub's shape.
   * On the client's API base it is sent with an installation token; elsewhere without credentials.
   */
  url: string;
  /** Releases on the one page asked for, newest first (1-100). Default 30, as GitHub's. */
  perPage?: number;
  /**
   * The installation whose token (and rate limit) is used on the API base. Default: the App's first
   * installation (`GET /app/installations`, looked up once per client).
   */
  installationId?: number;
}

/**
 * `POST /repos/{owner}/{repo}/check-runs` body, as GitHub spells it (the fields this project sends; see
 * `FailureCheckRun` in domain/failure-advice.ts).
 */
export interface CheckRunRequest {
  name: string;
  head_sha: string;
  status: 'completed';
  conclusion: 'failure';
  completed_at: string;
  details_url?: string;
  external_id?: string;
  output: { title: string; summary: string; text?: string };
}

export interface CreatedCheckRun {
  id: number;
  htmlUrl: string | undefined;
}

/**
 * Which check run {@link GitHubPort.findCheckRun} looks for: the one named `name` on commit `headSha` whose
 * `external_id` is `externalId` (a failure check run's is its job id).
 */
export interface CheckRunQuery {
  headSha: string;
  name: string;
  externalId: string;
}

/**
 * Permissions granted to an installation, as GitHub names them (`checks: 'write'`, `actions: 'read'`, …),
 * from the installation token's own answer.
 */
export type InstallationPermissions = Readonly<Record<string, string>>;

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

/**
 * GitHub (or a mirror) answered with a success status but not with the documented shape: a proxy's HTML
 * page, a truncated body, a field of the wrong type. `reason` says which field, never the body itself.
 */
export class GitHubResponseError extends GitHubRequestError {
  constructor(
    readonly reason: string,
    status: number,
    endpoint: string,
    body: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${endpoint} answered ${status} with an unexpected body: ${reason}`,
      status,
      endpoint,
      body,
      undefined,
      options,
    );
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
  /**
   * One page of actions/runner releases, newest first (`GET /repos/actions/runner/releases`, or the
   * configured GHES/mirror address). A body that is not a list of releases is a {@link GitHubResponseError}.
   */
  listRunnerReleases(options: ListRunnerReleasesOptions): Promise<ListedRunnerRelease[]>;
  /**
   * The permissions of an installation's token (`permissions` of `POST /app/installations/{id}/access_tokens`,
   * which the client mints anyway: no extra request while a token is cached).
   */
  installationPermissions(installationId: number): Promise<InstallationPermissions>;
  /**
   * `POST /repos/{owner}/{repo}/check-runs` (installation token; needs the `checks: write` permission, else
   * GitHub answers 403 "Resource not accessible by integration"). Sent once, never retried by the client:
   * a 5xx or a timeout may have created the check run, so only the caller, after {@link findCheckRun},
   * may post again.
   */
  createCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    checkRun: CheckRunRequest,
  ): Promise<CreatedCheckRun>;
  /**
   * The check run `query` names, or undefined when there is none:
   * `GET /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=…&filter=all` (installation token,
   * `checks: read`), matched on `external_id`, a few pages at most. Whether an earlier post landed.
   */
  findCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    query: CheckRunQuery,
  ): Promise<CreatedCheckRun | undefined>;
}

/** The `Date` header of an answer, as epoch ms (one-second resolution); undefined when absent. */
export type ServerTime = number | undefined;

/**
 * `GET /app` (App JWT): the App, or the error status GitHub answered (a refused JWT is an answer, not a
 * throw, so the `Date` header of the refusal still reaches the clock check). Throws
 * {@link GitHubRequestError} only when no answer came (status 0).
 */
export type AppProbe = AppAnswer & { readonly serverTime: ServerTime };

/** `GET /app/installations` entry plus what the allow-list check needs. */
export type AppInstallation = InstallationFacts;

/**
 * What `jit-runners doctor` asks GitHub about the App itself (App JWT), apart from {@link GitHubPort} on
 * purpose: the hot path never needs it, and the port's wrappers (rate limiting, key rotation, the test
 * fakes) need not forward it. `createGitHubClient` implements both.
 */
export interface GitHubAppInspectionPort {
  getApp(): Promise<AppProbe>;
  /** Every installation (`GET /app/installations`, all pages up to 1,000). */
  listAppInstallations(): Promise<AppInstallation[]>;
  /** `GET /app/hook/config`. */
  getAppHookConfig(): Promise<HookConfigFacts>;
  /**
   * `owner/repo` of the repositories an installation may access (`GET /installation/repositories`,
   * installation token), up to 1,000; for installations with `repository_selection: selected`.
   */
  listInstallationRepositories(installationId: number): Promise<string[]>;
}

/**
 * Downloads release assets (runner tarballs) by their public URL. Apart from {@link GitHubPort} on
 * purpose: a download carries no token (the address redirects to another host, which must never see
 * one), does not spend the API rate limit, and is large.
 */
export interface ReleaseAssetPort {
  /**
   * The asset's bytes. Fails with a {@link GitHubRequestError} on an error status, a timeout (status 0),
   * or a body larger than `maxBytes` (default 512 MiB; actions-runner tarballs are about 200 MB).
   */
  download(url: string, options?: { maxBytes?: number }): Promise<Uint8Array>;
}
