import { createPrivateKey, randomUUID } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { type Scope, scopeKey as toScopeKey } from '../../domain/scope.ts';
import {
  type AppInstallation,
  type GitHubAppInspectionPort,
  type GitHubPort,
  GitHubRequestError,
  GitHubResponseError,
  type GitHubRunner,
  type GitHubTarget,
  type HookDelivery,
  type JitConfig,
  type ListedRunnerRelease,
  type LookupOptions,
  RunnerNameTakenError,
  type RunnerToken,
  type WorkflowJobState,
} from '../../ports/github.ts';
import type { Logger } from '../../ports/runtime.ts';
import { concurrencyGroup } from './concurrency-group.ts';
import { addressLabel, toGitHubError } from './to-github-error.ts';
import { transientRetry } from './transient-retry.ts';

export interface GitHubClientOptions {
  appId: number | string;
  /** Secret: PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`, as GitHub issues it) or PKCS#8. Never logged. */
  privateKey: string;
  /** REST base: `https://api.github.com`, or `https://HOST/api/v3` for GHES. */
  apiUrl: string;
  logger?: Logger;
  /** Retries of a transient failure (5xx other than `breaker open`, network errors). Default 2. */
  retries?: number;
  /** First transient backoff in ms (doubles, jittered). Default 300. */
  retryBaseDelayMs?: number;
  /** Retries after a (secondary) rate limit, each honouring `retry-after`. Default 2. */
  rateLimitRetries?: number;
  /** A rate limit asking to wait longer than this is not waited for. Default 60. */
  maxRetryAfterSeconds?: number;
  /** Deadline of one port call including its retries. Default 60 000. */
  timeoutMs?: number;
  /**
   * Requests in flight at once per client (all installations together). Default 32: a third of GitHub's
   * documented 100 concurrent requests, and half the local dispatcher's 64 jobs at once, so a burst's JIT
   * mints overlap instead of queueing ten at a time (a Lambda provisioner has one job in flight anyway).
   */
  maxConcurrent?: number;
  /** Defaults to Node's global fetch, which pools keep-alive connections per origin. */
  fetch?: typeof fetch;
  /**
   * Told every secret GitHub hands out, as it arrives and before any caller sees it: installation
   * tokens, JIT configs, registration and remove tokens. The composition roots register them with the
   * redacting logger here, the one place every mint passes (docs/decisions.md).
   */
  onSecret?: (value: string) => void;
}

/** `POST /app/installations/{id}/access_tokens`: where auth-app mints installation tokens. */
const ACCESS_TOKENS = /\/app\/installations\/\d+\/access_tokens$/;

/**
 * Wraps fetch so an installation token is handed to `onSecret` before Octokit reads the answer: auth-app
 * mints and caches the tokens itself, out of sight of the port methods.
 */
function tokenWatchingFetch(inner: typeof fetch, onSecret: (value: string) => void): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (response.ok && ACCESS_TOKENS.test(new URL(url).pathname)) {
      const body = (await response
        .clone()
        .json()
        .catch(() => undefined)) as { token?: unknown } | undefined;
      if (typeof body?.token === 'string') onSecret(body.token);
    }
    return response;
  };
}

// zod/mini keeps the Lambda bundles small; its messages come from the English locale.
z.config(en());

/** The fields of `#/components/schemas/release` read here; GitHub's other fields pass unread. */
const ReleaseListSchema = z.array(
  z.object({
    tag_name: z.string().check(z.minLength(1)),
    published_at: z.nullable(z.iso.datetime({ offset: true })),
    prerelease: z.boolean(),
    draft: z.boolean(),
    body: z.optional(z.nullable(z.string())),
    assets: z.array(
      z.object({
        name: z.string().check(z.minLength(1)),
        browser_download_url: z.url(),
        size: z.number().check(z.int(), z.nonnegative()),
        digest: z.optional(z.nullable(z.string())),
      }),
    ),
  }),
);

/** `[3].assets[0].size: expected number, received string`: names the field, echoes no value. */
function schemaReason(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid body';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path === '' ? '(root)' : path.replace(/^\./, '')}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

const MAX_ERROR_BODY = 2_000;
const clip = (text: string) => (text.length > MAX_ERROR_BODY ? `${text.slice(0, MAX_ERROR_BODY)}…` : text);

/** Parses a releases list answer; a body of another shape is a {@link GitHubResponseError}. */
export function parseRunnerReleases(data: unknown, status: number, endpoint: string): ListedRunnerRelease[] {
  const parsed = z.safeParse(ReleaseListSchema, data);
  if (!parsed.success) {
    const text = typeof data === 'string' ? data : (JSON.stringify(data) ?? '');
    throw new GitHubResponseError(schemaReason(parsed.error), status, endpoint, clip(text), { cause: parsed.error });
  }
  return parsed.data.map((release) => ({
    tagName: release.tag_name,
    version: release.tag_name.replace(/^v/, ''),
    publishedAt: release.published_at === null ? undefined : Date.parse(release.published_at),
    prerelease: release.prerelease,
    draft: release.draft,
    body: release.body ?? '',
    assets: release.assets.map((asset) => {
      const sha256 = /^sha256:([0-9a-fA-F]{64})$/.exec(asset.digest ?? '')?.[1]?.toLowerCase();
      return { name: asset.name, url: asset.browser_download_url, size: asset.size, sha256 };
    }),
  }));
}

/**
 * The path of `url` below the REST base `baseUrl` (same origin, path under the base's), with its query;
 * undefined when `url` lies elsewhere (a mirror, or api.github.com from a GHES client).
 */
export function pathOnApiBase(url: string, baseUrl: string): string | undefined {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(baseUrl);
  } catch {
    return undefined;
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  if (target.origin !== base.origin || !target.pathname.startsWith(`${basePath}/`)) return undefined;
  const path = target.pathname.slice(basePath.length);
  // Octokit reads `{…}` in a route as a template; a configured address never needs one.
  if (/[{}]/.test(path)) return undefined;
  return `${path}${target.search}`;
}

/** Largest page the Actions list endpoints serve. */
const PAGE_SIZE = 100;

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const ClientOctokit = Octokit.plugin(transientRetry, retry, throttling);
type ClientOctokit = InstanceType<typeof ClientOctokit>;

/** PKCS#1 is converted once so the JWT library does not redo it for every App JWT. */
function toPkcs8(privateKey: string): string {
  const pem = privateKey.replace(/\\n/g, '\n').trim();
  if (!pem.includes('BEGIN RSA PRIVATE KEY')) return pem;
  try {
    return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (error) {
    // The key text itself must never reach a message.
    throw new TypeError('the GitHub App private key is not a valid PKCS#1 PEM key', { cause: error });
  }
}

function runnersPath(scope: Scope): { base: string; params: Record<string, string> } {
  switch (scope.kind) {
    case 'repo':
      return { base: '/repos/{owner}/{repo}/actions/runners', params: { owner: scope.owner, repo: scope.repo } };
    case 'org':
      return { base: '/orgs/{org}/actions/runners', params: { org: scope.org } };
  }
}

interface RunnerJson {
  id: number;
  name: string;
  status: string;
  busy: boolean;
  labels: { name: string }[];
}

function toRunner(json: RunnerJson): GitHubRunner {
  return {
    id: json.id,
    name: json.name,
    status: json.status === 'online' ? 'online' : 'offline',
    busy: json.busy,
    labels: json.labels.map((l) => l.name),
  };
}

/** `Link: <…&cursor=v1_123>; rel="next"` → `v1_123`. */
export function nextCursor(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (m?.[1]) return new URL(m[1]).searchParams.get('cursor') ?? undefined;
  }
  return undefined;
}

/** `Date` header → epoch ms; undefined when absent or unreadable. */
function dateHeader(headers: Record<string, unknown> | undefined): number | undefined {
  const value = headers?.date;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

interface InstallationJson {
  id: number;
  account: { login?: string; slug?: string; type?: string } | null;
  permissions?: Record<string, string | undefined>;
  repository_selection: 'all' | 'selected';
  suspended_at?: string | null;
}

function toInstallation(json: InstallationJson): AppInstallation {
  const permissions: Record<string, string> = {};
  for (const [name, level] of Object.entries(json.permissions ?? {}))
    if (typeof level === 'string') permissions[name] = level;
  return {
    id: json.id,
    account: json.account?.login ?? json.account?.slug ?? `installation ${json.id}`,
    accountType: json.account?.type ?? 'Enterprise',
    permissions,
    repositorySelection: json.repository_selection,
    suspended: typeof json.suspended_at === 'string',
  };
}

/** Pages read at most by the doctor's lists (100 each). */
const MAX_INSPECTION_PAGES = 10;

/**
 * Pages of one name's check runs on one commit read at most by `findCheckRun` (100 each): a failure check
 * run's name is its job's, and a commit has one per failed attempt of that job, so one page is the norm.
 */
const CHECK_RUN_PAGES = 3;

/**
 * {@link GitHubPort} over Octokit: App JWT for `/app/…`, installation tokens (cached by auth-app until
 * shortly before expiry; concurrent requests for one installation share one mint) for everything else.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubPort & GitHubAppInspectionPort {
  const logger = options.logger ?? noopLogger;
  const privateKey = toPkcs8(options.privateKey);
  const baseUrl = options.apiUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const rateLimitRetries = options.rateLimitRetries ?? 2;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  // A per-client throttling id keeps this client's state apart from other clients in the process.
  const throttleId = `jit-runners-${options.appId}-${randomUUID()}`;
  // Why replace the plugin's groups: its defaults are process-wide Bottleneck groups that also space every
  // POST/DELETE one second apart, which would serialise a burst of JIT mints. Requests stay bounded by
  // `maxConcurrent`; 403/429 answers are still retried by the plugin, honouring `retry-after`.
  const unpaced = concurrencyGroup(Number.POSITIVE_INFINITY);
  const onSecret = options.onSecret ?? (() => {});
  const baseFetch = options.fetch ?? globalThis.fetch;
  const watchedFetch = options.onSecret ? tokenWatchingFetch(baseFetch, options.onSecret) : baseFetch;
  // `global` is read by the plugin at runtime but missing from its option types, hence `object`.
  const groups: object = {
    global: concurrencyGroup(options.maxConcurrent ?? 32),
    write: unpaced,
    notifications: unpaced,
  };

  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _o: unknown, retryCount: number) => {
      const retrying = retryCount < rateLimitRetries && retryAfter <= maxRetryAfter;
      logger.warn(`github ${kind} rate limit`, {
        method: request.method,
        url: request.url,
        retryAfterSeconds: retryAfter,
        retry: retryCount + 1,
        retrying,
      });
      return retrying;
    };

  function build(installationId: number | undefined): ClientOctokit {
    return new ClientOctokit({
      baseUrl,
      userAgent: 'jit-runners',
      authStrategy: createAppAuth,
      auth:
        installationId === undefined
          ? { appId: options.appId, privateKey }
          : { appId: options.appId, privateKey, installationId },
      request: { fetch: watchedFetch },
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => logger.warn(message),
        error: (message: string) => logger.error(message),
      },
      transientRetry: { retries: options.retries ?? 2, baseDelayMs: options.retryBaseDelayMs ?? 300, logger },
      // Delays come from transientRetry; plugin-retry only re-sends (its own wait is (n+1)² ms).
      retry: { retries: options.retries ?? 2, retryAfterBaseValue: 1 },
      throttle: {
        id: throttleId,
        ...groups,
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary'),
      },
    });
  }

  const installations = new Map<number, ClientOctokit>();
  let app: ClientOctokit | undefined;
  const forInstallation = (id: number): ClientOctokit => {
    let octokit = installations.get(id);
    if (!octokit) {
      octokit = build(id);
      installations.set(id, octokit);
    }
    return octokit;
  };
  const forApp = (): ClientOctokit => {
    app ??= build(undefined);
    return app;
  };

  interface Answer<T> {
    status: number;
    data: T;
    headers: Record<string, string | number | undefined>;
  }

  /**
   * One port call. A fresh `request` object per call matters: Octokit would otherwise hand every request
   * the same defaults object, and the retry plugins keep their per-request counters on it.
   */
  async function send<T>(
    octokit: ClientOctokit,
    endpoint: string,
    params: Record<string, unknown>,
    scopeKey: string | undefined,
    lookup: LookupOptions = {},
  ): Promise<Answer<T>> {
    try {
      const response = await octokit.request(endpoint, {
        ...params,
        request: { signal: AbortSignal.timeout(timeoutMs), ...(lookup.once ? { transientOnce: true } : {}) },
      });
      return response as unknown as Answer<T>;
    } catch (error) {
      throw toGitHubError(error, endpoint, scopeKey);
    }
  }

  /** The App's first installation, for calls that need some installation token but no particular one. */
  let anyInstallation: Promise<number | undefined> | undefined;
  const firstInstallation = (): Promise<number | undefined> => {
    if (anyInstallation) return anyInstallation;
    const lookup = send<{ id: number }[]>(forApp(), 'GET /app/installations', { per_page: 1 }, undefined).then(
      ({ data }) => (Array.isArray(data) && typeof data[0]?.id === 'number' ? data[0].id : undefined),
    );
    anyInstallation = lookup;
    // Only an installation found is remembered: a failed look-up, or an App installed nowhere yet, is
    // asked again next time.
    lookup.then(
      (id) => {
        if (id === undefined && anyInstallation === lookup) anyInstallation = undefined;
      },
      () => {
        if (anyInstallation === lookup) anyInstallation = undefined;
      },
    );
    return lookup;
  };

  /** A releases list off the API base: one plain GET, no credentials, bounded by the client's deadline. */
  async function fetchPublic(url: string, perPage: number): Promise<ListedRunnerRelease[]> {
    const endpoint = `GET ${addressLabel(url)}`;
    const address = new URL(url);
    if (!address.searchParams.has('per_page')) address.searchParams.set('per_page', String(perPage));
    let response: Response;
    let text: string;
    try {
      response = await baseFetch(address, {
        headers: { accept: 'application/vnd.github+json', 'user-agent': 'jit-runners' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw toGitHubError(error, endpoint, undefined);
    }
    let data: unknown = text;
    try {
      data = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: kept as text, so the status check or the shape check below reports it.
    }
    if (!response.ok) {
      const message =
        typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string'
          ? (data as { message: string }).message
          : 'no error message';
      throw new GitHubRequestError(
        `${endpoint} failed with ${response.status}: ${message}`,
        response.status,
        endpoint,
        clip(text),
        undefined,
      );
    }
    return parseRunnerReleases(data, response.status, endpoint);
  }

  const isStatus = (error: unknown, status: number) => error instanceof GitHubRequestError && error.status === status;

  async function listPage(target: GitHubTarget, page: number, name?: string, lookup?: LookupOptions) {
    const { base, params } = runnersPath(target.scope);
    return send<{ total_count: number; runners: RunnerJson[] }>(
      forInstallation(target.installationId),
      `GET ${base}`,
      { ...params, per_page: 100, page, ...(name === undefined ? {} : { name }) },
      toScopeKey(target.scope),
      lookup,
    );
  }

  async function listAll(target: GitHubTarget, name?: string, lookup?: LookupOptions): Promise<GitHubRunner[]> {
    const runners: GitHubRunner[] = [];
    for (let page = 1; ; page++) {
      const { data } = await listPage(target, page, name, lookup);
      runners.push(...data.runners.map(toRunner));
      if (data.runners.length === 0 || runners.length >= data.total_count) return runners;
    }
  }

  async function token(target: GitHubTarget, kind: 'registration-token' | 'remove-token'): Promise<RunnerToken> {
    const { base, params } = runnersPath(target.scope);
    const { data } = await send<{ token: string; expires_at: string }>(
      forInstallation(target.installationId),
      `POST ${base}/${kind}`,
      params,
      toScopeKey(target.scope),
    );
    onSecret(data.token);
    return { token: data.token, expiresAt: data.expires_at };
  }

  return {
    async generateJitConfig(target, request): Promise<JitConfig> {
      const { base, params } = runnersPath(target.scope);
      const endpoint = `POST ${base}/generate-jitconfig`;
      try {
        const { data } = await send<{ runner: RunnerJson; encoded_jit_config: string }>(
          forInstallation(target.installationId),
          endpoint,
          {
            ...params,
            name: request.name,
            runner_group_id: request.runnerGroupId,
            labels: [...request.labels],
            work_folder: request.workFolder,
          },
          toScopeKey(target.scope),
        );
        onSecret(data.encoded_jit_config);
        return { runnerId: data.runner.id, runnerName: data.runner.name, encodedJitConfig: data.encoded_jit_config };
      } catch (error) {
        if (error instanceof GitHubRequestError && error.status === 409) {
          throw new RunnerNameTakenError(request.name, { cause: error });
        }
        throw error;
      }
    },

    createRegistrationToken: (target) => token(target, 'registration-token'),
    createRemoveToken: (target) => token(target, 'remove-token'),
    listRunners: (target) => listAll(target),

    async getRunner(target, runnerId, lookup) {
      const { base, params } = runnersPath(target.scope);
      try {
        const { data } = await send<RunnerJson>(
          forInstallation(target.installationId),
          `GET ${base}/{runner_id}`,
          { ...params, runner_id: runnerId },
          toScopeKey(target.scope),
          lookup,
        );
        return toRunner(data);
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async findRunnerByName(target, name, lookup) {
      const runners = await listAll(target, name, lookup);
      return runners.find((r) => r.name === name) ?? runners.find((r) => r.name.toLowerCase() === name.toLowerCase());
    },

    async deleteRunner(target, runnerId) {
      const { base, params } = runnersPath(target.scope);
      try {
        await send(
          forInstallation(target.installationId),
          `DELETE ${base}/{runner_id}`,
          { ...params, runner_id: runnerId },
          toScopeKey(target.scope),
        );
      } catch (error) {
        // Why 404 is success: deleting is idempotent; a retry after a lost answer, a runner that already
        // unregistered itself (ephemeral) and a concurrent reconciler all end in "gone".
        if (isStatus(error, 404)) return;
        throw error;
      }
    },

    async getWorkflowJob(installationId, owner, repo, jobId): Promise<WorkflowJobState | undefined> {
      try {
        const { data } = await send<{
          id: number;
          status: WorkflowJobState['status'];
          conclusion: string | null;
          runner_name: string | null;
        }>(
          forInstallation(installationId),
          'GET /repos/{owner}/{repo}/actions/jobs/{job_id}',
          { owner, repo, job_id: jobId },
          `${owner}/${repo}`.toLowerCase(),
        );
        return { id: data.id, status: data.status, conclusion: data.conclusion, runnerName: data.runner_name };
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async listWorkflowRuns(installationId, owner, repo, request) {
      const { data } = await send<{ total_count: number; workflow_runs: { id: number; status: string | null }[] }>(
        forInstallation(installationId),
        'GET /repos/{owner}/{repo}/actions/runs',
        // Why exclude_pull_requests: the pull request lists are the heavy part of a run and unused here.
        { owner, repo, status: request.status, per_page: PAGE_SIZE, page: request.page, exclude_pull_requests: true },
        `${owner}/${repo}`.toLowerCase(),
      );
      return {
        items: data.workflow_runs.map((run) => ({ id: run.id, status: run.status })),
        more: data.workflow_runs.length > 0 && request.page * PAGE_SIZE < data.total_count,
      };
    },

    async listWorkflowRunJobs(installationId, owner, repo, request) {
      const { data } = await send<{
        total_count: number;
        jobs: {
          id: number;
          run_id: number;
          status: WorkflowJobState['status'];
          labels: string[];
          created_at: string;
          head_sha?: string;
          name?: string;
          workflow_name?: string | null;
        }[];
      }>(
        forInstallation(installationId),
        'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
        { owner, repo, run_id: request.runId, filter: 'latest', per_page: PAGE_SIZE, page: request.page },
        `${owner}/${repo}`.toLowerCase(),
      );
      return {
        items: data.jobs.map((job) => ({
          id: job.id,
          runId: job.run_id,
          status: job.status,
          labels: job.labels,
          createdAt: job.created_at,
          ...(typeof job.head_sha === 'string' && { headSha: job.head_sha }),
          ...(typeof job.name === 'string' && { name: job.name }),
          ...(typeof job.workflow_name === 'string' && { workflowName: job.workflow_name }),
        })),
        more: data.jobs.length > 0 && request.page * PAGE_SIZE < data.total_count,
      };
    },

    async listHookDeliveries(cursor) {
      const { data, headers } = await send<
        {
          id: number;
          guid: string;
          delivered_at: string;
          event: string;
          action: string | null;
          status_code: number;
          redelivery: boolean;
        }[]
      >(forApp(), 'GET /app/hook/deliveries', { per_page: 100, ...(cursor ? { cursor } : {}) }, undefined);
      const deliveries: HookDelivery[] = data.map((d) => ({
        id: d.id,
        guid: d.guid,
        deliveredAt: d.delivered_at,
        event: d.event,
        action: d.action,
        statusCode: d.status_code,
        redelivery: d.redelivery,
      }));
      const link = headers.link;
      return { deliveries, next: nextCursor(typeof link === 'string' ? link : undefined) };
    },

    async redeliver(deliveryId) {
      await send(forApp(), 'POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: deliveryId }, undefined);
    },

    async findInstallation(scope) {
      try {
        const { data } =
          scope.kind === 'repo'
            ? await send<{ id: number }>(
                forApp(),
                'GET /repos/{owner}/{repo}/installation',
                { owner: scope.owner, repo: scope.repo },
                toScopeKey(scope),
              )
            : await send<{ id: number }>(
                forApp(),
                'GET /orgs/{org}/installation',
                { org: scope.org },
                toScopeKey(scope),
              );
        return data.id;
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },

    // Why an installation token: api.github.com takes an App JWT only on `/app/…` endpoints; a public
    // repository is readable by any installation token, at the installation's 5,000 requests an hour
    // (unauthenticated reads share 60 an hour per IP address, which Lambda egress addresses share).
    async listRunnerReleases(request) {
      const perPage = Math.min(100, Math.max(1, Math.trunc(request.perPage ?? 30)));
      const path = pathOnApiBase(request.url, baseUrl);
      if (path === undefined) return fetchPublic(request.url, perPage);
      const installationId = request.installationId ?? (await firstInstallation());
      // An App installed nowhere has no token to read with; the public list needs none.
      if (installationId === undefined) return fetchPublic(request.url, perPage);
      const { status, data } = await send<unknown>(
        forInstallation(installationId),
        `GET ${path}`,
        { per_page: perPage },
        undefined,
      );
      return parseRunnerReleases(data, status, `GET ${path.replace(/\?.*$/, '')}`);
    },

    async installationPermissions(installationId) {
      // auth-app keeps the token's answer (permissions included) with the cached token: a mint only when
      // none is cached, and then the same request any installation call would make.
      const endpoint = 'POST /app/installations/{installation_id}/access_tokens';
      try {
        const auth = (await forInstallation(installationId).auth({ type: 'installation' })) as {
          permissions?: Record<string, string>;
        };
        return { ...(auth.permissions ?? {}) };
      } catch (error) {
        throw toGitHubError(error, endpoint, undefined);
      }
    },

    // Sent once (transientOnce): a 5xx or a timeout may have created the check run, and a blind re-send
    // would post a second one; the caller looks it up (findCheckRun) before it posts again.
    async createCheckRun(installationId, owner, repo, checkRun) {
      const { data } = await send<{ id: number; html_url?: string | null }>(
        forInstallation(installationId),
        'POST /repos/{owner}/{repo}/check-runs',
        { owner, repo, ...checkRun },
        `${owner}/${repo}`.toLowerCase(),
        { once: true },
      );
      return { id: data.id, htmlUrl: data.html_url ?? undefined };
    },

    // A read: the client's transient retry applies. `check_name` narrows the list to our name on that
    // commit, `filter=all` keeps earlier runs of it (the default `latest` keeps the newest per suite).
    async findCheckRun(installationId, owner, repo, query) {
      const endpoint = 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs';
      const octokit = forInstallation(installationId);
      for (let page = 1; page <= CHECK_RUN_PAGES; page++) {
        const { status, data } = await send<unknown>(
          octokit,
          endpoint,
          { owner, repo, ref: query.headSha, check_name: query.name, filter: 'all', per_page: PAGE_SIZE, page },
          `${owner}/${repo}`.toLowerCase(),
        );
        const runs = (data as { check_runs?: unknown } | null)?.check_runs;
        if (!Array.isArray(runs)) throw new GitHubResponseError('check_runs is not a list', status, endpoint, '');
        const found = (runs as { id?: unknown; external_id?: unknown; html_url?: unknown }[]).find(
          (run) => run.external_id === query.externalId && typeof run.id === 'number',
        );
        if (found) {
          return { id: found.id as number, htmlUrl: typeof found.html_url === 'string' ? found.html_url : undefined };
        }
        if (runs.length < PAGE_SIZE) return undefined;
      }
      return undefined;
    },

    // ── App inspection (doctor) ──

    async getApp() {
      const endpoint = 'GET /app';
      try {
        const response = await forApp().request(endpoint, { request: { signal: AbortSignal.timeout(timeoutMs) } });
        const data = response.data as { id: number; slug?: string; name: string; events: string[] } | null;
        const serverTime = dateHeader(response.headers as Record<string, unknown>);
        if (!data) return { kind: 'refused', status: response.status, message: 'GET /app answered no App', serverTime };
        return {
          kind: 'app',
          app: { id: data.id, slug: data.slug ?? String(data.id), name: data.name, events: data.events },
          serverTime,
        };
      } catch (error) {
        const answered = error as {
          status?: unknown;
          response?: { headers?: Record<string, unknown>; data?: unknown };
        };
        if (typeof answered.status === 'number' && answered.status > 0 && answered.response) {
          const body = answered.response.data as { message?: unknown } | undefined;
          return {
            kind: 'refused',
            status: answered.status,
            message: typeof body?.message === 'string' ? body.message : 'no error message',
            serverTime: dateHeader(answered.response.headers),
          };
        }
        throw toGitHubError(error, endpoint, undefined);
      }
    },

    async listAppInstallations() {
      const all: AppInstallation[] = [];
      for (let page = 1; page <= MAX_INSPECTION_PAGES; page++) {
        const { data } = await send<InstallationJson[]>(
          forApp(),
          'GET /app/installations',
          { per_page: PAGE_SIZE, page },
          undefined,
        );
        all.push(...data.map(toInstallation));
        if (data.length < PAGE_SIZE) break;
      }
      return all;
    },

    async getAppHookConfig() {
      const { data } = await send<{
        url?: string;
        content_type?: string;
        insecure_ssl?: string | number;
        secret?: string;
      }>(forApp(), 'GET /app/hook/config', {}, undefined);
      return {
        url: data.url,
        contentType: data.content_type,
        insecureSsl: data.insecure_ssl === undefined ? undefined : String(data.insecure_ssl),
        // GitHub masks a set secret as ********; the value itself is never read.
        secretSet: typeof data.secret === 'string' && data.secret !== '',
      };
    },

    async listInstallationRepositories(installationId) {
      const names: string[] = [];
      for (let page = 1; page <= MAX_INSPECTION_PAGES; page++) {
        const { data } = await send<{ total_count: number; repositories: { full_name: string }[] }>(
          forInstallation(installationId),
          'GET /installation/repositories',
          { per_page: PAGE_SIZE, page },
          undefined,
        );
        names.push(...data.repositories.map((r) => r.full_name));
        if (data.repositories.length < PAGE_SIZE || names.length >= data.total_count) break;
      }
      return names;
    },
  };
}
