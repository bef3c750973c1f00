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
  /**
   * How long values read are served before the next call reads them again (`SECRETS_CACHE_SECONDS`):
   * a rotated secret is picked up within it, without a redeploy or a forced cold start.
   */
  ttlMs: number;
  /** Milliseconds since the epoch (tests move it); default `Date.now`. */
  now?: () => number;
}

/**
 * After a failed refresh, how long the values already held keep being served before the next read.
 * Why serve them: a throttled or unreachable Secrets Manager must not fail invocations that worked a
 * moment ago; the next read after this pause picks up a rotation that happened meanwhile.
 */
export const REFRESH_RETRY_MS = 30_000;

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
 * Reads the App private key and webhook secret from Secrets Manager and serves them for `ttlMs`, then
 * reads them again on the next call (docs/deploy.md "Rotating the webhook secret"). Why cache the
 * promise: concurrent calls share one read. The first read's failure is thrown (the invocation fails and
 * Lambda retries it) and forgotten, so it cannot poison the container; a later refresh that fails keeps
 * serving the values it already has for {@link REFRESH_RETRY_MS} before it tries again.
 */
export function createSecretsLoader(options: SecretsLoaderOptions): () => Promise<AppSecrets> {
  const now = options.now ?? (() => Date.now());
  let current: { value: AppSecrets; freshUntil: number } | undefined;
  let pending: Promise<AppSecrets> | undefined;
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
      // Several comma-separated values are all accepted: how the webhook secret is rotated.
      webhookSecrets: parseWebhookSecrets(webhook ?? ''),
    };
  };
  const refresh = (): Promise<AppSecrets> => {
    pending ??= load()
      .then((value) => {
        // Same values as before: keep the old object, so callers can tell "unchanged" by identity.
        const same = current && sameSecrets(current.value, value);
        const kept = same && current ? current.value : value;
        current = { value: kept, freshUntil: now() + options.ttlMs };
        return kept;
      })
      .catch((error: unknown) => {
        if (!current) throw error;
        current = { value: current.value, freshUntil: now() + Math.min(options.ttlMs, REFRESH_RETRY_MS) };
        return current.value;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return () => (current && now() < current.freshUntil ? Promise.resolve(current.value) : refresh());
}

/** The webhook secrets of one stored value: comma-separated, blanks dropped (`new,old` during a rotation). */
export function parseWebhookSecrets(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function sameSecrets(a: AppSecrets, b: AppSecrets): boolean {
  return (
    a.privateKey === b.privateKey &&
    a.webhookSecrets.length === b.webhookSecrets.length &&
    a.webhookSecrets.every((s, i) => s === b.webhookSecrets[i])
  );
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
