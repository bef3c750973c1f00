import { createRequire } from 'node:module';
import { iso, repositoryId, steps } from './openapi-shapes.ts';
import type { SimJob } from './sim-types.ts';

type JsonObject = Record<string, unknown>;
interface ExampleGroup {
  name: string;
  examples: JsonObject[];
}

export type WorkflowJobAction = 'queued' | 'in_progress' | 'completed';

let examples: Map<WorkflowJobAction, JsonObject> | undefined;

/** One real `workflow_job` example per action from `@octokit/webhooks-examples`, preferring ones with an installation. */
function example(action: WorkflowJobAction): JsonObject {
  if (!examples) {
    const require = createRequire(import.meta.url);
    const all = require('@octokit/webhooks-examples/api.github.com/index.json') as ExampleGroup[];
    const group = all.find((g) => g.name === 'workflow_job');
    if (!group) throw new Error('@octokit/webhooks-examples has no workflow_job examples');
    examples = new Map();
    for (const a of ['queued', 'in_progress', 'completed'] as const) {
      const candidates = group.examples.filter(
        (e) => e.action === a && (e.workflow_job as JsonObject | undefined)?.status === a,
      );
      const chosen = candidates.find((e) => e.installation) ?? candidates[0];
      if (!chosen) throw new Error(`@octokit/webhooks-examples has no workflow_job ${a} example`);
      examples.set(a, chosen);
    }
  }
  const found = examples.get(action);
  if (!found) throw new Error(`no workflow_job ${action} example`);
  return structuredClone(found);
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
  const runnerAssigned = action !== 'queued' && job.runnerId !== null;
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
    steps: action === 'queued' ? [] : steps(job),
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
