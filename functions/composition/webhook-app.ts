import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createEmfMetrics } from '../adapters/aws/emf-metrics.ts';
import { createSecretsLoader } from '../adapters/aws/secrets-loader.ts';
import { createDynamoJobStore } from '../adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient } from '../adapters/dynamodb/local-client.ts';
import { LambdaDispatcher } from '../adapters/lambda/lambda-dispatcher.ts';
import { createRedactingLogger, SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import { createLambdaLogger } from '../handlers/lambda-logger.ts';
import { type Logger, systemClock } from '../ports/runtime.ts';
import { createAcceptWebhook, type WebhookRequest, type WebhookResponse } from '../use-cases/ingress/accept-webhook.ts';
import { DEFAULT_LEASE_MS } from '../use-cases/provisioning/provision-job.ts';
import { loadLambdaConfig } from './lambda-config.ts';

const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';

export interface WebhookApp {
  acceptWebhook: (request: WebhookRequest) => Promise<WebhookResponse>;
  logger: Logger;
  /** What the logger redacts (the webhook secrets); the handler's error boundary redacts with it too. */
  secrets: SecretRegistry;
}

/**
 * The webhook function's own composition root: configuration, the webhook secret, the jobs table, the
 * Lambda dispatcher and accept-webhook, nothing else. Why not the shared `createLambdaCore`: that one
 * wires every use case with Octokit, the App key and the launchers' SDK clients, which this function
 * never calls but paid for in bundle size and cold start on the path GitHub waits on. The
 * `in_progress`/`completed` side effects that need GitHub or a launcher (stolen and spare runners,
 * observed baselines) are handed to the provisioner function with an asynchronous invoke instead.
 */
export async function createWebhookApp(env: Readonly<Record<string, string | undefined>>): Promise<WebhookApp> {
  // The pools choose which jobs are served: a long list is read from SSM (RUNNER_POOLS_PARAMETER) first.
  const parsed = await loadLambdaConfig(env);
  const registry = new SecretRegistry();
  const logger = createRedactingLogger(createLambdaLogger('webhook', parsed.logLevel), registry);

  let webhookSecrets: () => Promise<readonly string[]> | readonly string[];
  let first: readonly string[] = parsed.github.webhookSecrets;
  if (first.length > 0) {
    webhookSecrets = () => parsed.github.webhookSecrets;
  } else {
    // Only the webhook secret: this function's role may not read the App private key. Read again once
    // SECRETS_CACHE_SECONDS have passed, so a rotation (docs/deploy.md) needs no cold start.
    const loadSecrets = createSecretsLoader({
      client: new SecretsManagerClient({}),
      privateKeySecretArn: undefined,
      webhookSecretArn: parsed.aws.webhookSecretArn,
      ttlMs: parsed.secretsCacheSeconds * 1000,
    });
    first = (await loadSecrets()).webhookSecrets;
    webhookSecrets = async () => {
      const current = (await loadSecrets()).webhookSecrets;
      for (const s of current) registry.add(s);
      return current;
    };
  }
  for (const s of first) registry.add(s);
  if (first.length === 0) {
    throw new ConfigError(EnvName.githubWebhookSecretArn, 'the webhook secret is required in AWS');
  }

  const provisioner = parsed.aws.provisionerFunctionName;
  if (!provisioner) throw new ConfigError(EnvName.provisionerFunctionName, 'is required in AWS (set by the stack)');
  const dynamo = parsed.store.endpoint ? createLocalDynamoClient(parsed.store.endpoint) : new DynamoDBClient({});
  const jobs = createDynamoJobStore({ client: dynamo, tableName: parsed.store.tableName });
  const dispatcher = new LambdaDispatcher({ client: new LambdaClient({}), functionName: provisioner });

  const acceptWebhook = createAcceptWebhook({
    config: parsed,
    webhookSecrets,
    jobs,
    dispatcher,
    clock: systemClock,
    logger,
    metrics: createEmfMetrics({ namespace: env[METRICS_NAMESPACE_ENV] ?? 'JitRunners' }),
    // Each new job is recorded leased to the provisioner invocation it is dispatched to (see provision-job).
    handoffLease: { ms: DEFAULT_LEASE_MS, token: () => `handoff-${randomUUID()}` },
    onProgress: async (progress) => {
      try {
        await dispatcher.dispatchProgress(progress);
      } catch (error) {
        // The job's status is already recorded; the reconciler's stolen/spare sweep covers a lost hand-off.
        logger.warn('progress hand-off failed; the reconciler will catch up', {
          jobId: progress.jobId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  });
  return { acceptWebhook, logger, secrets: registry };
}
