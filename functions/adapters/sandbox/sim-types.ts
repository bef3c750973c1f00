import type { Scope } from '../../domain/scope.ts';

/**
 * Fault modes of one scope (`owner/repo` or `org`, lower-case). API faults (`apiStatus`, `breakerOpen`,
 * `rateLimit`, `failRate`) act on the REST endpoints of the scope; `metadataMissing` and `minimumVersion`
 * act on its runners.
 */
export interface SimFault {
  /**
   * JIT runners of the scope loop on the broker `BadRequest` and `GET …/runners/{id}` answers 500 for
   * them, until a regular runner of the scope has been online (then metadata is initialised for good).
   */
  metadataMissing?: boolean;
  /** Status (500/502/503) answered by the scope's runner endpoints. */
  apiStatus?: number;
  /** The scope's runner endpoints answer 503 with a body containing `breaker open`. */
  breakerOpen?: boolean;
  /** Runners of the scope older than this print the deprecation line and exit non-zero. */
  minimumVersion?: string;
  /**
   * Every REST call of the scope answers 403: `secondary` (default) "secondary rate limit" with this
   * `retry-after`; `primary` "API rate limit exceeded" with `x-ratelimit-remaining: 0` and a reset that far ahead.
   */
  rateLimit?: { retryAfterSeconds: number; kind?: 'secondary' | 'primary' };
  /** Probability (0..1) that a REST call of the scope answers 500. */
  failRate?: number;
  /** When set, the API faults above answer this many requests in total, then clear themselves. */
  times?: number;
  /**
   * The scope's next `times` posts of a check run (`POST /repos/{owner}/{repo}/check-runs`, once past the
   * permission and body checks) answer `status` (default 500), then the fault clears itself. With
   * `created`, each of them records the check run first: a 5xx whose post landed anyway.
   */
  checkRunPostFailure?: { times: number; status?: number; created?: boolean };
}

export type SimRunnerStatus = 'online' | 'offline';

/** Internal runner registration. The credential is the runner's secret towards the broker. */
export interface SimRunner {
  id: number;
  name: string;
  scope: Scope;
  scopeKey: string;
  labels: string[];
  runnerGroupId: number;
  ephemeral: boolean;
  /** Minted by `generate-jitconfig` (as opposed to registered with `config.sh`). */
  jit: boolean;
  os: string;
  credential: string;
  createdAt: number;
  version: string | undefined;
  session: { id: string; lastSeenAt: number; polls: number } | undefined;
  busy: boolean;
  jobId: number | undefined;
  /** Jobs this runner has taken (an ephemeral one takes at most one). */
  jobsTaken: number;
}

/** What tests and the control API see of a runner (no credential). */
export interface SimRunnerView {
  id: number;
  name: string;
  scopeKey: string;
  labels: string[];
  status: SimRunnerStatus;
  busy: boolean;
  ephemeral: boolean;
  jit: boolean;
  version: string | undefined;
  jobId: number | undefined;
}

/** `waiting`: held by an environment's required reviewers until approved (GitHub's own job status). */
export type SimJobStatus = 'queued' | 'waiting' | 'in_progress' | 'completed';

export interface SimJob {
  id: number;
  runId: number;
  owner: string;
  repo: string;
  name: string;
  workflowName: string;
  headBranch: string;
  headSha: string;
  labels: string[];
  status: SimJobStatus;
  conclusion: string | null;
  runnerId: number | null;
  runnerName: string | null;
  /** Runner that took the job: its registration may be gone later (ephemeral), so keep scope too. */
  runnerScopeKey: string | null;
  durationMs: number;
  installationId: number;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
}

/** A workflow run: the jobs queued with one `runId` (see `SimWorld.listRuns`). */
export interface SimRun {
  id: number;
  owner: string;
  repo: string;
  workflowName: string;
  headBranch: string;
  headSha: string;
  status: SimJobStatus;
  conclusion: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number;
  /** By job id. */
  jobs: SimJob[];
}

export interface QueueJobRequest {
  owner: string;
  repo: string;
  labels: readonly string[];
  jobId?: number;
  runId?: number;
  name?: string;
  /** How long the runner "runs" it; defaults to the simulator's `jobDurationMs`. */
  durationMs?: number;
  /** Also deliver the `queued` webhook (when a webhook is configured). Default false: the caller sends it. */
  deliver?: boolean;
  /**
   * The job targets an environment with required reviewers: right after `queued` it goes `waiting`
   * (a `waiting` webhook is delivered) and no runner can take it until `approveJob` queues it again.
   */
  environment?: boolean;
}

export interface SimRequest {
  at: number;
  method: string;
  /** Path with query string. */
  path: string;
  /** `METHOD /template`, e.g. `POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig`. */
  endpoint: string;
  scopeKey: string | undefined;
  status: number;
  /** Parsed JSON request body (request bodies of these endpoints carry no secrets). */
  body: unknown;
}

export interface SimDelivery {
  id: number;
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  status: string;
  /** 0 when the receiver could not be reached. */
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
}

/** `publishRunnerRelease`: a new actions/runner release on the simulator. */
export interface PublishRunnerReleaseRequest {
  /** Exact semver without `v` (the tag is `v<version>`). */
  version: string;
  /** Epoch ms; default now. */
  publishedAt?: number;
  prerelease?: boolean;
  /**
   * Fault: the package downloads answer bytes that differ from the SHA-256 in the release notes (and in
   * the asset's `digest`), as a corrupted mirror or a tampered CDN object would.
   */
  tamperedTarball?: boolean;
  /**
   * Fault: GitHub refuses runners of this version. A runner that opens a session reporting it gets the
   * deprecation refusal (the `minimumVersion` fault's answer): it prints
   * `Runner version v… is deprecated and cannot receive messages.` and exits 1.
   */
  deprecatedRunners?: boolean;
}

/** Internal release record. */
export interface SimRunnerRelease {
  id: number;
  version: string;
  publishedAt: number;
  createdAt: number;
  prerelease: boolean;
  tamperedTarball: boolean;
  deprecatedRunners: boolean;
  /** Asset id per platform (`linux-x64`, `linux-arm64`). */
  assetIds: Record<string, number>;
}

/** What tests and the control API see of a release. */
export interface SimRunnerReleaseView {
  version: string;
  publishedAt: number;
  prerelease: boolean;
  tamperedTarball: boolean;
  deprecatedRunners: boolean;
  assets: {
    platform: string;
    name: string;
    /** `browser_download_url`. */
    url: string;
    /** The digest published in the release notes: of the genuine package. */
    sha256: string;
    /** The digest of what a download answers (differs from `sha256` only with `tamperedTarball`). */
    servedSha256: string;
  }[];
}

/** A check run posted to the simulator (`POST /repos/{owner}/{repo}/check-runs`), as received. */
export interface SimCheckRun {
  id: number;
  owner: string;
  repo: string;
  /** The request body exactly as sent. */
  body: Record<string, unknown>;
  createdAt: number;
}

/**
 * Faults of the App itself rather than of one scope, for `jit-runners doctor` (set with `setAppFault`,
 * `PUT /_sim/app-faults`). A missing installation permission is `setPermissions` instead.
 */
export interface SimAppFault {
  /**
   * Every App JWT is refused (401 "A JSON web token could not be decoded"), as GitHub answers once the key
   * the server signs with was deleted from the App (rotated). Installation tokens already minted stay valid.
   */
  wrongKey?: boolean;
  /** The App's webhook URL (`GET /app/hook/config`); deliveries go there too. */
  webhookUrl?: string;
  /** Seconds GitHub's clock is ahead of this machine's (negative: behind): every REST `Date` header and the App JWT checks. */
  clockSkewSeconds?: number;
  /** The App's subscribed events (`GET /app`), instead of `['workflow_job']`. */
  events?: string[];
}
