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
import { rotatingKeyGitHub } from '../adapters/github/rotating-key-github.ts';
import { LambdaDispatcher } from '../adapters/lambda/lambda-dispatcher.ts';
import { createRedactingLogger, SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { Config } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import { createLambdaLogger, type LambdaRole } from '../handlers/lambda-logger.ts';
import type { GitHubPort } from '../ports/github.ts';
import { type Logger, systemClock } from '../ports/runtime.ts';
import { buildCore, type Core, type RunnerTarballs } from './build-core.ts';
import { loadLambdaConfig } from './lambda-config.ts';
import { createLambdaLauncher } from './lambda-launcher.ts';

/** Everything a handler needs, built once per cold start. */
export interface LambdaCore {
  config: Config;
  core: Core;
  logger: Logger;
  handoff: JitConfigHandoff;
  /** The secrets the logger redacts (configured and minted); the handlers' error boundary redacts with it too. */
  secrets: SecretRegistry;
  /** The App's GitHub client the core uses (the reconciler's admin entry reads releases with it). */
  github: GitHubPort;
}

export interface LambdaCoreOptions {
  /** Which function this is (log field, metrics). */
  role: LambdaRole;
  /** Whether this function verifies webhooks (only its role may read the webhook secret). */
  readsWebhookSecret: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The tarball cache for `RUNNER_TARBALL_BUCKET` (the reconciler's handler passes the S3 one). Passed in,
   * not imported here: the S3 client then lands in the reconciler's bundle only.
   */
  tarballCache?: (bucket: string) => RunnerTarballs;
}

const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';

/**
 * The Lambda composition root shared by the provisioner, runner-events and reconciler handlers:
 * configuration parsed once (`loadLambdaConfig`: the pool list read from SSM first when the stack put it
 * there), secrets read once from Secrets Manager, AWS clients, the pools' launchers (only those the
 * bundle was built for: lambda-launcher.ts) and `buildCore`.
 * Secrets are registered with the redacting logger before anything can log.
 */
export async function createLambdaCore(options: LambdaCoreOptions): Promise<LambdaCore> {
  const env = options.env ?? process.env;
  const ssm = new SSMClient({});
  const parsed = await loadLambdaConfig(env, () => ssm);
  const registry = new SecretRegistry();
  const logger = createRedactingLogger(createLambdaLogger(options.role, parsed.logLevel), registry);

  const loadSecrets = createSecretsLoader({
    client: new SecretsManagerClient({}),
    privateKeySecretArn: parsed.github.privateKey ? undefined : parsed.aws.privateKeySecretArn,
    webhookSecretArn:
      options.readsWebhookSecret && parsed.github.webhookSecrets.length === 0 ? parsed.aws.webhookSecretArn : undefined,
    // Read again once SECRETS_CACHE_SECONDS have passed: a rotated key or webhook secret needs no cold start.
    ttlMs: parsed.secretsCacheSeconds * 1000,
  });
  const config = withSecrets(parsed, await loadSecrets());
  registry.add(config.github.privateKey);
  for (const s of config.github.webhookSecrets) registry.add(s);
  /** The secrets as they are now (the loader's cache, read again after its time-to-live), registered. */
  const currentSecrets = async () => {
    const now = withSecrets(parsed, await loadSecrets());
    registry.add(now.github.privateKey);
    for (const s of now.github.webhookSecrets) registry.add(s);
    return now.github;
  };

  const privateKey = config.github.privateKey;
  if (!privateKey || config.github.appId === undefined) {
    throw new ConfigError(EnvName.githubAppPrivateKeySecretArn, 'the App id and private key are required in AWS');
  }
  const appId = config.github.appId;
  const github = rotatingKeyGitHub(
    async () => (await currentSecrets()).privateKey ?? privateKey,
    (key) =>
      createGitHubClient({
        appId,
        privateKey: key,
        apiUrl: config.github.apiUrl,
        logger,
        // Every installation token, registration token and JIT config is registered as it is minted.
        onSecret: (value) => registry.addMinted(value),
      }),
  );

  const dynamo = config.store.endpoint ? createLocalDynamoClient(config.store.endpoint) : new DynamoDBClient({});
  const store = createDynamoStore({ client: dynamo, tableName: config.store.tableName });
  const handoff = new JitConfigHandoff({
    client: ssm,
    prefix: config.aws.jitConfigParameterPrefix,
    kmsKeyId: config.aws.jitConfigKmsKeyId,
    // Hand-off names are keyed with the App private key: every launching function holds it, no runner does.
    nameKey: privateKey,
  });
  const provisioner = config.aws.provisionerFunctionName;
  if (!provisioner) throw new ConfigError(EnvName.provisionerFunctionName, 'is required in AWS (set by the stack)');

  const core = buildCore({
    config,
    store,
    github,
    ...(config.aws.runnerTarballBucket !== undefined &&
      options.tarballCache && { runnerTarballs: options.tarballCache(config.aws.runnerTarballBucket) }),
    launcher: await createLambdaLauncher(config, handoff),
    dispatcher: new LambdaDispatcher({ client: new LambdaClient({}), functionName: provisioner }),
    clock: systemClock,
    logger,
    metrics: createEmfMetrics({ namespace: env[METRICS_NAMESPACE_ENV] ?? 'JitRunners' }),
    owner: `${options.role}-${env.AWS_LAMBDA_LOG_STREAM_NAME?.slice(-12) ?? randomBytes(4).toString('hex')}`,
    webhookSecrets: async () => (await currentSecrets()).webhookSecrets,
  });
  return { config, core, logger, handoff, secrets: registry, github };
}

export { once } from '../handlers/once.ts';
