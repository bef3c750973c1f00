import { z } from 'zod';
import { isValidAllowlistEntry } from '../domain/allowlist.ts';
import { ConfigError } from '../domain/errors.ts';
import { parseLabelList } from '../domain/labels.ts';
import { DEFAULT_RUNNER_NAME_PREFIX } from '../domain/runner-name.ts';
import {
  compareVersions,
  DEFAULT_RUNNER_VERSION,
  DEFAULT_RUNNER_VERSION_FLOOR,
  isExactVersion,
} from '../domain/runner-version.ts';
import { EnvName } from './env-names.ts';

export const BaselinePolicy = { onError: 'on-error', proactive: 'proactive', off: 'off' } as const;
export type BaselinePolicy = (typeof BaselinePolicy)[keyof typeof BaselinePolicy];

export const LauncherKind = { local: 'local', codebuild: 'codebuild', ec2: 'ec2' } as const;
export type LauncherKind = (typeof LauncherKind)[keyof typeof LauncherKind];

/** `sandbox`: local mode without `GITHUB_APP_ID` (built-in simulator); `github`: real GitHub/GHES. */
export type Mode = 'sandbox' | 'github';

export interface Config {
  mode: Mode;
  github: {
    appId: number | undefined;
    /** Secret: PEM text (PKCS#1 or PKCS#8). */
    privateKey: string | undefined;
    /** Secrets: the first signs nothing, any verifies (rotation). */
    webhookSecrets: string[];
    apiUrl: string;
    serverUrl: string;
  };
  runner: {
    scope: 'repo' | 'org';
    labels: string[];
    groupId: number;
    version: string;
    fallbackVersion: string | undefined;
    versionFloor: string;
    namePrefix: string;
  };
  baselinePolicy: BaselinePolicy;
  allowlist: string[];
  launcher: LauncherKind;
  local: { runnerDir: string | undefined; port: number; stateDir: string };
  store: { endpoint: string | undefined; tableName: string };
  timeouts: { runnerStartSeconds: number; baselineOnlineSeconds: number; reconcileIntervalSeconds: number };
  limits: {
    maxAttemptsPerJob: number;
    maxWorkaroundsPerScope: number;
    breakerFailureThreshold: number;
    breakerMaxBackoffSeconds: number;
  };
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  aws: {
    provisionerFunctionName: string | undefined;
    privateKeySecretArn: string | undefined;
    webhookSecretArn: string | undefined;
    codebuildProjectName: string | undefined;
    ec2LaunchTemplateId: string | undefined;
    ec2SubnetIds: string[];
    ec2InstanceType: string | undefined;
    ec2UseSpot: boolean;
    jitConfigParameterPrefix: string;
  };
}

/** Where the configuration is read: `local` (npm start / CLI) or `lambda` (secrets may come from Secrets Manager). */
export type ConfigContext = 'local' | 'lambda';

export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  /** Reads `GITHUB_APP_PRIVATE_KEY_FILE`; injected so parsing stays testable. */
  readFile?: (path: string) => string;
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const exactVersion = z.string().refine(isExactVersion, 'must be an exact version such as 2.330.0');
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const commaList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
  z.array(z.string()),
);

/** One schema per variable so a failure names exactly one variable. */
const schema = {
  [EnvName.githubAppId]: opt(int(1, Number.MAX_SAFE_INTEGER)),
  [EnvName.githubAppPrivateKey]: opt(z.string()),
  [EnvName.githubAppPrivateKeyFile]: opt(z.string()),
  [EnvName.githubWebhookSecret]: commaList,
  [EnvName.githubApiUrl]: z.preprocess(blankToUndefined, httpUrl.default('https://api.github.com')),
  [EnvName.githubServerUrl]: z.preprocess(blankToUndefined, httpUrl.default('https://github.com')),
  [EnvName.runnerScope]: z.preprocess(blankToUndefined, z.enum(['repo', 'org']).default('repo')),
  [EnvName.runnerLabels]: z.preprocess(
    blankToUndefined,
    z
      .string()
      .default('self-hosted,linux,x64')
      .transform(parseLabelList)
      .refine((l) => l.length > 0, 'needs at least one label'),
  ),
  [EnvName.runnerGroupId]: z.preprocess(blankToUndefined, int(1, Number.MAX_SAFE_INTEGER).default(1)),
  [EnvName.runnerVersion]: z.preprocess(blankToUndefined, exactVersion.default(DEFAULT_RUNNER_VERSION)),
  [EnvName.runnerFallbackVersion]: opt(exactVersion),
  [EnvName.runnerVersionFloor]: z.preprocess(blankToUndefined, exactVersion.default(DEFAULT_RUNNER_VERSION_FLOOR)),
  [EnvName.baselinePolicy]: z.preprocess(
    blankToUndefined,
    z.enum(['on-error', 'proactive', 'off']).default('on-error'),
  ),
  [EnvName.repoAllowlist]: commaList.pipe(
    z.array(z.string().refine(isValidAllowlistEntry, 'entries must be owner/repo or owner/*')),
  ),
  [EnvName.launcher]: opt(z.enum(['local', 'codebuild', 'ec2'])),
  [EnvName.runnerDir]: opt(z.string()),
  [EnvName.port]: z.preprocess(blankToUndefined, int(0, 65535).default(8080)),
  [EnvName.stateDir]: z.preprocess(blankToUndefined, z.string().default('.jit-runners')),
  [EnvName.dynamodbEndpoint]: opt(httpUrl),
  [EnvName.tableName]: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -')
      .default('jit-runners'),
  ),
  [EnvName.runnerStartTimeoutSeconds]: z.preprocess(blankToUndefined, int(1, 86_400).default(120)),
  [EnvName.baselineOnlineTimeoutSeconds]: z.preprocess(blankToUndefined, int(1, 3_600).default(60)),
  [EnvName.reconcileIntervalSeconds]: z.preprocess(blankToUndefined, int(1, 86_400).default(60)),
  [EnvName.maxAttemptsPerJob]: z.preprocess(blankToUndefined, int(1, 20).default(3)),
  [EnvName.maxWorkaroundsPerScope]: z.preprocess(blankToUndefined, int(0, 20).default(3)),
  [EnvName.breakerFailureThreshold]: z.preprocess(blankToUndefined, int(1, 100).default(3)),
  [EnvName.breakerMaxBackoffSeconds]: z.preprocess(blankToUndefined, int(1, 3_600).default(30)),
  [EnvName.runnerNamePrefix]: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z][a-z0-9]{0,15}$/, 'must be 1-16 lower-case letters/digits starting with a letter')
      .default(DEFAULT_RUNNER_NAME_PREFIX),
  ),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() ? v.trim().toUpperCase() : undefined),
    z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  ),
  [EnvName.provisionerFunctionName]: opt(z.string()),
  [EnvName.githubAppPrivateKeySecretArn]: opt(z.string()),
  [EnvName.githubWebhookSecretArn]: opt(z.string()),
  [EnvName.codebuildProjectName]: opt(z.string()),
  [EnvName.ec2LaunchTemplateId]: opt(z.string()),
  [EnvName.ec2SubnetIds]: commaList,
  [EnvName.ec2InstanceType]: opt(z.string()),
  [EnvName.ec2UseSpot]: z.preprocess(blankToUndefined, z.enum(['true', 'false']).default('false')),
  [EnvName.jitConfigParameterPrefix]: z.preprocess(blankToUndefined, z.string().default('/jit-runners/jit-config')),
} satisfies Record<string, z.ZodType>;

type Parsed = { [K in keyof typeof schema]: z.output<(typeof schema)[K]> };

function reason(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${(issue.values as unknown[]).map(String).join(', ')}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

function looksLikePem(key: string): boolean {
  return /-----BEGIN (RSA )?PRIVATE KEY-----/.test(key);
}

/**
 * Parses the whole configuration once. Throws {@link ConfigError} naming the first bad variable;
 * the message never contains a secret value.
 */
export function parseConfig(sources: ConfigSources, context: ConfigContext = 'local'): Config {
  const parsed: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(schema)) {
    const result = (s as z.ZodType).safeParse(sources.env[name]);
    if (!result.success) throw new ConfigError(name, reason(result.error));
    parsed[name] = result.data;
  }
  const p = parsed as Parsed;

  let privateKey = p.GITHUB_APP_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (!privateKey && p.GITHUB_APP_PRIVATE_KEY_FILE) {
    try {
      privateKey = (sources.readFile ?? (() => ''))(p.GITHUB_APP_PRIVATE_KEY_FILE);
    } catch {
      throw new ConfigError(EnvName.githubAppPrivateKeyFile, `cannot read ${p.GITHUB_APP_PRIVATE_KEY_FILE}`);
    }
  }
  if (privateKey !== undefined && !looksLikePem(privateKey)) {
    const variable = p.GITHUB_APP_PRIVATE_KEY ? EnvName.githubAppPrivateKey : EnvName.githubAppPrivateKeyFile;
    throw new ConfigError(
      variable,
      'is not a PEM private key (PKCS#1 "BEGIN RSA PRIVATE KEY" or PKCS#8 "BEGIN PRIVATE KEY")',
    );
  }

  const mode: Mode = p.GITHUB_APP_ID === undefined && context === 'local' ? 'sandbox' : 'github';
  if (mode === 'github') {
    if (p.GITHUB_APP_ID === undefined) throw new ConfigError(EnvName.githubAppId, 'is required');
    const keyFromSecret = context === 'lambda' && p.GITHUB_APP_PRIVATE_KEY_SECRET_ARN;
    if (!privateKey && !keyFromSecret) {
      throw new ConfigError(
        EnvName.githubAppPrivateKey,
        `is required with ${EnvName.githubAppId} (or set ${EnvName.githubAppPrivateKeyFile})`,
      );
    }
    const secretFromArn = context === 'lambda' && p.GITHUB_WEBHOOK_SECRET_ARN;
    if (p.GITHUB_WEBHOOK_SECRET.length === 0 && !secretFromArn) {
      throw new ConfigError(EnvName.githubWebhookSecret, `is required with ${EnvName.githubAppId}`);
    }
  }

  if (compareVersions(p.RUNNER_VERSION, p.RUNNER_VERSION_FLOOR) < 0) {
    throw new ConfigError(
      EnvName.runnerVersion,
      `${p.RUNNER_VERSION} is below the minimum ${p.RUNNER_VERSION_FLOOR} GitHub accepts for registration; pin ${p.RUNNER_VERSION_FLOOR} or newer`,
    );
  }
  if (p.RUNNER_FALLBACK_VERSION && compareVersions(p.RUNNER_FALLBACK_VERSION, p.RUNNER_VERSION_FLOOR) < 0) {
    throw new ConfigError(
      EnvName.runnerFallbackVersion,
      `${p.RUNNER_FALLBACK_VERSION} is below the minimum ${p.RUNNER_VERSION_FLOOR}`,
    );
  }

  const launcher = p.LAUNCHER ?? 'local';
  if (context === 'lambda' && launcher === 'codebuild' && !p.CODEBUILD_PROJECT_NAME) {
    throw new ConfigError(EnvName.codebuildProjectName, `is required with ${EnvName.launcher}=codebuild`);
  }
  if (context === 'lambda' && launcher === 'ec2' && !p.EC2_LAUNCH_TEMPLATE_ID) {
    throw new ConfigError(EnvName.ec2LaunchTemplateId, `is required with ${EnvName.launcher}=ec2`);
  }
  if (context === 'local' && mode === 'github' && launcher === 'local' && !p.RUNNER_DIR) {
    throw new ConfigError(
      EnvName.runnerDir,
      'is required with a GitHub App and the local launcher: point it at an extracted actions-runner directory',
    );
  }

  return {
    mode,
    github: {
      appId: p.GITHUB_APP_ID,
      privateKey,
      webhookSecrets: p.GITHUB_WEBHOOK_SECRET,
      apiUrl: p.GITHUB_API_URL,
      serverUrl: p.GITHUB_SERVER_URL,
    },
    runner: {
      scope: p.RUNNER_SCOPE,
      labels: p.RUNNER_LABELS,
      groupId: p.RUNNER_GROUP_ID,
      version: p.RUNNER_VERSION,
      fallbackVersion: p.RUNNER_FALLBACK_VERSION,
      versionFloor: p.RUNNER_VERSION_FLOOR,
      namePrefix: p.RUNNER_NAME_PREFIX,
    },
    baselinePolicy: p.BASELINE_POLICY,
    allowlist: p.REPO_ALLOWLIST,
    launcher,
    local: { runnerDir: p.RUNNER_DIR, port: p.PORT, stateDir: p.STATE_DIR },
    store: { endpoint: p.DYNAMODB_ENDPOINT, tableName: p.TABLE_NAME },
    timeouts: {
      runnerStartSeconds: p.RUNNER_START_TIMEOUT_SECONDS,
      baselineOnlineSeconds: p.BASELINE_ONLINE_TIMEOUT_SECONDS,
      reconcileIntervalSeconds: p.RECONCILE_INTERVAL_SECONDS,
    },
    limits: {
      maxAttemptsPerJob: p.MAX_ATTEMPTS_PER_JOB,
      maxWorkaroundsPerScope: p.MAX_WORKAROUNDS_PER_SCOPE,
      breakerFailureThreshold: p.BREAKER_FAILURE_THRESHOLD,
      breakerMaxBackoffSeconds: p.BREAKER_MAX_BACKOFF_SECONDS,
    },
    logLevel: p.LOG_LEVEL,
    aws: {
      provisionerFunctionName: p.PROVISIONER_FUNCTION_NAME,
      privateKeySecretArn: p.GITHUB_APP_PRIVATE_KEY_SECRET_ARN,
      webhookSecretArn: p.GITHUB_WEBHOOK_SECRET_ARN,
      codebuildProjectName: p.CODEBUILD_PROJECT_NAME,
      ec2LaunchTemplateId: p.EC2_LAUNCH_TEMPLATE_ID,
      ec2SubnetIds: p.EC2_SUBNET_IDS,
      ec2InstanceType: p.EC2_INSTANCE_TYPE,
      ec2UseSpot: p.EC2_USE_SPOT === 'true',
      jitConfigParameterPrefix: p.JIT_CONFIG_PARAMETER_PREFIX,
    },
  };
}
