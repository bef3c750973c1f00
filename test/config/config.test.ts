import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { ConfigError } from '../../functions/domain/errors.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PKCS8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const app = {
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY: PKCS1,
  GITHUB_WEBHOOK_SECRET: 's3cret-value',
  RUNNER_DIR: '/opt/runner',
};

function errorOf(env: Record<string, string>, context: 'local' | 'lambda' = 'local'): ConfigError {
  try {
    parseConfig({ env }, context);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('runs a sandbox on embedded defaults when GITHUB_APP_ID is absent', () => {
    const config = parseConfig({ env: {} });
    expect(config.mode).toBe('sandbox');
    expect(config.runner.labels).toEqual(['self-hosted', 'linux', 'x64']);
    expect(config.runner.scope).toBe('repo');
    expect(config.baselinePolicy).toBe('on-error');
    expect(config.launcher).toBe('local');
    expect(config.local.port).toBe(8080);
    expect(config.store.tableName).toBe('jit-runners');
    expect(config.timeouts).toEqual({
      runnerStartSeconds: 120,
      baselineOnlineSeconds: 60,
      reconcileIntervalSeconds: 60,
    });
  });

  it('talks to GitHub with an App id, key and secret', () => {
    const config = parseConfig({ env: { ...app, GITHUB_WEBHOOK_SECRET: 'new-secret, old-secret' } });
    expect(config.mode).toBe('github');
    expect(config.github.webhookSecrets).toEqual(['new-secret', 'old-secret']);
    expect(config.github.appId).toBe(123);
  });

  it('accepts PKCS#8 keys and keys with escaped newlines', () => {
    expect(parseConfig({ env: { ...app, GITHUB_APP_PRIVATE_KEY: PKCS8 } }).github.privateKey).toBe(PKCS8);
    const escaped = PKCS1.replace(/\n/g, '\\n');
    expect(parseConfig({ env: { ...app, GITHUB_APP_PRIVATE_KEY: escaped } }).github.privateKey).toBe(PKCS1);
  });

  it('reads the key from GITHUB_APP_PRIVATE_KEY_FILE', () => {
    const env = { ...app, GITHUB_APP_PRIVATE_KEY: '', GITHUB_APP_PRIVATE_KEY_FILE: '/keys/app.pem' };
    const config = parseConfig({ env, readFile: (p) => (p === '/keys/app.pem' ? PKCS8 : '') });
    expect(config.github.privateKey).toBe(PKCS8);
  });

  it('bounds failures and thefts of one job separately: 3 attempts and 10 stolen-runner replacements by default', () => {
    expect(parseConfig({ env: {} }).limits).toMatchObject({ maxAttemptsPerJob: 3, maxTheftsPerJob: 10 });
    expect(parseConfig({ env: { MAX_THEFTS_PER_JOB: '0' } }).limits.maxTheftsPerJob).toBe(0);
  });

  it('discovers queued jobs only for the repositories DISCOVER_QUEUED_JOBS names: none by default', () => {
    expect(parseConfig({ env: {} }).discoverQueuedJobs).toEqual([]);
    expect(parseConfig({ env: { DISCOVER_QUEUED_JOBS: ' ' } }).discoverQueuedJobs).toEqual([]);
    expect(parseConfig({ env: { DISCOVER_QUEUED_JOBS: 'octo/app, octo/api' } }).discoverQueuedJobs).toEqual([
      'octo/app',
      'octo/api',
    ]);
  });

  it('strips trailing slashes from GHES URLs', () => {
    const config = parseConfig({ env: { GITHUB_API_URL: 'https://ghes.example.com/api/v3/' } });
    expect(config.github.apiUrl).toBe('https://ghes.example.com/api/v3');
  });

  it.each([
    [{ RUNNER_SCOPE: 'team' }, EnvName.runnerScope, 'must be one of repo, org'],
    [{ PORT: 'eighty' }, EnvName.port, ''],
    [{ PORT: '70000' }, EnvName.port, ''],
    [{ BASELINE_POLICY: 'sometimes' }, EnvName.baselinePolicy, 'on-error'],
    [{ LAUNCHER: 'k8s' }, EnvName.launcher, 'codebuild'],
    [{ RUNNER_VERSION: 'latest' }, EnvName.runnerVersion, 'exact version'],
    [{ RUNNER_VERSION: '2.300.0' }, EnvName.runnerVersion, 'below the minimum 2.329.0'],
    [{ RUNNER_FALLBACK_VERSION: '2.1.0' }, EnvName.runnerFallbackVersion, 'below the minimum'],
    [{ REPO_ALLOWLIST: 'octo' }, EnvName.repoAllowlist, 'owner/repo'],
    [{ RUNNER_LABELS: ' , ' }, EnvName.runnerLabels, 'at least one label'],
    [{ DISCOVER_QUEUED_JOBS: 'octo/*' }, EnvName.discoverQueuedJobs, 'owner/repo (no owner/*'],
    [{ DISCOVER_QUEUED_JOBS: 'octo' }, EnvName.discoverQueuedJobs, 'owner/repo'],
    [{ GITHUB_API_URL: 'not a url' }, EnvName.githubApiUrl, ''],
    [{ RUNNER_START_TIMEOUT_SECONDS: '0' }, EnvName.runnerStartTimeoutSeconds, ''],
    [{ MAX_THEFTS_PER_JOB: '-1' }, EnvName.maxTheftsPerJob, ''],
    [{ MAX_THEFTS_PER_JOB: 'many' }, EnvName.maxTheftsPerJob, ''],
    [{ GITHUB_APP_ID: '12' }, EnvName.githubAppPrivateKey, 'is required'],
    [{ GITHUB_APP_ID: '12', GITHUB_APP_PRIVATE_KEY: PKCS1 }, EnvName.githubWebhookSecret, 'is required'],
    [{ ...app, GITHUB_APP_PRIVATE_KEY: 'not a key' }, EnvName.githubAppPrivateKey, 'PEM'],
    [{ ...app, RUNNER_DIR: '' }, EnvName.runnerDir, 'actions-runner'],
  ])('refuses %j naming %s', (env, variable, fragment) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(fragment);
  });

  it('never echoes a secret value in its message', () => {
    const error = errorOf({ ...app, GITHUB_APP_PRIVATE_KEY: 'super-secret-not-a-pem' });
    expect(error.message).not.toContain('super-secret-not-a-pem');
  });

  it('requires launcher wiring in Lambda', () => {
    const env = { ...app, LAUNCHER: 'codebuild' };
    expect(errorOf(env, 'lambda').variable).toBe(EnvName.codebuildProjectName);
    expect(parseConfig({ env: { ...env, CODEBUILD_PROJECT_NAME: 'p' } }, 'lambda').launcher).toBe('codebuild');
  });

  it('lets Lambda take the key and secret from Secrets Manager ARNs instead of values', () => {
    const env = {
      GITHUB_APP_ID: '1',
      GITHUB_APP_PRIVATE_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:key',
      GITHUB_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:hook',
      LAUNCHER: 'ec2',
      EC2_LAUNCH_TEMPLATE_ID: 'lt-1',
    };
    const config = parseConfig({ env }, 'lambda');
    expect(config.github.privateKey).toBeUndefined();
    expect(config.aws.ec2LaunchTemplateId).toBe('lt-1');
  });
});
