import { createGitHubClient } from '../adapters/github/github-client.ts';
import { DoctorCheckId, type DoctorReport } from '../domain/doctor-check.ts';
import { systemClock } from '../ports/runtime.ts';
import { runDoctor } from '../use-cases/admin/run-doctor.ts';
import type { LambdaCore } from './lambda-core.ts';

/** One GitHub call of the deployed doctor waits at most this long (the CLI's invoke waits for all of them). */
const CALL_TIMEOUT_MS = 8_000;

/** Stands in for the webhook secret, which this function may not read: strong, so it adds no finding. */
const UNREAD_WEBHOOK_SECRET = 'x'.repeat(64);

/**
 * `jit-runners doctor --stack`: the setup checks in the deployed reconciler, with its own configuration, App key
 * (from Secrets Manager) and version record. The webhook secret is the webhook function's alone (docs/deploy.md
 * "What each function may do"), so its placeholder check cannot run here: the secrets check judges the App key
 * and the App's newest delivery (a 401 there means GitHub signs with another secret), and says so. The expected
 * webhook URL is the stack's `WebhookUrl` output, which the CLI passes.
 */
export async function runLambdaDoctor(app: LambdaCore, webhookUrl: string | undefined): Promise<DoctorReport> {
  const { config } = app;
  const appId = config.github.appId ?? 0;
  const report = await runDoctor({
    config,
    appId,
    secrets: {
      privateKey: config.github.privateKey,
      privateKeySource: 'the stack secret AppPrivateKeySecretArn (aws secretsmanager put-secret-value)',
      webhookSecrets: [UNREAD_WEBHOOK_SECRET],
      webhookSecretSource: 'the stack secret WebhookSecretArn',
    },
    github: createGitHubClient({
      appId,
      privateKey: config.github.privateKey ?? '',
      apiUrl: config.github.apiUrl,
      logger: app.logger,
      retries: 0,
      rateLimitRetries: 0,
      timeoutMs: CALL_TIMEOUT_MS,
      onSecret: (value) => app.secrets.addMinted(value),
    }),
    releasesUrl: config.versionTracking.releasesUrl,
    versionRecord: () => app.core.store.versions.get(),
    expectedWebhook: { url: webhookUrl, source: "the stack's WebhookUrl output" },
    clock: systemClock,
    ranIn: 'lambda',
    callTimeoutMs: CALL_TIMEOUT_MS,
  });
  return {
    ...report,
    checks: report.checks.map((check) =>
      check.id === DoctorCheckId.secrets
        ? {
            ...check,
            ...(check.status === 'ok' ? { summary: 'the App private key is set and no placeholder' } : {}),
            details: [
              ...check.details,
              'the webhook secret is read by the webhook function only, so it is not judged here; a delivery GitHub signed with another secret shows as a 401 in the App’s delivery log',
            ],
          }
        : check,
    ),
  };
}
