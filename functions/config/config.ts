import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { isRepositoryEntry, isValidAllowlistEntry } from '../domain/allowlist.ts';
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
  /**
   * Repositories (`owner/repo`) whose queued jobs the reconciler also looks up in the Actions API, for
   * the jobs whose `queued` webhook never arrived. Empty (the default): off, no such call at all.
   */
  discoverQueuedJobs: string[];
  launcher: LauncherKind;
  local: { runnerDir: string | undefined; port: number; stateDir: string };
  store: { endpoint: string | undefined; tableName: string };
  timeouts: { runnerStartSeconds: number; baselineOnlineSeconds: number; reconcileIntervalSeconds: number };
  limits: {
    /** Runners minted for a job because of a failure (the first counts); thefts are not failures. */
    maxAttemptsPerJob: number;
    /** Replacements of stolen runners per job (runners that ran another job of ours). */
    maxTheftsPerJob: number;
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

// Why zod/mini: the full zod build is ~450 KB minified and not tree-shakeable, which every Lambda
// bundle paid at cold start; mini is the same engine with functional checks (~15 KB). It ships no
// messages by default, so the English locale is loaded to keep the messages users see unchanged.
z.config(en());

/** zod/mini has no `preprocess`: the same thing is a transform piped into the schema. */
const preprocess = <T extends z.ZodMiniType>(fn: (value: unknown) => unknown, schema: T) =>
  z.pipe(z.transform(fn), schema);
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodMiniType>(schema: T) => preprocess(blankToUndefined, z.optional(schema));
const int = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const exactVersion = z.string().check(z.refine(isExactVersion, 'must be an exact version such as 2.330.0'));
const httpUrl = z.pipe(
  z.url().check(z.refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')),
  z.transform((u: string) => u.replace(/\/+$/, '')),
);
const commaList = preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
  z.array(z.string()),
);

/** A blank value counts as unset, so the default applies. */
const orDefault = <T extends z.ZodMiniType>(schema: T, value: z.output<T> & {}) =>
  preprocess(blankToUndefined, z._default(schema, value as z.util.NoUndefined<z.output<T>>));

/** One schema per variable so a failure names exactly one variable. */
const schema = {
  [EnvName.githubAppId]: opt(int(1, Number.MAX_SAFE_INTEGER)),
  [EnvName.githubAppPrivateKey]: opt(z.string()),
  [EnvName.githubAppPrivateKeyFile]: opt(z.string()),
  [EnvName.githubWebhookSecret]: commaList,
  [EnvName.githubApiUrl]: orDefault(httpUrl, 'https://api.github.com'),
  [EnvName.githubServerUrl]: orDefault(httpUrl, 'https://github.com'),
  [EnvName.runnerScope]: orDefault(z.enum(['repo', 'org']), 'repo'),
  [EnvName.runnerLabels]: preprocess(
    blankToUndefined,
    z
      .pipe(z._default(z.string(), 'self-hosted,linux,x64'), z.transform(parseLabelList))
      .check(z.refine((l) => l.length > 0, 'needs at least one label')),
  ),
  [EnvName.runnerGroupId]: orDefault(int(1, Number.MAX_SAFE_INTEGER), 1),
  [EnvName.runnerVersion]: orDefault(exactVersion, DEFAULT_RUNNER_VERSION),
  [EnvName.runnerFallbackVersion]: opt(exactVersion),
  [EnvName.runnerVersionFloor]: orDefault(exactVersion, DEFAULT_RUNNER_VERSION_FLOOR),
  [EnvName.baselinePolicy]: orDefault(z.enum(['on-error', 'proactive', 'off']), 'on-error'),
  [EnvName.repoAllowlist]: z.pipe(
    commaList,
    z.array(z.string().check(z.refine(isValidAllowlistEntry, 'entries must be owner/repo or owner/*'))),
  ),
  [EnvName.discoverQueuedJobs]: z.pipe(
    commaList,
    z.array(
      z
        .string()
        .check(
          z.refine(
            isRepositoryEntry,
            'entries must be owner/repo (no owner/*: each repository costs API calls on every reconcile run)',
          ),
        ),
    ),
  ),
  [EnvName.launcher]: opt(z.enum(['local', 'codebuild', 'ec2'])),
  [EnvName.runnerDir]: opt(z.string()),
  [EnvName.port]: orDefault(int(0, 65535), 8080),
  [EnvName.stateDir]: orDefault(z.string(), '.jit-runners'),
  [EnvName.dynamodbEndpoint]: opt(httpUrl),
  [EnvName.tableName]: orDefault(
    z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -')),
    'jit-runners',
  ),
  [EnvName.runnerStartTimeoutSeconds]: orDefault(int(1, 86_400), 120),
  [EnvName.baselineOnlineTimeoutSeconds]: orDefault(int(1, 3_600), 60),
  [EnvName.reconcileIntervalSeconds]: orDefault(int(1, 86_400), 60),
  [EnvName.maxAttemptsPerJob]: orDefault(int(1, 20), 3),
  [EnvName.maxTheftsPerJob]: orDefault(int(0, 100), 10),
  [EnvName.maxWorkaroundsPerScope]: orDefault(int(0, 20), 3),
  [EnvName.breakerFailureThreshold]: orDefault(int(1, 100), 3),
  [EnvName.breakerMaxBackoffSeconds]: orDefault(int(1, 3_600), 30),
  [EnvName.runnerNamePrefix]: orDefault(
    z.string().check(z.regex(/^[a-z][a-z0-9]{0,15}$/, 'must be 1-16 lower-case letters/digits starting with a letter')),
    DEFAULT_RUNNER_NAME_PREFIX,
  ),
  LOG_LEVEL: preprocess(
    (v) => (typeof v === 'string' && v.trim() ? v.trim().toUpperCase() : undefined),
    z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  ),
  [EnvName.provisionerFunctionName]: opt(z.string()),
  [EnvName.githubAppPrivateKeySecretArn]: opt(z.string()),
  [EnvName.githubWebhookSecretArn]: opt(z.string()),
  [EnvName.codebuildProjectName]: opt(z.string()),
  [EnvName.ec2LaunchTemplateId]: opt(z.string()),
  [EnvName.ec2SubnetIds]: commaList,
  [EnvName.ec2InstanceType]: opt(z.string()),
  [EnvName.ec2UseSpot]: orDefault(z.enum(['true', 'false']), 'false'),
  [EnvName.jitConfigParameterPrefix]: orDefault(z.string(), '/jit-runners/jit-config'),
} satisfies Record<string, z.ZodMiniType>;

type Parsed = { [K in keyof typeof schema]: z.output<(typeof schema)[K]> };

function reason(error: z.core.$ZodError): string {
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
    const result = (s as z.ZodMiniType).safeParse(sources.env[name]);
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
    discoverQueuedJobs: p.DISCOVER_QUEUED_JOBS,
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
      maxTheftsPerJob: p.MAX_THEFTS_PER_JOB,
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
