import type { Context } from 'aws-lambda';
import { HANDOFF_LIFETIME_MS } from '../adapters/ssm/jit-config-handoff.ts';
import { createLambdaCore, once } from '../composition/lambda-core.ts';
import { s3TarballCache } from '../composition/s3-tarball-cache.ts';
import type { ReconcileReport } from '../use-cases/reconcile/reconcile.ts';
import { errorBoundary, safeError } from './error-boundary.ts';
import { useInvocationContext } from './lambda-logger.ts';

const lambdaCore = once(() =>
  createLambdaCore({ role: 'reconciler', readsWebhookSecret: false, tarballCache: s3TarballCache }),
);
const boundary = errorBoundary('reconciler');

/**
 * How old a hand-off must be before the sweep deletes it: past its SSM expiration
 * (`HANDOFF_LIFETIME_MS`, 15 minutes), so the sweep only removes what the expiration policy has not
 * removed yet; a runner not started by then has long been replaced under a new name.
 */
export const HANDOFF_MAX_AGE_MS = HANDOFF_LIFETIME_MS + 5 * 60_000;

export interface ReconcilerResult extends ReconcileReport {
  sweptHandOffs: number;
}

/** EventBridge schedule → reconcile, then sweep hand-offs no runner picked up. */
export async function handler(_event?: unknown, context?: Context): Promise<ReconcilerResult> {
  useInvocationContext(context);
  return boundary.run(context?.awsRequestId, reconcile);
}

async function reconcile(): Promise<ReconcilerResult> {
  const app = boundary.use(await lambdaCore());
  const now = Date.now();
  const report = await app.core.reconcile(now);
  let sweptHandOffs = 0;
  try {
    sweptHandOffs = await app.handoff.sweep(now, HANDOFF_MAX_AGE_MS);
  } catch (error) {
    // The sweep is housekeeping: a failure is logged and retried on the next schedule.
    report.failedSteps.push('sweep-handoffs');
    app.logger.warn('hand-off sweep failed', { error: safeError(error, (text) => app.secrets.redact(text)) });
  }
  app.logger.info('reconciled', { ...report, sweptHandOffs });
  return { ...report, sweptHandOffs };
}
