import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEmfMetrics } from '../adapters/aws/emf-metrics.ts';
import { createSecretsLoader, withSecrets } from '../adapters/aws/secrets-loader.ts';
import { createDynamoStore } from '../adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient } from '../adapters/dynamodb/local-client.ts';
import { createGitHubClient } from '../adapters/github/github-client.ts';
import { LambdaDispatcher } from '../adapters/lambda/lambda-dispatcher.ts';
import { createRedactingLogger, SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import { type Config, parseConfig } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import { createLambdaLogger, type LambdaRole } from '../handlers/lambda-logger.ts';
import { type Logger, systemClock } from '../ports/runtime.ts';
import { buildCore, type Core } from './build-core.ts';
import { createLambdaLauncher } from './lambda-launcher.ts';

/** Everything a handler needs, built once per cold start. */
export interface LambdaCore {
  config: Config;
  core: Core;
  logger: Logger;
  handoff: JitConfigHandoff;
}

export interface LambdaCoreOptions {
  /** Which function this is (log field, metrics). */
  role: LambdaRole;
  /** Whether this function verifies webhooks (only its role may read the webhook secret). */
  readsWebhookSecret: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';

/**
 * The Lambda composition root shared by the provisioner, runner-events and reconciler handlers:
 * configuration parsed once (`parseConfig(env, 'lambda')`), secrets read once from Secrets Manager, AWS
 * clients, the configured launcher (only the one the bundle was built for: lambda-launcher.ts) and
 * `buildCore`.
 * Secrets are registered with the redacting logger before anything can log.
 */
export async function createLambdaCore(options: LambdaCoreOptions): Promise<LambdaCore> {
  const env = options.env ?? process.env;
  const parsed = parseConfig({ env }, 'lambda');
  const registry = new SecretRegistry();
  const logger = createRedactingLogger(createLambdaLogger(options.role, parsed.logLevel), registry);

  const loadSecrets = createSecretsLoader({
    client: new SecretsManagerClient({}),
    privateKeySecretArn: parsed.github.privateKey ? undefined : parsed.aws.privateKeySecretArn,
    webhookSecretArn:
      options.readsWebhookSecret && parsed.github.webhookSecrets.length === 0 ? parsed.aws.webhookSecretArn : undefined,
  });
  const config = withSecrets(parsed, await loadSecrets());
  registry.add(config.github.privateKey);
  for (const s of config.github.webhookSecrets) registry.add(s);

  const privateKey = config.github.privateKey;
  if (!privateKey || config.github.appId === undefined) {
    throw new ConfigError(EnvName.githubAppPrivateKeySecretArn, 'the App id and private key are required in AWS');
  }
  const github = createGitHubClient({ appId: config.github.appId, privateKey, apiUrl: config.github.apiUrl, logger });

  const dynamo = config.store.endpoint ? createLocalDynamoClient(config.store.endpoint) : new DynamoDBClient({});
  const store = createDynamoStore({ client: dynamo, tableName: config.store.tableName });
  const handoff = new JitConfigHandoff({ client: new SSMClient({}), prefix: config.aws.jitConfigParameterPrefix });
  const provisioner = config.aws.provisionerFunctionName;
  if (!provisioner) throw new ConfigError(EnvName.provisionerFunctionName, 'is required in AWS (set by the stack)');

  const core = buildCore({
    config,
    store,
    github,
    launcher: await createLambdaLauncher(config, handoff),
    dispatcher: new LambdaDispatcher({ client: new LambdaClient({}), functionName: provisioner }),
    clock: systemClock,
    logger,
    metrics: createEmfMetrics({ namespace: env[METRICS_NAMESPACE_ENV] ?? 'JitRunners' }),
    owner: `${options.role}-${env.AWS_LAMBDA_LOG_STREAM_NAME?.slice(-12) ?? randomBytes(4).toString('hex')}`,
    webhookSecrets: () => config.github.webhookSecrets,
  });
  return { config, core, logger, handoff };
}

export { once } from '../handlers/once.ts';
