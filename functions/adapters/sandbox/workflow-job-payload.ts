import { iso, repositoryId, steps } from './openapi-shapes.ts';
import type { SimJob } from './sim-types.ts';
// The three real `workflow_job` examples (one per action, preferring ones with an installation) copied
// from @octokit/webhooks-examples 7.6.1 (MIT). That package is 9 MB and a devDependency: the sandbox
// runs after `npm ci --omit=dev`, so it carries this 28 KB copy; test/sandbox/workflow-job-examples.test.ts
// fails when the copy and the package's examples differ (docs/decisions.md "Sandbox payloads").
import EXAMPLES from './workflow-job-examples.json' with { type: 'json' };

type JsonObject = Record<string, unknown>;

/** `waiting` is in GitHub's webhook schema (@octokit/openapi-webhooks `workflow-job-waiting`). */
export type WorkflowJobAction = 'queued' | 'waiting' | 'in_progress' | 'completed';
type ExampleAction = Exclude<WorkflowJobAction, 'waiting'>;

/**
 * A fresh copy of the real example for `action` (callers patch it in place). `waiting` is built from the
 * `queued` one: GitHub's own `waiting` example has the same shape (no runner, no steps), status `waiting`.
 */
function example(action: WorkflowJobAction): JsonObject {
  const from: ExampleAction = action === 'waiting' ? 'queued' : action;
  return structuredClone((EXAMPLES as Record<ExampleAction, JsonObject>)[from]);
}

/** Replaces every occurrence of the example's repository and owner logins in URLs and names. */
function retarget(
  value: unknown,
  from: { owners: string[]; full: string },
  to: { owner: string; full: string },
): unknown {
  if (typeof value === 'string') {
    let text = value.replaceAll(from.full, to.full);
    for (const owner of from.owners) {
      text = text.replaceAll(`/${owner}/`, `/${to.owner}/`).replace(new RegExp(`/${owner}$`), `/${to.owner}`);
    }
    return text;
  }
  if (Array.isArray(value)) return value.map((v) => retarget(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, retarget(v, from, to)]));
  }
  return value;
}

export interface PayloadContext {
  apiUrl: string;
  serverUrl: string;
}

/**
 * A `workflow_job` webhook payload for `action`, built from a real example with the job's ids, repository,
 * labels, runner and installation patched in.
 */
export function workflowJobPayload(action: WorkflowJobAction, job: SimJob, ctx: PayloadContext): JsonObject {
  const payload = example(action);
  const repository = payload.repository as JsonObject;
  // Examples are not always self-consistent (owner.login may differ from the full name's owner).
  const full = String(repository.full_name);
  const owners = [...new Set([full.split('/')[0] ?? '', String((repository.owner as JsonObject).login)])].filter(
    Boolean,
  );
  const repo = retarget(
    repository,
    { owners, full },
    { owner: job.owner, full: `${job.owner}/${job.repo}` },
  ) as JsonObject;
  repo.id = repositoryId(job.owner, job.repo);
  repo.node_id = Buffer.from(`010:Repository${repo.id}`).toString('base64');
  repo.name = job.repo;
  repo.full_name = `${job.owner}/${job.repo}`;
  (repo.owner as JsonObject).login = job.owner;
  (repo.owner as JsonObject).id = repositoryId(job.owner, '');

  const repoApi = `${ctx.apiUrl}/repos/${job.owner}/${job.repo}`;
  const runnerAssigned = action !== 'queued' && action !== 'waiting' && job.runnerId !== null;
  const wj = payload.workflow_job as JsonObject;
  Object.assign(wj, {
    id: job.id,
    run_id: job.runId,
    run_attempt: 1,
    run_url: `${repoApi}/actions/runs/${job.runId}`,
    node_id: Buffer.from(`08:CheckRun${job.id}`).toString('base64'),
    head_sha: job.headSha,
    url: `${repoApi}/actions/jobs/${job.id}`,
    html_url: `${ctx.serverUrl}/${job.owner}/${job.repo}/actions/runs/${job.runId}/job/${job.id}`,
    check_run_url: `${repoApi}/check-runs/${job.id}`,
    status: action,
    conclusion: action === 'completed' ? job.conclusion : null,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt ?? job.createdAt),
    completed_at: action === 'completed' && job.completedAt !== null ? iso(job.completedAt) : null,
    name: job.name,
    steps: action === 'queued' || action === 'waiting' ? [] : steps(job),
    labels: [...job.labels],
    runner_id: runnerAssigned ? job.runnerId : null,
    runner_name: runnerAssigned ? job.runnerName : null,
    runner_group_id: runnerAssigned ? 1 : null,
    runner_group_name: runnerAssigned ? 'Default' : null,
    workflow_name: job.workflowName,
    head_branch: job.headBranch,
  });
  payload.action = action;
  payload.repository = repo;
  payload.installation = {
    id: job.installationId,
    node_id: Buffer.from(`023:Installation${job.installationId}`).toString('base64'),
  };
  return payload;
}
