import { verifyWithFallback } from '@octokit/webhooks-methods';
import type { Config } from '../../config/config.ts';
import { isAllowed } from '../../domain/allowlist.ts';
import { QueuedDelivery, readQueuedDelivery } from '../../domain/approval-wait.ts';
import type { NewJob } from '../../domain/job.ts';
import { msSinceQueued } from '../../domain/job-latency.ts';
import { JobStatus, statusesAllowing } from '../../domain/job-status.ts';
import { matchPool, poolNameOf } from '../../domain/runner-pool.ts';
import { scopeForRepository, scopeKey } from '../../domain/scope.ts';
import { CountMetric, MeasureMetric, MetricUnit, WebhookRejectReason } from '../../ports/metric-names.ts';
import type { Clock, Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type JobRepository } from '../../ports/store.ts';
import { createApprovalWait } from '../provisioning/approval-wait.ts';
import { describeSchemaError, type WorkflowJobEvent, WorkflowJobEventSchema } from './workflow-job-event.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface WebhookResponse {
  status: number;
  body: { message: string; [key: string]: unknown };
}

/**
 * What a `workflow_job` `in_progress`/`completed` tells about a runner (input of stolen-runner
 * handling), or that a job went `waiting` (its runner, if any, is retired where a launcher is at hand).
 */
export interface JobProgress {
  action: 'in_progress' | 'completed' | 'waiting';
  jobId: number;
  owner: string;
  repo: string;
  scopeKey: string;
  installationId: number;
  runnerName: string | null;
  conclusion: string | null;
  at: number;
  /**
   * The warm runner `runnerName` runs in, when the job was served warm on that runner (its `warmName`):
   * taken from the job this delivery's own write returned, so it costs no read. Its hand-off is named
   * after it (use-cases/provisioning/drop-handoff.ts). Absent for a cold runner, a runner of another job,
   * or a job the write did not find.
   */
  warmName?: string;
}

export interface AcceptWebhookDeps {
  config: Pick<Config, 'runner' | 'allowlist' | 'pools'>;
  /** Current webhook secrets (first = primary); a function so Lambda can load them from Secrets Manager once. */
  webhookSecrets: () => Promise<readonly string[]> | readonly string[];
  jobs: JobRepository;
  dispatcher: Dispatcher;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Called after an `in_progress`/`completed` delivery was recorded (stolen/spare runner handling). */
  onProgress?: (progress: JobProgress) => Promise<void>;
  /**
   * Record a new job already leased (`leaseMs` long, owner `token()`) and hand it to the provisioner
   * with its dispatch: the provisioner then needs no lease write and no read (one store request less
   * per job). Without it, jobs are recorded `queued` and the provisioner takes the lease itself.
   */
  handoffLease?: { ms: number; token: () => string };
}

const reply = (status: number, message: string, extra: Record<string, unknown> = {}): WebhookResponse => ({
  status,
  body: { message, ...extra },
});

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  // Header names are case-insensitive (HTTP/1.1 and Lambda Function URLs lower-case them, proxies may not).
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

async function verifySignature(secrets: readonly string[], body: string, signature: string): Promise<boolean> {
  const [primary, ...others] = secrets;
  if (primary === undefined) return false;
  try {
    return await verifyWithFallback(primary, body, signature, others);
  } catch {
    // Malformed signature header (wrong length, not hex): a failed verification, not a crash.
    return false;
  }
}

export interface RecordQueuedJobDeps {
  jobs: JobRepository;
  dispatcher: Dispatcher;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** See {@link AcceptWebhookDeps.handoffLease}. */
  handoffLease?: { ms: number; token: () => string };
}

/** Where a queued job came from: a webhook delivery, or the reconciler's look-up in the Actions API. */
export interface QueuedJobSource {
  /** Added to the job's delivery ids (a webhook's `X-GitHub-Delivery`, or a `discovered:…` id). */
  deliveryId: string;
  /** First history line of a job this call creates (default "recorded from webhook"; e.g. "discovered …"). */
  note?: string;
}

/**
 * Records a queued job once and hands a new one to the provisioner: the one path every `queued` job
 * takes, whether a webhook delivered it or the reconciler discovered it (`discover-queued-jobs.ts`).
 * Why one path: the conditional create is what makes a webhook arriving after a discovery (or a second
 * discovery) a duplicate that adds its delivery id and dispatches nothing.
 */
export function createRecordQueuedJob(deps: RecordQueuedJobDeps) {
  const { jobs, dispatcher, clock, logger, metrics } = deps;

  return async function recordQueuedJob(
    job: NewJob,
    source: QueuedJobSource,
  ): Promise<{ created: boolean; waiting?: true }> {
    const now = clock.now();
    const lease = deps.handoffLease
      ? { owner: deps.handoffLease.token(), expiresAt: now + deps.handoffLease.ms }
      : undefined;
    const { created, leased, waiting } = await jobs.create(job, source.deliveryId, now, lease, source.note);
    if (!created) return waiting ? { created: false, waiting } : { created: false };
    metrics.count(CountMetric.jobQueued);
    logger.info('job queued', { jobId: job.jobId, repo: `${job.owner}/${job.repo}`, deliveryId: source.deliveryId });
    try {
      await (leased ? dispatcher.dispatch(job.jobId, { handoff: { job: leased } }) : dispatcher.dispatch(job.jobId));
    } catch (error) {
      // The job is durable: the reconciler resumes open jobs (a leased one once its lease expired), so a
      // failed hand-off loses nothing.
      logger.warn('dispatch failed; the reconciler will pick the job up', {
        jobId: job.jobId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return { created: true };
  };
}

export type RecordQueuedJob = ReturnType<typeof createRecordQueuedJob>;

/** What a person knows the job by (commit, job and workflow name): absent fields stay absent. */
function jobIdentity(wj: WorkflowJobEvent['workflow_job']): Pick<NewJob, 'headSha' | 'jobName' | 'workflowName'> {
  return {
    ...(typeof wj.head_sha === 'string' && wj.head_sha !== '' && { headSha: wj.head_sha }),
    ...(typeof wj.name === 'string' && wj.name !== '' && { jobName: wj.name }),
    ...(typeof wj.workflow_name === 'string' && wj.workflow_name !== '' && { workflowName: wj.workflow_name }),
  };
}

/**
 * Webhook ingress: verify, parse, filter, record, dispatch. Answers fast because GitHub gives a
 * delivery 10 s and never retries a failed one; the job is durable before we answer 202.
 */
export function createAcceptWebhook(deps: AcceptWebhookDeps) {
  const { config, jobs, clock, logger, metrics } = deps;
  const recordQueuedJob = createRecordQueuedJob(deps);
  const approvalWait = createApprovalWait(deps);

  const progressOf = (event: WorkflowJobEvent, action: JobProgress['action'], at: number): JobProgress => {
    const owner = event.repository.owner.login;
    const repo = event.repository.name;
    return {
      action,
      jobId: event.workflow_job.id,
      owner,
      repo,
      scopeKey: scopeKey(scopeForRepository(config.runner.scope, owner, repo)),
      installationId: event.installation.id,
      runnerName: event.workflow_job.runner_name ?? null,
      conclusion: event.workflow_job.conclusion ?? null,
      at,
    };
  };

  /** The job as first recorded, with the name of the pool its labels chose. */
  function newJobOf(event: WorkflowJobEvent, pool: string): NewJob {
    const owner = event.repository.owner.login;
    const repo = event.repository.name;
    return {
      jobId: event.workflow_job.id,
      runId: event.workflow_job.run_id,
      owner,
      repo,
      scopeKey: scopeKey(scopeForRepository(config.runner.scope, owner, repo)),
      installationId: event.installation.id,
      labels: event.workflow_job.labels,
      pool,
      ...jobIdentity(event.workflow_job),
    };
  }

  /**
   * A `queued` for a job recorded with status `recorded` (the duplicate's own write tells whether it is
   * waiting, at no extra request): a duplicate, a stale copy, or the end of an approval wait.
   */
  async function onRecordedQueued(
    event: WorkflowJobEvent,
    deliveryId: string,
    recorded: JobStatus,
  ): Promise<WebhookResponse | undefined> {
    const jobId = event.workflow_job.id;
    switch (readQueuedDelivery(recorded, event.workflow_job.status)) {
      case QueuedDelivery.duplicate:
        return undefined;
      case QueuedDelivery.stale:
        logger.info('queued delivery built while the job waited: ignored', { jobId, deliveryId });
        return reply(202, 'stale delivery: job is waiting for an approval', { jobId });
      case QueuedDelivery.requeue: {
        const outcome = await approvalWait.leave(jobId, `delivery ${deliveryId}`, clock.now());
        return reply(202, outcome === 'requeued' ? 'job queued again after an approval wait' : 'job not changed', {
          jobId,
        });
      }
    }
  }

  async function onQueued(event: WorkflowJobEvent, deliveryId: string, pool: string): Promise<WebhookResponse> {
    const job = newJobOf(event, pool);
    const { created, waiting } = await recordQueuedJob(job, { deliveryId });
    if (!created) {
      const answered = waiting ? await onRecordedQueued(event, deliveryId, JobStatus.waiting) : undefined;
      if (answered) return answered;
      metrics.count(CountMetric.webhookDuplicate);
      logger.info('duplicate delivery for a recorded job', { jobId: job.jobId, deliveryId });
      return reply(202, 'duplicate delivery: job already recorded', { jobId: job.jobId });
    }
    return reply(202, 'job queued', { jobId: job.jobId });
  }

  /**
   * `waiting`: the job is held by an environment approval (docs/design.md "Approval waits"). A job we
   * never saw queued (its `queued` is late or lost) is recorded first, so the approval's `queued` finds it.
   */
  async function onWaiting(event: WorkflowJobEvent, deliveryId: string, pool: string): Promise<WebhookResponse> {
    const jobId = event.workflow_job.id;
    const now = clock.now();
    const { created } = await jobs.create(
      newJobOf(event, pool),
      deliveryId,
      now,
      undefined,
      'recorded from a waiting delivery',
    );
    const outcome = await approvalWait.enter(jobId, `delivery ${deliveryId}`, now);
    if (outcome === 'waiting' && !created) await deps.onProgress?.(progressOf(event, 'waiting', now));
    return reply(202, outcome === 'waiting' ? 'job waiting for an approval' : 'job not changed', { jobId });
  }

  async function onProgress(
    event: WorkflowJobEvent,
    action: 'in_progress' | 'completed',
    deliveryId: string,
  ): Promise<WebhookResponse> {
    const wj = event.workflow_job;
    const now = clock.now();
    const target = action === 'in_progress' ? JobStatus.running : JobStatus.completed;
    const set =
      action === 'in_progress'
        ? { status: target, ...(wj.runner_name ? { ranOn: wj.runner_name } : {}) }
        : {
            status: target,
            conclusion: wj.conclusion ?? 'unknown',
            ...(wj.runner_name ? { ranOn: wj.runner_name } : {}),
          };
    let recorded = true;
    let warmName: string | undefined;
    try {
      const updated = await jobs.update(
        wj.id,
        { statusIn: statusesAllowing(target) },
        {
          set,
          remove: action === 'completed' ? ['leaseOwner', 'leaseExpiresAt', 'notBefore'] : [],
          event: {
            status: target,
            note: `${action}${wj.runner_name ? ` on ${wj.runner_name}` : ''}${wj.conclusion ? ` (${wj.conclusion})` : ''} [delivery ${deliveryId}]`,
          },
        },
        now,
      );
      // Only the job's own runner: a runner of another job (a robbery) runs in its own warm runner, if any.
      if (updated.warmName !== undefined && wj.runner_name && updated.runnerName === wj.runner_name) {
        warmName = updated.warmName;
      }
      // The write returned the job: the latency costs no read. A repeated `in_progress` cannot enter
      // `running` again, so each job is measured once.
      if (action === 'in_progress') {
        metrics.measure(MeasureMetric.queuedToRunning, msSinceQueued(updated, now), MetricUnit.milliseconds, {
          pool: poolNameOf(updated),
        });
      }
    } catch (error) {
      // Unknown job (queued before we ran, or already terminal): nothing to update, still a valid delivery.
      if (!(error instanceof ConditionFailedError)) throw error;
      recorded = false;
    }
    const owner = event.repository.owner.login;
    const repo = event.repository.name;
    await deps.onProgress?.({
      action,
      jobId: wj.id,
      owner,
      repo,
      scopeKey: scopeKey(scopeForRepository(config.runner.scope, owner, repo)),
      installationId: event.installation.id,
      runnerName: wj.runner_name ?? null,
      conclusion: wj.conclusion ?? null,
      at: now,
      ...(warmName !== undefined ? { warmName } : {}),
    });
    return reply(202, recorded ? `job ${action.replace('_', ' ')}` : 'job not tracked', { jobId: wj.id });
  }

  /** A refused delivery, counted by its reason (the dashboard's webhook rejects; bad signatures alarm). */
  const rejected = (reason: WebhookRejectReason, status: number, message: string): WebhookResponse => {
    metrics.count(CountMetric.webhookRejected, 1, { reason });
    return reply(status, message);
  };

  return async function acceptWebhook(request: WebhookRequest): Promise<WebhookResponse> {
    if (Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES) {
      return rejected(WebhookRejectReason.tooLarge, 413, `payload larger than ${MAX_BODY_BYTES} bytes`);
    }
    const signature = header(request.headers, 'x-hub-signature-256');
    if (!signature) return rejected(WebhookRejectReason.missingSignature, 401, 'missing X-Hub-Signature-256');
    if (!(await verifySignature(await deps.webhookSecrets(), request.body, signature))) {
      return rejected(WebhookRejectReason.badSignature, 401, 'signature does not match');
    }

    const eventName = header(request.headers, 'x-github-event');
    const deliveryId = header(request.headers, 'x-github-delivery') ?? 'unknown';
    if (!eventName) return rejected(WebhookRejectReason.missingEvent, 400, 'missing X-GitHub-Event');
    if (eventName === 'ping') return reply(200, 'pong');
    if (eventName !== 'workflow_job') return reply(200, `ignored event ${eventName.slice(0, 64)}`);

    let json: unknown;
    try {
      json = JSON.parse(request.body);
    } catch (error) {
      const detail = error instanceof Error ? error.message : 'parse error';
      return rejected(WebhookRejectReason.malformedJson, 400, `malformed JSON: ${detail}`);
    }
    const parsed = WorkflowJobEventSchema.safeParse(json);
    if (!parsed.success) {
      const detail = describeSchemaError(parsed.error);
      return rejected(WebhookRejectReason.invalidPayload, 400, `invalid workflow_job payload: ${detail}`);
    }
    const event = parsed.data;

    // The first pool, in listed order, whose labels cover the job's; none: not ours (no API call, no write).
    const pool = matchPool(config.pools, event.workflow_job.labels);
    if (!pool) return reply(200, 'ignored: labels not served', { jobId: event.workflow_job.id });
    if (!isAllowed(config.allowlist, event.repository.owner.login, event.repository.name)) {
      return reply(200, 'ignored: repository not in REPO_ALLOWLIST', { jobId: event.workflow_job.id });
    }

    switch (event.action) {
      case 'queued':
        return onQueued(event, deliveryId, pool.name);
      case 'in_progress':
      case 'completed':
        return onProgress(event, event.action, deliveryId);
      case 'waiting':
        return onWaiting(event, deliveryId, pool.name);
      default:
        return reply(200, `ignored action ${event.action.slice(0, 64)}`, { jobId: event.workflow_job.id });
    }
  };
}
