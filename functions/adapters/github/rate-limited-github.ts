import type { Scope } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError } from '../../ports/github.ts';

/**
 * Budget of one token bucket. Defaults keep any one hour under GitHub's 5,000 requests per installation:
 * a full bucket (2,000) plus an hour of refill (3,000) is 5,000, and the steady rate leaves 2,000/hour
 * to everything else that uses the installation (and to a second process).
 */
export interface TokenBucketOptions {
  /** Requests that may go at once after a quiet spell. */
  capacity: number;
  /** Sustained requests per second. */
  refillPerSecond: number;
  /**
   * A call that would wait longer than this fails at once with a 429 (transient: the caller's own
   * backoff and budget apply). Why: nothing may wait or retry forever.
   */
  maxWaitMs: number;
}

export const DEFAULT_TOKEN_BUCKET: TokenBucketOptions = {
  capacity: 2_000,
  refillPerSecond: 3_000 / 3_600,
  maxWaitMs: 30_000,
};

export interface RateLimitedGitHubOptions {
  /** Per installation (and one for the App's own `/app/…` calls). */
  bucket?: Partial<TokenBucketOptions>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** One bucket: tokens may go negative, which turns the bucket into a FIFO of reservations. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly now: () => number,
  ) {
    this.tokens = options.capacity;
    this.updatedAt = now();
  }

  /** Milliseconds the caller must wait before its request may go; undefined when over `maxWaitMs`. */
  reserve(cost = 1): number | undefined {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.options.capacity, this.tokens + elapsed * this.options.refillPerSecond);
    this.updatedAt = now;
    const waitMs = this.tokens >= cost ? 0 : ((cost - this.tokens) / this.options.refillPerSecond) * 1000;
    if (waitMs > this.options.maxWaitMs) return undefined;
    this.tokens -= cost;
    return Math.ceil(waitMs);
  }

  /** Tokens left now (may be negative while reservations wait). */
  available(): number {
    const elapsed = Math.max(0, this.now() - this.updatedAt) / 1000;
    return Math.min(this.options.capacity, this.tokens + elapsed * this.options.refillPerSecond);
  }
}

const APP_BUCKET = 'app';
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A {@link GitHubPort} decorator: every call first takes a token from its installation's bucket (the
 * App-JWT calls share one `app` bucket), so a burst of a thousand jobs spreads over time instead of
 * spending the installation's hourly limit and locking every other job out. The bucket lives in this
 * process: Lambda instances each keep their own, which the defaults leave room for.
 */
export function rateLimitedGitHub(inner: GitHubPort, options: RateLimitedGitHubOptions = {}): GitHubPort {
  const settings: TokenBucketOptions = { ...DEFAULT_TOKEN_BUCKET, ...options.bucket };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const buckets = new Map<string, TokenBucket>();

  async function take(key: string, endpoint: string): Promise<void> {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(settings, now);
      buckets.set(key, bucket);
    }
    const waitMs = bucket.reserve();
    if (waitMs === undefined) {
      throw new GitHubRequestError(
        `local rate limit for ${key === APP_BUCKET ? 'the App' : `installation ${key}`}: ${endpoint} not sent`,
        429,
        endpoint,
        JSON.stringify({ message: 'local rate limit: request budget spent, retry later' }),
        undefined,
      );
    }
    if (waitMs > 0) await sleep(waitMs);
  }

  const installation = (id: number) => String(id);
  /** The endpoint template the call would have used, so a refusal classifies like GitHub's own 429. */
  const runners = (scope: Scope) =>
    scope.kind === 'repo' ? '/repos/{owner}/{repo}/actions/runners' : '/orgs/{org}/actions/runners';

  return {
    async generateJitConfig(target, request) {
      await take(installation(target.installationId), `POST ${runners(target.scope)}/generate-jitconfig`);
      return inner.generateJitConfig(target, request);
    },
    async createRegistrationToken(target) {
      await take(installation(target.installationId), `POST ${runners(target.scope)}/registration-token`);
      return inner.createRegistrationToken(target);
    },
    async createRemoveToken(target) {
      await take(installation(target.installationId), `POST ${runners(target.scope)}/remove-token`);
      return inner.createRemoveToken(target);
    },
    async listRunners(target) {
      await take(installation(target.installationId), `GET ${runners(target.scope)}`);
      return inner.listRunners(target);
    },
    async getRunner(target, runnerId, lookup) {
      await take(installation(target.installationId), `GET ${runners(target.scope)}/{runner_id}`);
      return inner.getRunner(target, runnerId, lookup);
    },
    async findRunnerByName(target, name, lookup) {
      await take(installation(target.installationId), `GET ${runners(target.scope)}`);
      return inner.findRunnerByName(target, name, lookup);
    },
    async deleteRunner(target, runnerId) {
      await take(installation(target.installationId), `DELETE ${runners(target.scope)}/{runner_id}`);
      return inner.deleteRunner(target, runnerId);
    },
    async getWorkflowJob(installationId, owner, repo, jobId) {
      await take(installation(installationId), 'GET /repos/{owner}/{repo}/actions/jobs/{job_id}');
      return inner.getWorkflowJob(installationId, owner, repo, jobId);
    },
    async listWorkflowRuns(installationId, owner, repo, request) {
      await take(installation(installationId), 'GET /repos/{owner}/{repo}/actions/runs');
      return inner.listWorkflowRuns(installationId, owner, repo, request);
    },
    async listWorkflowRunJobs(installationId, owner, repo, request) {
      await take(installation(installationId), 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs');
      return inner.listWorkflowRunJobs(installationId, owner, repo, request);
    },
    async findInstallation(scope) {
      await take(
        APP_BUCKET,
        scope.kind === 'repo' ? 'GET /repos/{owner}/{repo}/installation' : 'GET /orgs/{org}/installation',
      );
      return inner.findInstallation(scope);
    },
    async listHookDeliveries(cursor) {
      await take(APP_BUCKET, 'GET /app/hook/deliveries');
      return inner.listHookDeliveries(cursor);
    },
    async redeliver(deliveryId) {
      await take(APP_BUCKET, 'POST /app/hook/deliveries/{delivery_id}/attempts');
      return inner.redeliver(deliveryId);
    },
    async listRunnerReleases(request) {
      // Without an installation the client first asks the App (JWT) which one to read with.
      await take(
        request.installationId === undefined ? APP_BUCKET : installation(request.installationId),
        'GET /repos/{owner}/{repo}/releases',
      );
      return inner.listRunnerReleases(request);
    },
    async installationPermissions(installationId) {
      await take(installation(installationId), 'POST /app/installations/{installation_id}/access_tokens');
      return inner.installationPermissions(installationId);
    },
    async createCheckRun(installationId, owner, repo, checkRun) {
      await take(installation(installationId), 'POST /repos/{owner}/{repo}/check-runs');
      return inner.createCheckRun(installationId, owner, repo, checkRun);
    },
    async findCheckRun(installationId, owner, repo, query) {
      await take(installation(installationId), 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs');
      return inner.findCheckRun(installationId, owner, repo, query);
    },
  };
}
