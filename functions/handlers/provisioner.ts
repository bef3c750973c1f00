import type { Context } from 'aws-lambda';
import type { ProgressEvent, ProvisionEvent } from '../adapters/lambda/lambda-dispatcher.ts';
import { createLambdaCore, once } from '../composition/lambda-core.ts';
import type { JobProgress } from '../use-cases/ingress/accept-webhook.ts';
import type { ProvisionOutcome } from '../use-cases/provisioning/provision-job.ts';
import { errorBoundary } from './error-boundary.ts';
import { useInvocationContext } from './lambda-logger.ts';

const lambdaCore = once(() => createLambdaCore({ role: 'provisioner', readsWebhookSecret: false }));
const boundary = errorBoundary('provisioner');

export interface ProvisionResult {
  jobId: number;
  outcome: ProvisionOutcome | 'invalid-event' | 'progress-handled';
}

function isProgress(value: unknown): value is JobProgress {
  const p = value as Partial<JobProgress> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    (p.action === 'in_progress' || p.action === 'completed' || p.action === 'waiting') &&
    typeof p.jobId === 'number' &&
    typeof p.owner === 'string' &&
    typeof p.repo === 'string' &&
    typeof p.scopeKey === 'string' &&
    typeof p.installationId === 'number' &&
    typeof p.at === 'number'
  );
}

/**
 * Async Lambda invoke `{"jobId": n}` → provision-job, or `{"progress": {...}}` (an `in_progress`/
 * `completed` delivery the webhook function recorded) → the progress listeners (stolen and spare
 * runners, observed baselines), which need GitHub and the launcher the webhook function may not use.
 * An unexpected error is thrown so Lambda retries the event and, after the configured attempts, parks
 * it in the dead-letter queue; the job itself is leased and conditional, so a retry never launches a
 * second runner, and the progress listeners re-read the job before acting. What is thrown is the error
 * reduced to safe fields (error-boundary.ts): the runtime log and the dead-letter record see no message
 * of an SDK error.
 */
export async function handler(
  event: Partial<ProvisionEvent & ProgressEvent> | null,
  context?: Context,
): Promise<ProvisionResult> {
  useInvocationContext(context);
  return boundary.run(context?.awsRequestId, () => provision(event));
}

async function provision(event: Partial<ProvisionEvent & ProgressEvent> | null): Promise<ProvisionResult> {
  const app = boundary.use(await lambdaCore());
  if (event && 'progress' in event) {
    const progress = event.progress;
    if (!isProgress(progress)) {
      app.logger.error('provisioner progress event is malformed', { event: JSON.stringify(event)?.slice(0, 200) });
      return { jobId: 0, outcome: 'invalid-event' };
    }
    for (const listener of app.core.progressListeners) await listener(progress);
    return { jobId: progress.jobId, outcome: 'progress-handled' };
  }
  const jobId = event?.jobId;
  if (typeof jobId !== 'number' || !Number.isSafeInteger(jobId) || jobId <= 0) {
    // Retrying a malformed event cannot help: log it and let it go.
    app.logger.error('provisioner event without a valid jobId', { event: JSON.stringify(event)?.slice(0, 200) });
    return { jobId: Number(jobId) || 0, outcome: 'invalid-event' };
  }
  // The hand-off (a job the webhook recorded already leased) is checked by provision-job before use.
  const outcome = await app.core.provisionJob(jobId, event?.handoff);
  app.logger.info('provisioned', { jobId, outcome });
  return { jobId, outcome };
}
