import { randomUUID } from 'node:crypto';
import examples from '@octokit/webhooks-examples' with { type: 'json' };
import { sign } from '@octokit/webhooks-methods';

type Example = Record<string, unknown> & {
  action: string;
  workflow_job: Record<string, unknown> & { id: number; run_id: number; labels: string[] };
  repository: Record<string, unknown> & {
    name: string;
    full_name: string;
    owner: Record<string, unknown> & { login: string };
  };
  installation?: { id: number };
};

const workflowJobExamples = (examples as unknown as { name: string; examples: Example[] }[]).find(
  (e) => e.name === 'workflow_job',
)?.examples;
if (!workflowJobExamples) throw new Error('@octokit/webhooks-examples has no workflow_job examples');

/** A real `workflow_job` payload from @octokit/webhooks-examples, patched with our ids, repo and labels. */
export function workflowJobPayload(options: {
  action: 'queued' | 'in_progress' | 'completed' | 'waiting';
  jobId: number;
  owner?: string;
  repo?: string;
  labels?: string[];
  installationId?: number;
  runnerName?: string | null;
  conclusion?: string | null;
}): Example {
  const template = workflowJobExamples?.find((e) => e.action === options.action);
  if (!template) throw new Error(`no ${options.action} example`);
  const payload = structuredClone(template);
  const owner = options.owner ?? 'octo-org';
  const repo = options.repo ?? 'octo-repo';
  payload.workflow_job.id = options.jobId;
  payload.workflow_job.run_id = options.jobId * 10;
  payload.workflow_job.labels = options.labels ?? ['self-hosted', 'linux', 'x64'];
  if (options.runnerName !== undefined) payload.workflow_job.runner_name = options.runnerName;
  if (options.conclusion !== undefined) payload.workflow_job.conclusion = options.conclusion;
  payload.repository.name = repo;
  payload.repository.full_name = `${owner}/${repo}`;
  payload.repository.owner.login = owner;
  payload.installation = { id: options.installationId ?? 1 };
  return payload;
}

export interface SignedDelivery {
  headers: Record<string, string>;
  body: string;
}

/** Headers exactly as GitHub sends them, with a real HMAC-SHA256 signature. */
export async function signedDelivery(
  secret: string,
  payload: unknown,
  options: { event?: string; deliveryId?: string; body?: string } = {},
): Promise<SignedDelivery> {
  const body = options.body ?? JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': options.event ?? 'workflow_job',
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-hub-signature-256': await sign(secret, body),
    },
  };
}
