import type { ProvisionEvent } from '../adapters/lambda/lambda-dispatcher.ts';
import type { ProvisionOutcome } from '../use-cases/provision-job.ts';
import { createLambdaCore, once } from './lambda-core.ts';

const lambdaCore = once(() => createLambdaCore({ role: 'provisioner', readsWebhookSecret: false }));

export interface ProvisionResult {
  jobId: number;
  outcome: ProvisionOutcome | 'invalid-event';
}

/**
 * Async Lambda invoke `{"jobId": n}` → provision-job. An unexpected error is thrown so Lambda retries
 * the event and, after the configured attempts, parks it in the dead-letter queue; the job itself is
 * leased and conditional, so a retry never launches a second runner.
 */
export async function handler(event: Partial<ProvisionEvent> | null): Promise<ProvisionResult> {
  const jobId = event?.jobId;
  const app = await lambdaCore();
  if (typeof jobId !== 'number' || !Number.isSafeInteger(jobId) || jobId <= 0) {
    // Retrying a malformed event cannot help: log it and let it go.
    app.logger.error('provisioner event without a valid jobId', { event: JSON.stringify(event)?.slice(0, 200) });
    return { jobId: Number(jobId) || 0, outcome: 'invalid-event' };
  }
  const outcome = await app.core.provisionJob(jobId);
  app.logger.info('provisioned', { jobId, outcome });
  return { jobId, outcome };
}
