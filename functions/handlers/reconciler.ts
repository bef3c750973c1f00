import type { Context } from 'aws-lambda';
import { createLambdaCore, once } from '../composition/lambda-core.ts';
import type { ReconcileReport } from '../use-cases/reconcile/reconcile.ts';
import { useInvocationContext } from './lambda-logger.ts';

const lambdaCore = once(() => createLambdaCore({ role: 'reconciler', readsWebhookSecret: false }));

/**
 * How old an unread JIT-config hand-off must be before the sweep deletes it. Why an hour: longer than
 * CodeBuild's 30-minute queue timeout plus an EC2 boot, so a runner that is merely slow to start still
 * finds its config; a runner that never started has long been replaced by then.
 */
export const HANDOFF_MAX_AGE_MS = 60 * 60 * 1000;

export interface ReconcilerResult extends ReconcileReport {
  sweptHandOffs: number;
}

/** EventBridge schedule → reconcile, then sweep hand-offs no runner picked up. */
export async function handler(_event?: unknown, context?: Context): Promise<ReconcilerResult> {
  useInvocationContext(context);
  const app = await lambdaCore();
  const now = Date.now();
  const report = await app.core.reconcile(now);
  let sweptHandOffs = 0;
  try {
    sweptHandOffs = await app.handoff.sweep(now, HANDOFF_MAX_AGE_MS);
  } catch (error) {
    // The sweep is housekeeping: a failure is logged and retried on the next schedule.
    report.failedSteps.push('sweep-handoffs');
    app.logger.warn('hand-off sweep failed', { error: (error as Error).message });
  }
  app.logger.info('reconciled', { ...report, sweptHandOffs });
  return { ...report, sweptHandOffs };
}
