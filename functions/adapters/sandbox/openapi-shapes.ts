import { downloadUrl, packageName, releaseNotes, SIM_RELEASE_PLATFORMS, type SimReleases } from './runner-releases.ts';
import type { SimCheckRun, SimDelivery, SimJob, SimRun, SimRunner, SimRunnerRelease } from './sim-types.ts';
import type { SimWorld } from './sim-world.ts';

/**
 * Response bodies shaped after GitHub's OpenAPI description (`@octokit/openapi`, api.github.com);
 * the sandbox tests validate them against those schemas.
 */

const DOCS = 'https://docs.github.com/rest';
const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'x64', 'arm64', 'windows', 'macos']);

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `basic-error` / `validation-error-simple`. */
export function errorBody(status: number, message: string, docsPath = ''): Record<string, string> {
  return { message, documentation_url: `${DOCS}${docsPath}`, status: String(status) };
}

/** `#/components/schemas/runner`. */
export function runnerJson(world: SimWorld, runner: SimRunner) {
  return {
    id: runner.id,
    runner_group_id: runner.runnerGroupId,
    name: runner.name,
    os: runner.os,
    status: world.status(runner),
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    labels: runner.labels.map((name, i) => ({
      id: i + 1,
      name,
      type: READ_ONLY_LABELS.has(name.toLowerCase()) && !runner.jit ? ('read-only' as const) : ('custom' as const),
    })),
    version: runner.version ?? null,
  };
}

/** Stable per-repository numbers, so payloads and job URLs agree across calls. */
export function repositoryId(owner: string, repo: string): number {
  let h = 2166136261;
  for (const c of `${owner}/${repo}`.toLowerCase()) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return 100_000_000 + (h % 800_000_000);
}

/** `#/components/schemas/job`. */
export function jobJson(job: SimJob, apiUrl: string, serverUrl: string) {
  const repoApi = `${apiUrl}/repos/${job.owner}/${job.repo}`;
  const at = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    id: job.id,
    run_id: job.runId,
    run_url: `${repoApi}/actions/runs/${job.runId}`,
    run_attempt: 1,
    node_id: Buffer.from(`08:CheckRun${job.id}`).toString('base64'),
    head_sha: job.headSha,
    url: `${repoApi}/actions/jobs/${job.id}`,
    html_url: `${serverUrl}/${job.owner}/${job.repo}/actions/runs/${job.runId}/job/${job.id}`,
    status: job.status,
    conclusion: job.conclusion,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt ?? job.createdAt),
    completed_at: at(job.completedAt),
    name: job.name,
    steps: steps(job),
    check_run_url: `${repoApi}/check-runs/${job.id}`,
    labels: [...job.labels],
    runner_id: job.runnerId,
    runner_name: job.runnerName,
    runner_group_id: job.runnerId === null ? null : 1,
    runner_group_name: job.runnerId === null ? null : 'Default',
    workflow_name: job.workflowName,
    head_branch: job.headBranch,
  };
}

export function steps(job: SimJob) {
  if (job.status === 'queued' || job.startedAt === null) return [];
  const started = iso(job.startedAt);
  if (job.status === 'in_progress') {
    return [
      {
        name: 'Set up job',
        status: 'in_progress' as const,
        conclusion: null,
        number: 1,
        started_at: started,
        completed_at: null,
      },
    ];
  }
  const done = iso(job.completedAt ?? job.startedAt);
  return [
    {
      name: 'Set up job',
      status: 'completed' as const,
      conclusion: 'success',
      number: 1,
      started_at: started,
      completed_at: started,
    },
    {
      name: 'Run build',
      status: 'completed' as const,
      conclusion: job.conclusion,
      number: 2,
      started_at: started,
      completed_at: done,
    },
  ];
}

/** Stable per-workflow number (one workflow, `CI`, per repository in the simulator). */
function workflowId(owner: string, repo: string): number {
  return repositoryId(owner, repo) + 7;
}

/** URL fields of `#/components/schemas/minimal-repository`, as api.github.com spells them. */
const REPO_URL_TEMPLATES: Record<string, string> = {
  archive_url: '/{archive_format}{/ref}',
  assignees_url: '/assignees{/user}',
  blobs_url: '/git/blobs{/sha}',
  branches_url: '/branches{/branch}',
  collaborators_url: '/collaborators{/collaborator}',
  comments_url: '/comments{/number}',
  commits_url: '/commits{/sha}',
  compare_url: '/compare/{base}...{head}',
  contents_url: '/contents/{+path}',
  contributors_url: '/contributors',
  deployments_url: '/deployments',
  downloads_url: '/downloads',
  events_url: '/events',
  forks_url: '/forks',
  git_commits_url: '/git/commits{/sha}',
  git_refs_url: '/git/refs{/sha}',
  git_tags_url: '/git/tags{/sha}',
  hooks_url: '/hooks',
  issue_comment_url: '/issues/comments{/number}',
  issue_events_url: '/issues/events{/number}',
  issues_url: '/issues{/number}',
  keys_url: '/keys{/key_id}',
  labels_url: '/labels{/name}',
  languages_url: '/languages',
  merges_url: '/merges',
  milestones_url: '/milestones{/number}',
  notifications_url: '/notifications{?since,all,participating}',
  pulls_url: '/pulls{/number}',
  releases_url: '/releases{/id}',
  stargazers_url: '/stargazers',
  statuses_url: '/statuses/{sha}',
  subscribers_url: '/subscribers',
  subscription_url: '/subscription',
  tags_url: '/tags',
  teams_url: '/teams',
  trees_url: '/git/trees{/sha}',
};

/** `#/components/schemas/minimal-repository`. */
export function minimalRepositoryJson(owner: string, repo: string, apiUrl: string, serverUrl: string) {
  const api = `${apiUrl}/repos/${owner}/${repo}`;
  const id = repositoryId(owner, repo);
  return {
    id,
    node_id: Buffer.from(`010:Repository${id}`).toString('base64'),
    name: repo,
    full_name: `${owner}/${repo}`,
    owner: simpleUser(owner, repositoryId(owner, ''), 'Organization', apiUrl, serverUrl),
    private: true,
    html_url: `${serverUrl}/${owner}/${repo}`,
    description: null,
    fork: false,
    url: api,
    ...Object.fromEntries(Object.entries(REPO_URL_TEMPLATES).map(([field, suffix]) => [field, `${api}${suffix}`])),
  };
}

/** `#/components/schemas/workflow-run`: a run of the repository's one workflow, pushed to its branch. */
export function workflowRunJson(run: SimRun, apiUrl: string, serverUrl: string) {
  const runApi = `${apiUrl}/repos/${run.owner}/${run.repo}/actions/runs/${run.id}`;
  const repository = minimalRepositoryJson(run.owner, run.repo, apiUrl, serverUrl);
  const actor = simpleUser(run.owner, repositoryId(run.owner, ''), 'Organization', apiUrl, serverUrl);
  const workflow = workflowId(run.owner, run.repo);
  return {
    id: run.id,
    name: run.workflowName,
    node_id: Buffer.from(`011:WorkflowRun${run.id}`).toString('base64'),
    check_suite_id: run.id + 1,
    check_suite_node_id: Buffer.from(`014:CheckSuite${run.id + 1}`).toString('base64'),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: '.github/workflows/ci.yml',
    display_title: run.workflowName,
    run_number: run.id % 100_000,
    run_attempt: 1,
    referenced_workflows: [],
    event: 'push',
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: workflow,
    url: runApi,
    html_url: `${serverUrl}/${run.owner}/${run.repo}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: iso(run.createdAt),
    updated_at: iso(run.updatedAt),
    actor,
    triggering_actor: actor,
    run_started_at: iso(run.startedAt),
    jobs_url: `${runApi}/jobs`,
    logs_url: `${runApi}/logs`,
    check_suite_url: `${apiUrl}/repos/${run.owner}/${run.repo}/check-suites/${run.id + 1}`,
    artifacts_url: `${runApi}/artifacts`,
    cancel_url: `${runApi}/cancel`,
    rerun_url: `${runApi}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${apiUrl}/repos/${run.owner}/${run.repo}/actions/workflows/${workflow}`,
    head_commit: {
      id: run.headSha,
      tree_id: run.headSha.split('').reverse().join(''),
      message: 'Simulated commit',
      timestamp: iso(run.createdAt),
      author: { name: 'Sandbox', email: 'sandbox@example.com' },
      committer: { name: 'GitHub', email: 'noreply@github.com' },
    },
    repository,
    head_repository: repository,
    head_repository_id: repository.id,
  };
}

/** `#/components/schemas/hook-delivery-item`. */
export function deliveryJson(d: SimDelivery) {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.deliveredAt,
    redelivery: d.redelivery,
    duration: d.duration,
    status: d.status,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: d.installationId,
    repository_id: d.repositoryId,
    throttled_at: null,
  };
}

function simpleUser(
  login: string,
  id: number,
  type: 'User' | 'Organization' | 'Bot',
  apiUrl: string,
  serverUrl: string,
) {
  // `github-actions[bot]` is spelled `github-actions%5Bbot%5D` in addresses, as GitHub does.
  const api = `${apiUrl}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `${serverUrl}/${encodeURIComponent(login)}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    site_admin: false,
  };
}

/** `#/components/schemas/installation`: one installation covering every repository. */
export function installationJson(world: SimWorld, appId: number, account: string, apiUrl: string, serverUrl: string) {
  const created = iso(world.now() - 86_400_000);
  return {
    id: world.installationId,
    account: simpleUser(account, repositoryId(account, ''), 'Organization', apiUrl, serverUrl),
    repository_selection: 'all' as const,
    access_tokens_url: `${apiUrl}/app/installations/${world.installationId}/access_tokens`,
    repositories_url: `${apiUrl}/installation/repositories`,
    html_url: `${serverUrl}/organizations/${account}/settings/installations/${world.installationId}`,
    app_id: appId,
    app_slug: 'jit-runners-sandbox',
    target_id: repositoryId(account, ''),
    target_type: 'Organization',
    permissions: { ...world.permissions },
    events: ['workflow_job'],
    created_at: created,
    updated_at: created,
    single_file_name: null,
    suspended_by: null,
    suspended_at: null,
  };
}

/** The account that publishes actions/runner releases. */
const RELEASE_AUTHOR = { login: 'github-actions[bot]', id: 41898282 };

/**
 * `#/components/schemas/release` of actions/runner: tag `v<version>`, notes in the project's own layout
 * with each package's SHA-256, and one `.tar.gz` asset per simulated platform. `previous` is the release
 * before it (for the notes' changelog line).
 */
export function runnerReleaseJson(
  releases: SimReleases,
  release: SimRunnerRelease,
  previous: string | undefined,
  apiUrl: string,
  serverUrl: string,
) {
  const repoApi = `${apiUrl}/repos/actions/runner`;
  const tag = `v${release.version}`;
  const author = simpleUser(RELEASE_AUTHOR.login, RELEASE_AUTHOR.id, 'Bot', apiUrl, serverUrl);
  const digests = Object.fromEntries(
    SIM_RELEASE_PLATFORMS.map((p) => [p, releases.genuine(release.version, p).sha256]),
  ) as Record<(typeof SIM_RELEASE_PLATFORMS)[number], string>;
  return {
    url: `${repoApi}/releases/${release.id}`,
    assets_url: `${repoApi}/releases/${release.id}/assets`,
    upload_url: `${apiUrl.replace('://', '://uploads.')}/repos/actions/runner/releases/${release.id}/assets{?name,label}`,
    html_url: `${serverUrl}/actions/runner/releases/tag/${tag}`,
    id: release.id,
    author,
    node_id: Buffer.from(`07:Release${release.id}`).toString('base64'),
    tag_name: tag,
    target_commitish: 'main',
    name: tag,
    draft: false,
    immutable: false,
    prerelease: release.prerelease,
    created_at: iso(release.createdAt),
    updated_at: iso(release.publishedAt),
    published_at: iso(release.publishedAt),
    assets: SIM_RELEASE_PLATFORMS.map((platform) => {
      const id = release.assetIds[platform] ?? 0;
      return {
        url: `${repoApi}/releases/assets/${id}`,
        id,
        node_id: Buffer.from(`012:ReleaseAsset${id}`).toString('base64'),
        name: packageName(platform, release.version),
        label: '',
        uploader: author,
        content_type: 'application/octet-stream',
        state: 'uploaded' as const,
        // GitHub's size and digest of what was uploaded: the genuine package, even when the bytes served differ.
        size: releases.genuine(release.version, platform).bytes.byteLength,
        digest: `sha256:${digests[platform]}`,
        download_count: 0,
        created_at: iso(release.publishedAt),
        updated_at: iso(release.publishedAt),
        browser_download_url: downloadUrl(serverUrl, release.version, platform),
      };
    }),
    tarball_url: `${repoApi}/tarball/${tag}`,
    zipball_url: `${repoApi}/zipball/${tag}`,
    body: releaseNotes(release.version, previous, digests),
  };
}

/** `#/components/schemas/check-run` for a check run posted to the simulator. */
export function checkRunJson(run: SimCheckRun, apiUrl: string, serverUrl: string) {
  const b = run.body as {
    name: string;
    head_sha: string;
    status?: 'queued' | 'in_progress' | 'completed';
    conclusion?: string;
    started_at?: string;
    completed_at?: string;
    details_url?: string;
    external_id?: string;
    output?: { title?: string; summary?: string; text?: string; annotations?: unknown[] };
  };
  const status = b.status ?? (b.conclusion !== undefined ? 'completed' : 'queued');
  return {
    id: run.id,
    head_sha: b.head_sha,
    node_id: Buffer.from(`08:CheckRun${run.id}`).toString('base64'),
    external_id: b.external_id ?? '',
    url: `${apiUrl}/repos/${run.owner}/${run.repo}/check-runs/${run.id}`,
    html_url: `${serverUrl}/${run.owner}/${run.repo}/runs/${run.id}`,
    details_url: b.details_url ?? null,
    status,
    conclusion: (b.conclusion ?? null) as
      | 'success'
      | 'failure'
      | 'neutral'
      | 'cancelled'
      | 'skipped'
      | 'timed_out'
      | 'action_required'
      | 'stale'
      | null,
    started_at: b.started_at ?? iso(run.createdAt),
    completed_at: status === 'completed' ? (b.completed_at ?? iso(run.createdAt)) : null,
    output: {
      title: b.output?.title ?? null,
      summary: b.output?.summary ?? null,
      text: b.output?.text ?? null,
      annotations_count: b.output?.annotations?.length ?? 0,
      annotations_url: `${apiUrl}/repos/${run.owner}/${run.repo}/check-runs/${run.id}/annotations`,
    },
    name: b.name,
    check_suite: { id: run.id + 1 },
    app: null,
    pull_requests: [],
  };
}

/** `#/components/schemas/integration` (`GET /app`): the sandbox App, owned by `octo-org`. */
export function appJson(
  appId: number,
  options: { events: readonly string[]; permissions: Readonly<Record<string, string>>; created: number },
  apiUrl: string,
  serverUrl: string,
) {
  const created = iso(options.created);
  return {
    id: appId,
    slug: 'jit-runners-sandbox',
    node_id: Buffer.from(`03:Integration${appId}`).toString('base64'),
    client_id: `Iv1.${appId.toString(16).padStart(16, '0')}`,
    owner: simpleUser('octo-org', repositoryId('octo-org', ''), 'Organization', apiUrl, serverUrl),
    name: 'jit-runners (sandbox)',
    description: 'Provisions ephemeral just-in-time self-hosted GitHub Actions runners (sandbox simulator).',
    external_url: serverUrl,
    html_url: `${serverUrl}/apps/jit-runners-sandbox`,
    created_at: created,
    updated_at: created,
    permissions: { ...options.permissions },
    events: [...options.events],
    installations_count: 1,
  };
}

/** `#/components/schemas/webhook-config` (`GET /app/hook/config`): GitHub masks a set secret as `********`. */
export function hookConfigJson(url: string | undefined, secretSet: boolean) {
  return {
    url: url ?? '',
    content_type: 'json',
    insecure_ssl: '0',
    ...(secretSet && { secret: '********' }),
  };
}
