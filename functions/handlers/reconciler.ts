import type { Context } from 'aws-lambda';
import { HANDOFF_LIFETIME_MS } from '../adapters/ssm/jit-config-handoff.ts';
import { createLambdaCore, once } from '../composition/lambda-core.ts';
import { runLambdaDoctor } from '../composition/lambda-doctor.ts';
import { s3TarballCache } from '../composition/s3-tarball-cache.ts';
import { systemClock } from '../ports/runtime.ts';
import {
  ADMIN_KEY,
  type AdminReply,
  adminReply,
  answerAdminRequest,
  isAdminEvent,
  parseAdminRequest,
} from '../use-cases/admin/admin-request.ts';
import { answerVersionStatus } from '../use-cases/admin/version-status.ts';
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

/**
 * EventBridge schedule → reconcile, then sweep hand-offs no runner picked up. A direct invoke
 * `{ "jitRunnersAdmin": { "action": … } }` (the operator CLI, `--stack`) is answered by the admin entry
 * instead; a schedule event never has that key, so it always reconciles.
 */
export async function handler(event?: unknown, context?: Context): Promise<ReconcilerResult | AdminReply> {
  useInvocationContext(context);
  if (isAdminEvent(event)) return admin(event[ADMIN_KEY], context);
  return boundary.run(context?.awsRequestId, reconcile);
}

/** The operator's admin entry: validated before anything is built, so a bad request costs no cold start. */
async function admin(value: unknown, context?: Context): Promise<AdminReply> {
  const parsed = parseAdminRequest(value);
  if (!parsed.ok)
    return adminReply(String((value as { action?: unknown } | null)?.action ?? ''), 400, { message: parsed.error });
  return boundary.run(context?.awsRequestId, async () => {
    const app = boundary.use(await lambdaCore());
    app.logger.info('admin request', { action: parsed.request.action });
    return answerAdminRequest(parsed.request, {
      config: app.config,
      ensureBaseline: (scope) => app.core.ensureBaseline(scope),
      versionStatus: () =>
        answerVersionStatus({ config: app.config, store: app.core.store, github: app.github, clock: systemClock }),
      doctor: async (webhookUrl) => ({ status: 200, body: await runLambdaDoctor(app, webhookUrl) }),
    });
  });
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
