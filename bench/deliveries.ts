import { createHmac, randomUUID } from 'node:crypto';
import { workflowJobPayload } from '../test/support/webhook-fixtures.ts';

/** What a delivery is for the server: a new served job, a job the fleet does not serve, or a re-sent one. */
export const DeliveryKind = { served: 'served', unserved: 'unserved', duplicate: 'duplicate' } as const;
export type DeliveryKind = (typeof DeliveryKind)[keyof typeof DeliveryKind];

export interface Delivery {
  kind: DeliveryKind;
  jobId: number;
  body: string;
  headers: Record<string, string>;
}

export interface DeliveryFactoryOptions {
  secret: string;
  installationId: number;
  owner: string;
  /** Repositories jobs are spread over (round robin by job id). */
  repos: readonly string[];
  /** Labels of served jobs (the fleet's `RUNNER_LABELS`). */
  servedLabels: readonly string[];
}

// Patched into the template where the job id goes; `run_id` (jobId * 10) then follows by string join.
const MARKER = 7_777_777_777_777;

/** `repo-01` … `repo-NN`. */
export function repoNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `repo-${String(i + 1).padStart(2, '0')}`);
}

/**
 * Builds signed `workflow_job` deliveries from the real @octokit/webhooks-examples payload. Each
 * (repository, labels) template is serialised once and split at the job id, so a delivery costs one string
 * join and one HMAC: cheap enough to generate thousands per second in the load process.
 */
export class DeliveryFactory {
  private readonly served: string[][];
  private readonly unserved: string[];

  constructor(private readonly options: DeliveryFactoryOptions) {
    const template = (repo: string, labels: readonly string[]) =>
      JSON.stringify(
        workflowJobPayload({
          action: 'queued',
          jobId: MARKER,
          owner: options.owner,
          repo,
          labels: [...labels],
          installationId: options.installationId,
        }),
      ).split(String(MARKER));
    this.served = options.repos.map((repo) => template(repo, options.servedLabels));
    this.unserved = template(options.repos[0] ?? 'repo', ['ubuntu-latest']);
  }

  /** The body of a `queued` delivery for `jobId`, exactly `JSON.stringify(workflowJobPayload(…))`. */
  body(jobId: number, served = true): string {
    const parts = served ? this.served[jobId % this.served.length] : this.unserved;
    return (parts as string[]).join(String(jobId));
  }

  repoOf(jobId: number): string {
    return this.options.repos[jobId % this.options.repos.length] as string;
  }

  /** Headers as GitHub sends them, with a fresh delivery id and a real HMAC-SHA256 signature. */
  sign(body: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'workflow_job',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', this.options.secret).update(body).digest('hex')}`,
    };
  }

  delivery(kind: DeliveryKind, jobId: number): Delivery {
    const body = this.body(jobId, kind !== DeliveryKind.unserved);
    return { kind, jobId, body, headers: this.sign(body) };
  }
}

/**
 * A deterministic mix: `pattern[i % pattern.length]` is the kind of delivery `i`. New jobs take ids from
 * `firstJobId` on; a duplicate re-sends the latest served job's body under a new delivery id (GitHub
 * redelivers the same event under another id), so it races with that job's provisioning.
 */
export class DeliveryMix {
  private nextJobId: number;
  private lastServed: number | undefined;
  private index = 0;

  constructor(
    private readonly factory: DeliveryFactory,
    private readonly pattern: readonly DeliveryKind[],
    firstJobId: number,
  ) {
    this.nextJobId = firstJobId;
  }

  next(): Delivery {
    let kind = this.pattern[this.index++ % this.pattern.length] ?? DeliveryKind.served;
    if (kind === DeliveryKind.duplicate && this.lastServed === undefined) kind = DeliveryKind.served;
    if (kind === DeliveryKind.duplicate) return this.factory.delivery(kind, this.lastServed as number);
    const jobId = this.nextJobId++;
    if (kind === DeliveryKind.served) this.lastServed = jobId;
    return this.factory.delivery(kind, jobId);
  }
}

/** Parses `served:2,unserved:1,duplicate:1` into a pattern. */
export function parseMix(text: string): DeliveryKind[] {
  const pattern: DeliveryKind[] = [];
  for (const part of text.split(',')) {
    const [name, count] = part.split(':');
    if (!name || !Object.values(DeliveryKind).includes(name as DeliveryKind)) {
      throw new Error(`unknown delivery kind in mix: ${part}`);
    }
    const n = Number(count ?? '1');
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad count in mix: ${part}`);
    for (let i = 0; i < n; i++) pattern.push(name as DeliveryKind);
  }
  if (pattern.length === 0) throw new Error('empty delivery mix');
  return pattern;
}
