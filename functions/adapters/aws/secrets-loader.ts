import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../../config/config.ts';
import { EnvName } from '../../config/env-names.ts';
import { ConfigError } from '../../domain/errors.ts';
import { awsErrorInfo } from './aws-error.ts';

/** The App secrets as the core needs them. Secrets: never log them. */
export interface AppSecrets {
  privateKey: string | undefined;
  webhookSecrets: string[];
}

export interface SecretsLoaderOptions {
  client: SecretsManagerClient;
  privateKeySecretArn: string | undefined;
  webhookSecretArn: string | undefined;
}

const PEM = /-----BEGIN (RSA )?PRIVATE KEY-----/;

async function readSecret(client: SecretsManagerClient, arn: string, variable: string): Promise<string> {
  let value: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    value = out.SecretString;
  } catch (error) {
    const { code } = awsErrorInfo(error);
    // Missing secret or missing permission is a deployment mistake: say which and how to fix it.
    // Anything else (throttling, network) is rethrown so the invocation fails and Lambda retries it.
    if (code === 'ResourceNotFoundException' || code === 'AccessDeniedException' || code === 'DecryptionFailure') {
      throw new ConfigError(
        variable,
        `cannot read secret ${arn} (${code}); check the secret exists and the function role may read it`,
      );
    }
    throw error;
  }
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(
      variable,
      `secret ${arn} has no string value; store it with aws secretsmanager put-secret-value`,
    );
  }
  return value;
}

/**
 * Reads the App private key and webhook secret from Secrets Manager once per cold start and caches
 * them. Why cache the promise: concurrent first calls share one read; why forget a failure: a throttled
 * first read must not poison the container for its whole life.
 */
export function createSecretsLoader(options: SecretsLoaderOptions): () => Promise<AppSecrets> {
  let cached: Promise<AppSecrets> | undefined;
  const load = async (): Promise<AppSecrets> => {
    const { client, privateKeySecretArn, webhookSecretArn } = options;
    const [privateKey, webhook] = await Promise.all([
      privateKeySecretArn
        ? readSecret(client, privateKeySecretArn, EnvName.githubAppPrivateKeySecretArn)
        : Promise.resolve(undefined),
      webhookSecretArn
        ? readSecret(client, webhookSecretArn, EnvName.githubWebhookSecretArn)
        : Promise.resolve(undefined),
    ]);
    const key = privateKey?.replace(/\\n/g, '\n').trim();
    if (key !== undefined && !PEM.test(key)) {
      throw new ConfigError(
        EnvName.githubAppPrivateKeySecretArn,
        'the secret is not a PEM private key yet; store the App key with aws secretsmanager put-secret-value --secret-string file://app.pem',
      );
    }
    return {
      privateKey: key === undefined ? undefined : `${key}\n`,
      webhookSecrets: (webhook ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
  };
  return () => {
    if (!cached) {
      cached = load().catch((error: unknown) => {
        cached = undefined;
        throw error;
      });
    }
    return cached;
  };
}

/** The configuration with the secrets filled in (values from Secrets Manager win over empty env values). */
export function withSecrets(config: Config, secrets: AppSecrets): Config {
  return {
    ...config,
    github: {
      ...config.github,
      privateKey: secrets.privateKey ?? config.github.privateKey,
      webhookSecrets: secrets.webhookSecrets.length > 0 ? secrets.webhookSecrets : config.github.webhookSecrets,
    },
  };
}
