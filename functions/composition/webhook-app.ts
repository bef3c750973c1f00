import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createEmfMetrics } from '../adapters/aws/emf-metrics.ts';
import { createSecretsLoader } from '../adapters/aws/secrets-loader.ts';
import { createDynamoStore } from '../adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient } from '../adapters/dynamodb/local-client.ts';
import { LambdaDispatcher } from '../adapters/lambda/lambda-dispatcher.ts';
import { createRedactingLogger, SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { parseConfig } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import { createLambdaLogger } from '../handlers/lambda-logger.ts';
import { type Logger, systemClock } from '../ports/runtime.ts';
import { createAcceptWebhook, type WebhookRequest, type WebhookResponse } from '../use-cases/ingress/accept-webhook.ts';
import { DEFAULT_LEASE_MS } from '../use-cases/provisioning/provision-job.ts';

const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';

export interface WebhookApp {
  acceptWebhook: (request: WebhookRequest) => Promise<WebhookResponse>;
  logger: Logger;
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
  const parsed = parseConfig({ env }, 'lambda');
  const registry = new SecretRegistry();
  const logger = createRedactingLogger(createLambdaLogger('webhook', parsed.logLevel), registry);

  let webhookSecrets = parsed.github.webhookSecrets;
  if (webhookSecrets.length === 0) {
    // Only the webhook secret: this function's role may not read the App private key.
    const loadSecrets = createSecretsLoader({
      client: new SecretsManagerClient({}),
      privateKeySecretArn: undefined,
      webhookSecretArn: parsed.aws.webhookSecretArn,
    });
    webhookSecrets = (await loadSecrets()).webhookSecrets;
  }
  for (const s of webhookSecrets) registry.add(s);
  if (webhookSecrets.length === 0) {
    throw new ConfigError(EnvName.githubWebhookSecretArn, 'the webhook secret is required in AWS');
  }

  const provisioner = parsed.aws.provisionerFunctionName;
  if (!provisioner) throw new ConfigError(EnvName.provisionerFunctionName, 'is required in AWS (set by the stack)');
  const dynamo = parsed.store.endpoint ? createLocalDynamoClient(parsed.store.endpoint) : new DynamoDBClient({});
  const store = createDynamoStore({ client: dynamo, tableName: parsed.store.tableName });
  const dispatcher = new LambdaDispatcher({ client: new LambdaClient({}), functionName: provisioner });

  const acceptWebhook = createAcceptWebhook({
    config: parsed,
    webhookSecrets: () => webhookSecrets,
    jobs: store.jobs,
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
  return { acceptWebhook, logger };
}
