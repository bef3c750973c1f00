import type { IncomingMessage } from 'node:http';
import { type Scope, scopeKey as toScopeKey } from '../../domain/scope.ts';
import { appJwtProblem } from './app-jwt.ts';
import { credentialsFile, encodeJitConfig, rsaParamsFile } from './jit-config.ts';
import {
  appJson,
  checkRunJson,
  deliveryJson,
  errorBody,
  hookConfigJson,
  installationJson,
  iso,
  jobJson,
  runnerJson,
  runnerReleaseJson,
  workflowRunJson,
} from './openapi-shapes.ts';
import type { SimContext } from './sim-context.ts';
import {
  BadJsonError,
  bearer,
  type CompiledRoute,
  compileRoute,
  matchRoute,
  parseJson,
  type Reply,
} from './sim-http.ts';
import type { SimRunner } from './sim-types.ts';

/** `public`: readable without credentials (public repository), or with a valid installation token. */
type Auth = 'jwt' | 'installation' | 'public';

interface RouteContext {
  ctx: SimContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  scope: Scope | undefined;
  scopeKey: string | undefined;
}

interface RestRoute {
  route: CompiledRoute;
  auth: Auth;
  /** Runner endpoints are where `apiStatus`/`breakerOpen` faults answer. */
  runnerEndpoint: boolean;
  handle: (rc: RouteContext) => Reply;
}

const notFound = (): Reply => ({ status: 404, body: errorBody(404, 'Not Found') });

function scopeOf(params: Record<string, string>): Scope | undefined {
  if (params.owner !== undefined && params.repo !== undefined) {
    return { kind: 'repo', owner: params.owner, repo: params.repo };
  }
  if (params.org !== undefined) return { kind: 'org', org: params.org };
  return undefined;
}

function requireScope(rc: RouteContext): { scope: Scope; key: string } {
  if (!rc.scope || !rc.scopeKey) throw new Error('route without scope');
  return { scope: rc.scope, key: rc.scopeKey };
}

function runnerFor(rc: RouteContext): SimRunner | undefined {
  const id = Number(rc.params.runner_id);
  return Number.isInteger(id) ? rc.ctx.world.runner(requireScope(rc).key, id) : undefined;
}

function validateJitRequest(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return "Invalid request.\n\nFor 'links/0/schema', nil is not an object.";
  const b = body as Record<string, unknown>;
  if (typeof b.name !== 'string' || b.name.trim() === '') return 'Invalid request.\n\n"name" wasn\'t supplied.';
  if (!Number.isInteger(b.runner_group_id)) return 'Invalid request.\n\n"runner_group_id" wasn\'t supplied.';
  if (!Array.isArray(b.labels) || b.labels.length < 1 || b.labels.length > 100) {
    return 'Invalid request.\n\n"labels" must have between 1 and 100 items.';
  }
  if (!b.labels.every((l) => typeof l === 'string' && l.trim() !== '')) {
    return 'Invalid request.\n\n"labels" items must be strings.';
  }
  if (b.work_folder !== undefined && typeof b.work_folder !== 'string') {
    return 'Invalid request.\n\n"work_folder" must be a string.';
  }
  return undefined;
}

function generateJitConfig(rc: RouteContext): Reply {
  const { scope } = requireScope(rc);
  const problem = validateJitRequest(rc.body);
  if (problem) return { status: 422, body: errorBody(422, problem) };
  const b = rc.body as { name: string; runner_group_id: number; labels: string[]; work_folder?: string };
  const runner = rc.ctx.world.registerRunner({
    scope,
    name: b.name,
    labels: b.labels,
    runnerGroupId: b.runner_group_id,
    ephemeral: true,
    jit: true,
  });
  if (runner === 'name-taken') {
    return {
      status: 409,
      body: errorBody(409, `Already exists - A runner with the name ${b.name} already exists.`),
    };
  }
  const base = rc.ctx.url();
  const encoded = encodeJitConfig({
    '.runner': {
      agentId: runner.id,
      agentName: runner.name,
      poolId: runner.runnerGroupId,
      poolName: 'Default',
      serverUrl: base,
      serverUrlV2: `${base}/_broker/`,
      gitHubUrl: `${base}/${scope.kind === 'repo' ? `${scope.owner}/${scope.repo}` : scope.org}`,
      workFolder: b.work_folder ?? '_work',
      ephemeral: true,
      isJit: true,
      labels: [...runner.labels],
    },
    '.credentials': credentialsFile(`${base}/_broker`, runner.credential),
    '.credentials_rsaparams': rsaParamsFile(),
  });
  return { status: 201, body: { runner: runnerJson(rc.ctx.world, runner), encoded_jit_config: encoded } };
}

function runnerToken(kind: 'registration' | 'remove') {
  return (rc: RouteContext): Reply => {
    const { scope } = requireScope(rc);
    const issued = rc.ctx.world.issueRunnerToken(scope, kind);
    return { status: 201, body: { token: issued.token, expires_at: iso(issued.expiresAt) } };
  };
}

/** `per_page` (1-100, default 30) and `page` paging with GitHub's `Link` header (`next`, `last`). */
function paged<T>(rc: RouteContext, path: string, all: readonly T[]): { slice: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(rc.query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(rc.query.get('page') ?? 1) || 1);
  const headers: Record<string, string> = {};
  const last = Math.max(1, Math.ceil(all.length / perPage));
  if (page < last) {
    const link = (p: number) => {
      const q = new URLSearchParams(rc.query);
      q.set('per_page', String(perPage));
      q.set('page', String(p));
      return `<${rc.ctx.url()}${path}?${q}>`;
    };
    headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
  }
  return { slice: all.slice((page - 1) * perPage, page * perPage), headers };
}

function listRunners(rc: RouteContext): Reply {
  const { key } = requireScope(rc);
  const name = rc.query.get('name');
  const all = rc.ctx.world.listRunners(key).filter((r) => name === null || r.name === name);
  const { slice, headers } = paged(rc, pathOfRunners(rc.scope), all);
  return {
    status: 200,
    headers,
    body: { total_count: all.length, runners: slice.map((r) => runnerJson(rc.ctx.world, r)) },
  };
}

function pathOfRunners(scope: Scope | undefined): string {
  if (!scope) return '';
  return scope.kind === 'repo'
    ? `/repos/${scope.owner}/${scope.repo}/actions/runners`
    : `/orgs/${scope.org}/actions/runners`;
}

function getRunner(rc: RouteContext): Reply {
  const runner = runnerFor(rc);
  if (!runner) return notFound();
  // The metadata-missing failure (actions/runner#3823): the API cannot describe the stuck JIT runner.
  if (rc.ctx.world.metadataMissing(runner)) return { status: 500, body: errorBody(500, 'Server Error') };
  return { status: 200, body: runnerJson(rc.ctx.world, runner) };
}

function deleteRunner(rc: RouteContext): Reply {
  const runner = runnerFor(rc);
  if (!runner) return notFound();
  if (runner.busy && rc.ctx.world.hasLiveSession(runner)) {
    return { status: 422, body: errorBody(422, `Bad request - Runner "${runner.name}" is still running a job"`) };
  }
  rc.ctx.world.deleteRunner(runner);
  return { status: 204 };
}

function getJob(rc: RouteContext): Reply {
  const { scope } = requireScope(rc);
  const job = rc.ctx.world.job(Number(rc.params.job_id));
  if (
    !job ||
    scope.kind !== 'repo' ||
    job.owner.toLowerCase() !== scope.owner.toLowerCase() ||
    job.repo.toLowerCase() !== scope.repo.toLowerCase()
  ) {
    return notFound();
  }
  return { status: 200, body: jobJson(job, rc.ctx.url(), rc.ctx.url()) };
}

const RUN_STATUSES = new Set(['queued', 'waiting', 'in_progress', 'completed']);

/**
 * `GET /repos/{owner}/{repo}/actions/runs`: the repository's runs, newest first. `status` filters on a
 * run status (`queued`, `waiting`, `in_progress`, `completed`) or a conclusion (`success`, `failure`, …),
 * like GitHub; statuses the simulator never shows (`requested`, `pending`, …) match nothing.
 */
function listRuns(rc: RouteContext): Reply {
  const { owner, repo } = rc.params as { owner: string; repo: string };
  const status = rc.query.get('status');
  const runs = rc.ctx.world
    .listRuns(owner, repo)
    .filter((run) => status === null || (RUN_STATUSES.has(status) ? run.status === status : run.conclusion === status));
  const { slice, headers } = paged(rc, `/repos/${owner}/${repo}/actions/runs`, runs);
  return {
    status: 200,
    headers,
    body: {
      total_count: runs.length,
      workflow_runs: slice.map((run) => workflowRunJson(run, rc.ctx.url(), rc.ctx.url())),
    },
  };
}

/** `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`: one attempt per run, so `filter` changes nothing. */
function listRunJobs(rc: RouteContext): Reply {
  const { owner, repo, run_id: runId } = rc.params as { owner: string; repo: string; run_id: string };
  const run = rc.ctx.world.listRuns(owner, repo).find((r) => r.id === Number(runId));
  if (!run) return notFound();
  const { slice, headers } = paged(rc, `/repos/${owner}/${repo}/actions/runs/${runId}/jobs`, run.jobs);
  return {
    status: 200,
    headers,
    body: { total_count: run.jobs.length, jobs: slice.map((job) => jobJson(job, rc.ctx.url(), rc.ctx.url())) },
  };
}

const CHECK_RUN_STATUSES = ['queued', 'in_progress', 'completed'];
const CHECK_RUN_CONCLUSIONS = [
  'action_required',
  'cancelled',
  'failure',
  'neutral',
  'success',
  'skipped',
  'stale',
  'timed_out',
];
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The request body of `POST /repos/{owner}/{repo}/check-runs` as GitHub's OpenAPI description allows it
 * (types, enums, date-times, required `name`/`head_sha` and `output.title`/`output.summary`, lengths), plus
 * GitHub's own rule that `status: completed` or `completed_at` needs a `conclusion`. The first problem, or
 * undefined.
 */
export function checkRunRequestProblem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return 'Invalid request.\n\nThe body must be an object.';
  const b = body as Record<string, unknown>;
  const str = (key: string, required = false) =>
    b[key] === undefined
      ? required
        ? `"${key}" wasn't supplied.`
        : undefined
      : typeof b[key] === 'string'
        ? undefined
        : `"${key}" must be a string.`;
  const problem =
    str('name', true) ??
    (b.name === '' ? '"name" must not be empty.' : undefined) ??
    str('head_sha', true) ??
    str('details_url') ??
    str('external_id') ??
    (b.status !== undefined && !CHECK_RUN_STATUSES.includes(String(b.status))
      ? '"status" is not a valid status.'
      : undefined) ??
    (b.conclusion !== undefined && !CHECK_RUN_CONCLUSIONS.includes(String(b.conclusion))
      ? '"conclusion" is not a valid conclusion.'
      : undefined) ??
    (['started_at', 'completed_at'] as const)
      .map((key) =>
        b[key] !== undefined && !(typeof b[key] === 'string' && DATE_TIME.test(b[key]))
          ? `"${key}" must be an ISO 8601 date-time.`
          : undefined,
      )
      .find(Boolean) ??
    ((b.status === 'completed' || b.completed_at !== undefined) && b.conclusion === undefined
      ? '"conclusion" is required when "status" is "completed" or "completed_at" is given.'
      : undefined) ??
    outputProblem(b.output) ??
    (b.actions !== undefined && !(Array.isArray(b.actions) && b.actions.length <= 3)
      ? '"actions" must have at most 3 items.'
      : undefined);
  return problem === undefined ? undefined : `Invalid request.\n\n${problem}`;
}

function outputProblem(output: unknown): string | undefined {
  if (output === undefined) return undefined;
  if (!output || typeof output !== 'object' || Array.isArray(output)) return '"output" must be an object.';
  const o = output as Record<string, unknown>;
  if (typeof o.title !== 'string') return '"output.title" wasn\'t supplied.';
  if (typeof o.summary !== 'string') return '"output.summary" wasn\'t supplied.';
  if (o.summary.length > 65_535) return '"output.summary" is longer than 65535 characters.';
  if (o.text !== undefined && (typeof o.text !== 'string' || o.text.length > 65_535)) {
    return '"output.text" must be a string of at most 65535 characters.';
  }
  if (o.annotations !== undefined && !(Array.isArray(o.annotations) && o.annotations.length <= 50)) {
    return '"output.annotations" must have at most 50 items.';
  }
  return undefined;
}

/** `POST /repos/{owner}/{repo}/check-runs`: needs `checks: write` (else GitHub's 403 for an App without it). */
function createCheckRun(rc: RouteContext): Reply {
  if (rc.ctx.world.permissions.checks !== 'write') {
    return {
      status: 403,
      body: errorBody(403, 'Resource not accessible by integration', '/checks/runs#create-a-check-run'),
    };
  }
  const problem = checkRunRequestProblem(rc.body);
  if (problem) return { status: 422, body: errorBody(422, problem) };
  const { owner, repo } = rc.params as { owner: string; repo: string };
  // The checkRunPostFailure fault: a 5xx, after recording the check run when it is to have landed.
  const failure = rc.ctx.world.takeCheckRunPostFailure(requireScope(rc).key);
  if (failure?.created) rc.ctx.world.addCheckRun(owner, repo, rc.body as Record<string, unknown>);
  if (failure) {
    return {
      status: failure.status,
      body: errorBody(failure.status, failure.status === 503 ? 'Service Unavailable' : 'Server Error'),
    };
  }
  const run = rc.ctx.world.addCheckRun(owner, repo, rc.body as Record<string, unknown>);
  return { status: 201, body: checkRunJson(run, rc.ctx.url(), rc.ctx.url()) };
}

/**
 * `GET /repos/{owner}/{repo}/commits/{ref}/check-runs` (checks/list-for-ref): the repository's check runs
 * on commit `ref` (a SHA: the simulator keeps no branches), filtered by `check_name` and `status`;
 * `filter=latest` (GitHub's default) keeps the newest per name, `all` every one. Needs `checks: read`.
 */
function listCheckRunsForRef(rc: RouteContext): Reply {
  const checks = rc.ctx.world.permissions.checks;
  if (checks !== 'read' && checks !== 'write') {
    return {
      status: 403,
      body: errorBody(
        403,
        'Resource not accessible by integration',
        '/checks/runs#list-check-runs-for-a-git-reference',
      ),
    };
  }
  const { owner, repo, ref } = rc.params as { owner: string; repo: string; ref: string };
  const filter = rc.query.get('filter') ?? 'latest';
  if (filter !== 'latest' && filter !== 'all') {
    return { status: 422, body: errorBody(422, 'Invalid request.\n\n"filter" is not a valid filter.') };
  }
  const name = rc.query.get('check_name');
  const status = rc.query.get('status');
  const json = rc.ctx.world
    .checkRuns()
    .filter((run) => run.owner.toLowerCase() === owner.toLowerCase() && run.repo.toLowerCase() === repo.toLowerCase())
    .map((run) => checkRunJson(run, rc.ctx.url(), rc.ctx.url()))
    .filter((run) => run.head_sha === ref && (name === null || run.name === name))
    .filter((run) => status === null || run.status === status)
    // Newest first, as GitHub lists them.
    .reverse();
  const seen = new Set<string>();
  const all = filter === 'all' ? json : json.filter((run) => !seen.has(run.name) && Boolean(seen.add(run.name)));
  const { slice, headers } = paged(rc, `/repos/${owner}/${repo}/commits/${ref}/check-runs`, all);
  return { status: 200, headers, body: { total_count: all.length, check_runs: slice } };
}

function accessToken(rc: RouteContext): Reply {
  if (Number(rc.params.installation_id) !== rc.ctx.world.installationId) return notFound();
  const issued = rc.ctx.world.issueInstallationToken();
  return {
    status: 201,
    body: {
      token: issued.token,
      expires_at: iso(issued.expiresAt),
      permissions: { ...rc.ctx.world.permissions },
      repository_selection: 'all',
    },
  };
}

function installation(rc: RouteContext): Reply {
  const account = rc.params.owner ?? rc.params.org ?? '';
  return { status: 200, body: installationJson(rc.ctx.world, rc.ctx.appId, account, rc.ctx.url(), rc.ctx.url()) };
}

/** Cursor `v1_<id>`: the page starts at the delivery with that id (newest first). */
function listDeliveries(rc: RouteContext): Reply {
  const perPage = Math.min(100, Math.max(1, Number(rc.query.get('per_page') ?? 30) || 30));
  const statusFilter = rc.query.get('status');
  let all = rc.ctx.sender.list();
  if (statusFilter === 'failure') all = all.filter((d) => d.statusCode < 200 || d.statusCode >= 300);
  if (statusFilter === 'success') all = all.filter((d) => d.statusCode >= 200 && d.statusCode < 300);
  const cursor = rc.query.get('cursor');
  let start = 0;
  if (cursor) {
    const id = Number(/^v1_(\d+)$/.exec(cursor)?.[1]);
    if (!Number.isFinite(id)) return { status: 400, body: errorBody(400, 'Invalid cursor') };
    start = all.findIndex((d) => d.id <= id);
    if (start < 0) start = all.length;
  }
  const page = all.slice(start, start + perPage);
  const next = all[start + perPage];
  const headers: Record<string, string> = {};
  if (next) {
    const q = new URLSearchParams({ per_page: String(perPage), cursor: `v1_${next.id}` });
    if (statusFilter) q.set('status', statusFilter);
    headers.link = `<${rc.ctx.url()}/app/hook/deliveries?${q}>; rel="next"`;
  }
  return { status: 200, headers, body: page.map(deliveryJson) };
}

function redeliver(rc: RouteContext): Reply {
  const id = Number(rc.params.delivery_id);
  if (!rc.ctx.sender.list().some((d) => d.id === id)) return notFound();
  if (!rc.ctx.sender.redeliver(id)) {
    return { status: 422, body: errorBody(422, 'Validation Failed: the App has no webhook URL') };
  }
  return { status: 202, body: {} };
}

/**
 * `GET /repos/{owner}/{repo}/releases` for actions/runner (any other repository has no releases here:
 * 404, as for a repository the simulator does not know). Newest first, `per_page`/`page` with `Link`.
 */
function listReleases(rc: RouteContext): Reply {
  const { owner, repo } = rc.params as { owner: string; repo: string };
  if (owner.toLowerCase() !== 'actions' || repo.toLowerCase() !== 'runner') return notFound();
  const all = rc.ctx.releases.list();
  const { slice, headers } = paged(rc, `/repos/${owner}/${repo}/releases`, all);
  const url = rc.ctx.url();
  return {
    status: 200,
    headers,
    body: slice.map((release) => {
      const previous = all[all.indexOf(release) + 1]?.version;
      return runnerReleaseJson(rc.ctx.releases, release, previous, url, url);
    }),
  };
}

/**
 * `GET /app/installations`: the simulator's one installation. This operation's schema types `account` as
 * the intersection (allOf) of simple-user and enterprise, so the account also carries the enterprise
 * fields (`name`, `slug`, `created_at`, `updated_at`).
 */
function listInstallations(rc: RouteContext): Reply {
  const installation = installationJson(rc.ctx.world, rc.ctx.appId, 'octo-org', rc.ctx.url(), rc.ctx.url());
  const account = {
    ...installation.account,
    name: 'octo-org',
    slug: 'octo-org',
    created_at: installation.created_at,
    updated_at: installation.updated_at,
  };
  return { status: 200, body: [{ ...installation, account }] };
}

/** `GET /app`: the App, with the permissions app-manifest.json asks for and its events (`workflow_job`). */
function getApp(rc: RouteContext): Reply {
  const url = rc.ctx.url();
  const events = rc.ctx.appFault().events ?? ['workflow_job'];
  // The App's own permissions: every one its installation has, at least (the installation may lag behind).
  const permissions = { ...rc.ctx.world.permissions, administration: 'write', actions: 'read', metadata: 'read' };
  return {
    status: 200,
    body: appJson(rc.ctx.appId, { events, permissions, created: rc.ctx.world.now() - 30 * 86_400_000 }, url, url),
  };
}

/** `GET /app/hook/config`: where and how the App delivers (the simulator's webhook target). */
function getHookConfig(rc: RouteContext): Reply {
  return { status: 200, body: hookConfigJson(rc.ctx.sender.url, rc.ctx.sender.configured) };
}

const RUNNER_BASES = ['/repos/{owner}/{repo}/actions/runners', '/orgs/{org}/actions/runners'];

const route = (method: string, template: string, auth: Auth, handle: RestRoute['handle'], runnerEndpoint = false) => ({
  route: compileRoute(method, template),
  auth,
  runnerEndpoint,
  handle,
});

const ROUTES: RestRoute[] = [
  route('POST', '/app/installations/{installation_id}/access_tokens', 'jwt', accessToken),
  route('GET', '/repos/{owner}/{repo}/installation', 'jwt', installation),
  route('GET', '/orgs/{org}/installation', 'jwt', installation),
  route('GET', '/app/installations', 'jwt', listInstallations),
  route('GET', '/app', 'jwt', getApp),
  route('GET', '/app/hook/config', 'jwt', getHookConfig),
  route('GET', '/app/hook/deliveries', 'jwt', listDeliveries),
  route('GET', '/repos/{owner}/{repo}/releases', 'public', listReleases),
  route('POST', '/app/hook/deliveries/{delivery_id}/attempts', 'jwt', redeliver),
  route('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 'installation', getJob),
  route('GET', '/repos/{owner}/{repo}/actions/runs', 'installation', listRuns),
  route('GET', '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs', 'installation', listRunJobs),
  route('POST', '/repos/{owner}/{repo}/check-runs', 'installation', createCheckRun),
  route('GET', '/repos/{owner}/{repo}/commits/{ref}/check-runs', 'installation', listCheckRunsForRef),
  ...RUNNER_BASES.flatMap((base) => [
    route('POST', `${base}/generate-jitconfig`, 'installation', generateJitConfig, true),
    route('POST', `${base}/registration-token`, 'installation', runnerToken('registration'), true),
    route('POST', `${base}/remove-token`, 'installation', runnerToken('remove'), true),
    route('GET', base, 'installation', listRunners, true),
    route('GET', `${base}/{runner_id}`, 'installation', getRunner, true),
    route('DELETE', `${base}/{runner_id}`, 'installation', deleteRunner, true),
  ]),
];

const SECONDARY_RATE_LIMIT =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.';

/** The scope's fault, if one answers this request instead of the handler. */
function faultReply(rc: RouteContext, runnerEndpoint: boolean): Reply | undefined {
  const key = rc.scopeKey;
  const fault = rc.ctx.world.fault(key);
  if (!key || !fault) return undefined;
  let reply: Reply | undefined;
  if (fault.rateLimit?.kind === 'primary') {
    const reset = Math.ceil(rc.ctx.world.now() / 1000) + fault.rateLimit.retryAfterSeconds;
    reply = {
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(reset) },
      body: errorBody(
        403,
        `API rate limit exceeded for installation ID ${rc.ctx.world.installationId}.`,
        '/overview/rate-limits-for-the-rest-api',
      ),
    };
  } else if (fault.rateLimit) {
    reply = {
      status: 403,
      headers: { 'retry-after': String(fault.rateLimit.retryAfterSeconds) },
      body: errorBody(403, SECONDARY_RATE_LIMIT, '/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits'),
    };
  } else if (runnerEndpoint && fault.breakerOpen) {
    reply = { status: 503, body: errorBody(503, 'breaker open') };
  } else if (runnerEndpoint && fault.apiStatus) {
    reply = {
      status: fault.apiStatus,
      body: errorBody(fault.apiStatus, fault.apiStatus === 503 ? 'Service Unavailable' : 'Server Error'),
    };
  } else if (fault.failRate && rc.ctx.world.random() < fault.failRate) {
    reply = { status: 500, body: errorBody(500, 'Server Error') };
  }
  if (reply) rc.ctx.world.spendFault(key);
  return reply;
}

function authProblem(ctx: SimContext, req: IncomingMessage, auth: Auth): string | undefined {
  switch (auth) {
    case 'jwt': {
      const jwt = bearer(req, 'bearer');
      if (!jwt) return 'A JSON web token could not be decoded';
      const fault = ctx.appFault();
      // The key the server signs with is no longer the App's: GitHub cannot verify the signature.
      if (fault.wrongKey) return 'A JSON web token could not be decoded';
      const now = ctx.world.now() + (fault.clockSkewSeconds ?? 0) * 1000;
      return appJwtProblem(jwt, ctx.publicKey, ctx.appId, Math.floor(now / 1000));
    }
    case 'installation': {
      const token = bearer(req, 'token') ?? bearer(req, 'bearer');
      return token && ctx.world.isInstallationToken(token) ? undefined : 'Bad credentials';
    }
    case 'public': {
      if (!req.headers.authorization) return undefined;
      const token = bearer(req, 'token') ?? bearer(req, 'bearer');
      return token && ctx.world.isInstallationToken(token) ? undefined : 'Bad credentials';
    }
  }
}

/** Answers a GitHub REST request, or returns undefined when no REST route matches. */
export function handleRest(
  ctx: SimContext,
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
  bodyText: string,
): { reply: Reply; endpoint: string; scopeKey: string | undefined; body: unknown } | undefined {
  const method = req.method ?? 'GET';
  for (const r of ROUTES) {
    const params = matchRoute(r.route, method, path);
    if (!params) continue;
    const endpoint = `${r.route.method} ${r.route.template}`;
    const scope = scopeOf(params);
    const scopeKey = scope ? toScopeKey(scope) : undefined;
    let body: unknown;
    try {
      body = parseJson(bodyText);
    } catch (error) {
      if (!(error instanceof BadJsonError)) throw error;
      return { reply: { status: 400, body: errorBody(400, error.message) }, endpoint, scopeKey, body: undefined };
    }
    const problem = authProblem(ctx, req, r.auth);
    if (problem) return { reply: { status: 401, body: errorBody(401, problem) }, endpoint, scopeKey, body };
    const rc: RouteContext = { ctx, params, query, body, scope, scopeKey };
    const reply = faultReply(rc, r.runnerEndpoint) ?? r.handle(rc);
    return { reply, endpoint, scopeKey, body };
  }
  return undefined;
}
