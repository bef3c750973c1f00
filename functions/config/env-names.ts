/**
 * The configuration contract (docs/design.md "Configuration"): every environment variable name the
 * Lambdas, the CDK stack and local mode agree on. Imported by both `cdk/` and `functions/`; never spell
 * a name elsewhere. Each name has one row in the settings table (functions/config/settings.ts, keyed the
 * same way; the compiler refuses a name without a row). This module stays dependency-free so that any
 * file can import the names without loading the schemas.
 */
export const EnvName = {
  githubAppId: 'GITHUB_APP_ID',
  githubAppPrivateKey: 'GITHUB_APP_PRIVATE_KEY',
  githubAppPrivateKeyFile: 'GITHUB_APP_PRIVATE_KEY_FILE',
  githubWebhookSecret: 'GITHUB_WEBHOOK_SECRET',
  githubApiUrl: 'GITHUB_API_URL',
  githubServerUrl: 'GITHUB_SERVER_URL',
  runnerScope: 'RUNNER_SCOPE',
  runnerLabels: 'RUNNER_LABELS',
  runnerGroupId: 'RUNNER_GROUP_ID',
  runnerVersion: 'RUNNER_VERSION',
  runnerFallbackVersion: 'RUNNER_FALLBACK_VERSION',
  runnerVersionFloor: 'RUNNER_VERSION_FLOOR',
  runnerVersionSoakDays: 'RUNNER_VERSION_SOAK_DAYS',
  runnerVersionCanaryPercent: 'RUNNER_VERSION_CANARY_PERCENT',
  runnerReleasesUrl: 'RUNNER_RELEASES_URL',
  baselinePolicy: 'BASELINE_POLICY',
  repoAllowlist: 'REPO_ALLOWLIST',
  launcher: 'LAUNCHER',
  runnerDir: 'RUNNER_DIR',
  runnerPools: 'RUNNER_POOLS',
  runnerPoolsFile: 'RUNNER_POOLS_FILE',
  runnerPoolsParameter: 'RUNNER_POOLS_PARAMETER',
  port: 'PORT',
  stateDir: 'STATE_DIR',
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  tableName: 'TABLE_NAME',
  runnerStartTimeoutSeconds: 'RUNNER_START_TIMEOUT_SECONDS',
  baselineOnlineTimeoutSeconds: 'BASELINE_ONLINE_TIMEOUT_SECONDS',
  reconcileIntervalSeconds: 'RECONCILE_INTERVAL_SECONDS',
  maxAttemptsPerJob: 'MAX_ATTEMPTS_PER_JOB',
  maxTheftsPerJob: 'MAX_THEFTS_PER_JOB',
  maxWorkaroundsPerScope: 'MAX_WORKAROUNDS_PER_SCOPE',
  maxHealsPerJob: 'MAX_HEALS_PER_JOB',
  breakerFailureThreshold: 'BREAKER_FAILURE_THRESHOLD',
  breakerMaxBackoffSeconds: 'BREAKER_MAX_BACKOFF_SECONDS',
  runnerNamePrefix: 'RUNNER_NAME_PREFIX',
  discoverQueuedJobs: 'DISCOVER_QUEUED_JOBS',
  failureCheckRuns: 'FAILURE_CHECK_RUNS',
  logLevel: 'LOG_LEVEL',
  secretsCacheSeconds: 'SECRETS_CACHE_SECONDS',
  // AWS wiring, set by the CDK stack only.
  provisionerFunctionName: 'PROVISIONER_FUNCTION_NAME',
  githubAppPrivateKeySecretArn: 'GITHUB_APP_PRIVATE_KEY_SECRET_ARN',
  githubWebhookSecretArn: 'GITHUB_WEBHOOK_SECRET_ARN',
  codebuildProjectName: 'CODEBUILD_PROJECT_NAME',
  ec2LaunchTemplateId: 'EC2_LAUNCH_TEMPLATE_ID',
  ec2SubnetIds: 'EC2_SUBNET_IDS',
  ec2InstanceType: 'EC2_INSTANCE_TYPE',
  ec2UseSpot: 'EC2_USE_SPOT',
  jitConfigParameterPrefix: 'JIT_CONFIG_PARAMETER_PREFIX',
  jitConfigKmsKeyId: 'JIT_CONFIG_KMS_KEY_ID',
  runnerTarballBucket: 'RUNNER_TARBALL_BUCKET',
} as const;

export type EnvName = (typeof EnvName)[keyof typeof EnvName];
