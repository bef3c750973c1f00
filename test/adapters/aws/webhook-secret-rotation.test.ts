import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSecretsLoader } from '../../../functions/adapters/aws/secrets-loader.ts';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { Config } from '../../../functions/config/config.ts';
import { createAcceptWebhook } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:JitRunners/webhook-secret-AbCdEf';
const TTL_MS = 300_000;
const OLD = 'old-webhook-secret-0123456789';
const NEW = 'new-webhook-secret-9876543210';
const config: Pick<Config, 'runner' | 'allowlist' | 'pools'> = {
  runner: {
    scope: 'repo',
    labels: ['self-hosted', 'linux', 'x64'],
    groupId: 1,
    version: '2.330.0',
    fallbackVersion: undefined,
    versionFloor: '2.329.0',
    namePrefix: 'jr',
  },
  pools: [{ name: 'default', labels: ['self-hosted', 'linux', 'x64'], launcher: 'local', runnerVersion: '2.330.0' }],
  allowlist: [],
};

/**
 * The procedure of docs/deploy.md "Rotating the webhook secret", step by step: the secret holds the old
 * value; the operator stores `new,old`; once SECRETS_CACHE_SECONDS have passed the webhook function
 * accepts both; the App's webhook secret is switched on GitHub; the operator stores `new`; once the
 * time-to-live has passed again only the new one is accepted.
 */
describe('rotating the webhook secret (Secrets Manager mocked, the real loader and signature check)', () => {
  const sm = mockClient(SecretsManagerClient);
  /** What `aws secretsmanager put-secret-value --secret-string …` last stored. */
  let stored: string;
  let t: number;
  let jobId: number;
  let accept: ReturnType<typeof createAcceptWebhook>;

  /** One `queued` delivery as GitHub signs it with `secret`; returns the HTTP status answered. */
  const deliver = async (secret: string) => {
    jobId += 1;
    const payload = workflowJobPayload({ action: 'queued', jobId, owner: 'octo', repo: 'app' });
    return (await accept(await signedDelivery(secret, payload))).status;
  };

  beforeEach(() => {
    sm.reset();
    sm.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(() => ({ SecretString: stored }));
    stored = OLD;
    t = 1_700_000_000_000;
    jobId = 100;
    // Wired as the webhook function wires it (composition/webhook-app.ts): the loader behind webhookSecrets.
    const load = createSecretsLoader({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      privateKeySecretArn: undefined,
      webhookSecretArn: ARN,
      ttlMs: TTL_MS,
      now: () => t,
    });
    accept = createAcceptWebhook({
      config,
      webhookSecrets: async () => (await load()).webhookSecrets,
      jobs: createMemoryStore().jobs,
      dispatcher: { dispatch: async () => {} },
      clock: { now: () => t },
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
    });
  });

  it('accepts old and new during the switch and only the new one after it, without a cold start', async () => {
    expect(await deliver(OLD)).toBe(202);
    expect(await deliver(NEW)).toBe(401);

    // 1. Store both, the new one first.
    stored = `${NEW},${OLD}`;
    // Until the cached value's time-to-live has passed, the function still knows only the old one.
    t += TTL_MS - 1;
    expect(await deliver(NEW)).toBe(401);
    // 2. Wait SECRETS_CACHE_SECONDS: now both are accepted.
    t += 1;
    expect(await deliver(NEW)).toBe(202);
    expect(await deliver(OLD)).toBe(202);

    // 3. Change the App's webhook secret on GitHub: deliveries are now signed with the new one.
    expect(await deliver(NEW)).toBe(202);

    // 4. Store the new one alone; after the time-to-live the old one is refused.
    stored = NEW;
    t += TTL_MS;
    expect(await deliver(NEW)).toBe(202);
    expect(await deliver(OLD)).toBe(401);

    // One read per time-to-live, each the exact command for the secret's ARN.
    const calls = sm.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(3);
    for (const call of calls) expect(call.args[0].input).toEqual({ SecretId: ARN });
  });

  it('keeps accepting the secrets it holds when Secrets Manager cannot be read at a refresh', async () => {
    expect(await deliver(OLD)).toBe(202);
    sm.on(GetSecretValueCommand, { SecretId: ARN }).rejects(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
    );
    t += TTL_MS;
    expect(await deliver(OLD)).toBe(202);
  });
});
