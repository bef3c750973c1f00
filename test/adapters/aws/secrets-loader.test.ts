import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSecretsLoader, REFRESH_RETRY_MS, withSecrets } from '../../../functions/adapters/aws/secrets-loader.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import { ConfigError } from '../../../functions/domain/errors.ts';
import { awsError } from './aws-errors.ts';

const sm = mockClient(SecretsManagerClient);
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----';
const TTL_MS = 300_000;
let t = 0;
const loader = () =>
  createSecretsLoader({
    client: new SecretsManagerClient({ region: 'eu-west-1' }),
    privateKeySecretArn: 'arn:key',
    webhookSecretArn: 'arn:hook',
    ttlMs: TTL_MS,
    now: () => t,
  });

describe('createSecretsLoader', () => {
  beforeEach(() => {
    sm.reset();
    t = 1_000_000;
  });

  it('reads both secrets once and serves later calls from the cache', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:key' }).resolves({ SecretString: PEM });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:hook' }).resolves({ SecretString: 'new, old' });
    const load = loader();
    const [a, b] = await Promise.all([load(), load()]);
    const c = await load();
    expect(a).toEqual({ privateKey: `${PEM}\n`, webhookSecrets: ['new', 'old'] });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('forgets a failed read so the next invocation tries again', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:key' })
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ SecretString: PEM });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:hook' }).resolves({ SecretString: 's' });
    const load = loader();
    await expect(load()).rejects.toThrow(/ThrottlingException/);
    await expect(load()).resolves.toMatchObject({ webhookSecrets: ['s'] });
  });

  it('reads both secrets again once the time-to-live has passed, so a rotation needs no cold start', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:key' })
      .resolvesOnce({ SecretString: PEM })
      .resolves({
        SecretString: PEM.replace('MIIB', 'MIIC'),
      });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:hook' })
      .resolvesOnce({ SecretString: 'old' })
      .resolves({ SecretString: 'new,old' });
    const load = loader();
    expect(await load()).toMatchObject({ webhookSecrets: ['old'] });
    t += TTL_MS - 1;
    expect(await load()).toMatchObject({ webhookSecrets: ['old'] });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    t += 1;
    const rotated = await load();
    expect(rotated).toEqual({ privateKey: `${PEM.replace('MIIB', 'MIIC')}\n`, webhookSecrets: ['new', 'old'] });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(4);
  });

  it('keeps serving the values it holds when a refresh fails, and tries again after a pause', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:key' }).resolves({ SecretString: PEM });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:hook' })
      .resolvesOnce({ SecretString: 'old' })
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ SecretString: 'new' });
    const load = loader();
    const first = await load();
    t += TTL_MS;
    expect(await load()).toBe(first);
    t += REFRESH_RETRY_MS - 1;
    expect(await load()).toBe(first);
    t += 1;
    expect(await load()).toMatchObject({ webhookSecrets: ['new'] });
  });

  it('names the variable and the fix when the key secret still holds its placeholder', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:key' }).resolves({ SecretString: 'generated-placeholder' });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:hook' }).resolves({ SecretString: 's' });
    const error = await loader()().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^GITHUB_APP_PRIVATE_KEY_SECRET_ARN: .*put-secret-value/);
    expect((error as Error).message).not.toContain('generated-placeholder');
  });

  it('reports a secret it may not read as a configuration error', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    await expect(loader()()).rejects.toBeInstanceOf(ConfigError);
  });

  it('fills the parsed configuration with the loaded secrets', () => {
    const config = parseConfig(
      {
        env: {
          GITHUB_APP_ID: '1',
          GITHUB_APP_PRIVATE_KEY_SECRET_ARN: 'arn:key',
          GITHUB_WEBHOOK_SECRET_ARN: 'arn:hook',
          LAUNCHER: 'codebuild',
          CODEBUILD_PROJECT_NAME: 'p',
        },
      },
      'lambda',
    );
    const filled = withSecrets(config, { privateKey: PEM, webhookSecrets: ['s1'] });
    expect(filled.github.privateKey).toBe(PEM);
    expect(filled.github.webhookSecrets).toEqual(['s1']);
    expect(config.github.privateKey).toBeUndefined();
  });
});
