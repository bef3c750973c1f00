import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { createWebhookApp } from '../composition/webhook-app.ts';
import { MAX_BODY_BYTES } from '../use-cases/ingress/accept-webhook.ts';
import { errorBoundary } from './error-boundary.ts';
import { useInvocationContext } from './lambda-logger.ts';
import { once } from './once.ts';

const webhookApp = once(() => createWebhookApp(process.env));
const boundary = errorBoundary('webhook');

const json = (statusCode: number, body: Record<string, unknown>): LambdaFunctionURLResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Lambda Function URL → accept-webhook. GitHub gives a delivery 10 s and never retries a failed one,
 * so everything slow happens in the provisioner; this handler only adapts HTTP.
 */
export async function handler(event: LambdaFunctionURLEvent, context?: Context): Promise<LambdaFunctionURLResult> {
  useInvocationContext(context);
  const method = event.requestContext?.http?.method ?? 'POST';
  if (method === 'GET' && event.rawPath === '/healthz') return json(200, { message: 'ok' });
  if (method !== 'POST') return json(405, { message: 'POST GitHub webhooks here' });

  const body = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) return json(413, { message: 'payload too large' });

  let app: Awaited<ReturnType<typeof webhookApp>>;
  try {
    app = boundary.use(await webhookApp());
  } catch (error) {
    // Cold-start failures (bad configuration, unreadable secret) answer 500 with no detail; the
    // function log carries the safe fields (a ConfigError's message names the variable, never a value).
    boundary.contain(error, context?.awsRequestId);
    return json(500, { message: 'the provisioner is misconfigured; see the webhook function log' });
  }
  try {
    const response = await app.acceptWebhook({ headers: event.headers ?? {}, body: text });
    return json(response.status, response.body);
  } catch (error) {
    // Answered, not thrown: GitHub never retries a delivery (the reconciler recovers it from the
    // deliveries list), and a thrown error would reach the runtime log whole.
    boundary.contain(error, context?.awsRequestId);
    return json(500, { message: 'the delivery could not be recorded; see the webhook function log' });
  }
}
