import { ConfigError } from '../domain/errors.ts';
import { LauncherKind } from '../domain/launcher-kind.ts';
import { compareVersions, DEFAULT_RUNNER_VERSION } from '../domain/runner-version.ts';
import { VersionMode, type VersionPolicySettings } from '../domain/version-policy.ts';
import { EnvName } from './env-names.ts';
import {
  type ConfiguredPool,
  decodePoolsJson,
  defaultPool,
  type PoolDefaults,
  parsePools,
  readPoolsFile,
} from './runner-pools.ts';
import { reason, SETTINGS, type SettingKey, type SettingValue } from './settings.ts';

export const BaselinePolicy = { onError: 'on-error', proactive: 'proactive', off: 'off' } as const;
export type BaselinePolicy = (typeof BaselinePolicy)[keyof typeof BaselinePolicy];

export { LauncherKind, VersionMode };

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
    /**
     * Always an exact version: the pin, or with `RUNNER_VERSION=auto` the version runners start from until
     * the store holds an adopted one (this release's default version).
     */
    version: string;
    fallbackVersion: string | undefined;
    versionFloor: string;
    namePrefix: string;
  };
  /**
   * Runner version tracking (docs/design.md "Runner version lifecycle"). `mode` is `auto` for
   * `RUNNER_VERSION=auto`; a pool may follow the tracked version on its own (`tracksRunnerVersion`) under
   * a pinned `RUNNER_VERSION`. The other fields apply wherever a version is tracked.
   */
  versionTracking: {
    mode: VersionMode;
    /** `RUNNER_VERSION_SOAK_DAYS` in milliseconds. */
    soakMs: number;
    /** `RUNNER_VERSION_CANARY_PERCENT`, 1–100. */
    canaryPercent: number;
    /** `RUNNER_RELEASES_URL`, no trailing slash. */
    releasesUrl: string;
  };
  baselinePolicy: BaselinePolicy;
  allowlist: string[];
  /**
   * Repositories (`owner/repo`) whose queued jobs the reconciler also looks up in the Actions API, for
   * the jobs whose `queued` webhook never arrived. Empty (the default): off, no such call at all.
   */
  discoverQueuedJobs: string[];
  /**
   * `FAILURE_CHECK_RUNS=on`: a job that ends `failed` on our side gets a failed check run on its commit
   * (docs/design.md "Failures on GitHub"). Off by default: it needs the App's `checks: write` permission.
   */
  failureCheckRuns: boolean;
  launcher: LauncherKind;
  /**
   * The runner pools, in matching order (docs/design.md "Configuration", Pools): `RUNNER_POOLS` or
   * `RUNNER_POOLS_FILE`, else one pool `default` from `RUNNER_LABELS`, `LAUNCHER`, `RUNNER_DIR` and
   * `RUNNER_VERSION`. Each has its launcher and runnerVersion filled in (and runnerDir when known), and
   * its own AWS resources (`codebuild` / `ec2`) when the list gives them.
   */
  pools: ConfiguredPool[];
  /** Lines start-up prints once (a setting that is ignored, and why); never a secret. */
  notices: string[];
  local: { runnerDir: string | undefined; port: number; stateDir: string };
  store: { endpoint: string | undefined; tableName: string };
  timeouts: { runnerStartSeconds: number; baselineOnlineSeconds: number; reconcileIntervalSeconds: number };
  limits: {
    /** Runners minted for a job because of a failure (the first counts); thefts are not failures. */
    maxAttemptsPerJob: number;
    /** Replacements of stolen runners per job (runners that ran another job of ours). */
    maxTheftsPerJob: number;
    maxWorkaroundsPerScope: number;
    /** Failure-handling steps (retries, heals, relaunches) per job before it fails. */
    maxHealsPerJob: number;
    breakerFailureThreshold: number;
    breakerMaxBackoffSeconds: number;
  };
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** How long read secrets are served before they are read again (`SECRETS_CACHE_SECONDS`). */
  secretsCacheSeconds: number;
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
    jitConfigKmsKeyId: string | undefined;
    /** The fleet's runner tarball cache bucket (the reconciler's environment only). */
    runnerTarballBucket: string | undefined;
  };
}

/** Where the configuration is read: `local` (npm start / CLI) or `lambda` (secrets may come from Secrets Manager). */
export type ConfigContext = 'local' | 'lambda';

export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  /** Reads `GITHUB_APP_PRIVATE_KEY_FILE`; injected so parsing stays testable. */
  readFile?: (path: string) => string;
  /** Decodes a YAML `RUNNER_POOLS_FILE` (injected by the local root so Lambda bundles carry no YAML parser). */
  parseYaml?: (text: string) => unknown;
  /**
   * The value of the SSM parameter `RUNNER_POOLS_PARAMETER` names, read by the Lambda composition before
   * parsing (functions/composition/lambda-config.ts); parsed exactly as `RUNNER_POOLS`.
   */
  runnerPoolsParameterValue?: string;
}

/** The variables, as the settings table parses them (keyed by variable name). */
type Parsed = { [K in SettingKey as (typeof EnvName)[K]]: SettingValue<K> };

function looksLikePem(key: string): boolean {
  return /-----BEGIN (RSA )?PRIVATE KEY-----/.test(key);
}

/**
 * Parses the whole configuration once. Throws {@link ConfigError} naming the first bad variable;
 * the message never contains a secret value.
 */
export function parseConfig(sources: ConfigSources, context: ConfigContext = 'local'): Config {
  // One schema per variable, so a failure names exactly one variable.
  const parsed: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const name = EnvName[key];
    const result = SETTINGS[key].schema.safeParse(sources.env[name]);
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

  const versionMode = p.RUNNER_VERSION === VersionMode.auto ? VersionMode.auto : VersionMode.pinned;
  // With `auto`, runners start from this release's default version until the store holds an adopted one.
  const runnerVersion = versionMode === VersionMode.auto ? DEFAULT_RUNNER_VERSION : p.RUNNER_VERSION;
  if (compareVersions(runnerVersion, p.RUNNER_VERSION_FLOOR) < 0) {
    throw new ConfigError(
      EnvName.runnerVersion,
      versionMode === VersionMode.auto
        ? `${VersionMode.auto} starts from ${runnerVersion} (this release's default) until a release is adopted, which is below ${EnvName.runnerVersionFloor} ${p.RUNNER_VERSION_FLOOR}; pin ${p.RUNNER_VERSION_FLOOR} or newer instead`
        : `${p.RUNNER_VERSION} is below the minimum ${p.RUNNER_VERSION_FLOOR} GitHub accepts for registration; pin ${p.RUNNER_VERSION_FLOOR} or newer`,
    );
  }
  if (p.RUNNER_FALLBACK_VERSION && compareVersions(p.RUNNER_FALLBACK_VERSION, p.RUNNER_VERSION_FLOOR) < 0) {
    throw new ConfigError(
      EnvName.runnerFallbackVersion,
      `${p.RUNNER_FALLBACK_VERSION} is below the minimum ${p.RUNNER_VERSION_FLOOR}`,
    );
  }

  const launcher = p.LAUNCHER ?? 'local';
  // With a pool list each codebuild/ec2 pool needs its own resources or these variables (runner-pools.ts).
  const poolList =
    p.RUNNER_POOLS !== undefined || p.RUNNER_POOLS_FILE !== undefined || p.RUNNER_POOLS_PARAMETER !== undefined;
  if (context === 'lambda' && !poolList && launcher === 'codebuild' && !p.CODEBUILD_PROJECT_NAME) {
    throw new ConfigError(EnvName.codebuildProjectName, `is required with ${EnvName.launcher}=codebuild`);
  }
  if (context === 'lambda' && !poolList && launcher === 'ec2' && !p.EC2_LAUNCH_TEMPLATE_ID) {
    throw new ConfigError(EnvName.ec2LaunchTemplateId, `is required with ${EnvName.launcher}=ec2`);
  }
  if (context === 'local' && mode === 'github' && launcher === 'local' && !p.RUNNER_DIR) {
    throw new ConfigError(
      EnvName.runnerDir,
      'is required with a GitHub App and the local launcher: point it at an extracted actions-runner directory',
    );
  }

  const poolDefaults: PoolDefaults = {
    launcher,
    runnerDir: p.RUNNER_DIR,
    runnerVersion,
    tracksRunnerVersion: versionMode === VersionMode.auto,
    versionFloor: p.RUNNER_VERSION_FLOOR,
    requireRunnerDir: context === 'local' && mode === 'github',
    ...(context === 'lambda' && {
      launcherResources: { codebuild: Boolean(p.CODEBUILD_PROJECT_NAME), ec2: Boolean(p.EC2_LAUNCH_TEMPLATE_ID) },
    }),
  };
  const { pools, notices } = parsePoolSettings(p, sources, context, poolDefaults);

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
      version: runnerVersion,
      fallbackVersion: p.RUNNER_FALLBACK_VERSION,
      versionFloor: p.RUNNER_VERSION_FLOOR,
      namePrefix: p.RUNNER_NAME_PREFIX,
    },
    versionTracking: {
      mode: versionMode,
      soakMs: Math.round(p.RUNNER_VERSION_SOAK_DAYS * DAY_MS),
      canaryPercent: p.RUNNER_VERSION_CANARY_PERCENT,
      releasesUrl: p.RUNNER_RELEASES_URL,
    },
    baselinePolicy: p.BASELINE_POLICY,
    allowlist: p.REPO_ALLOWLIST,
    discoverQueuedJobs: p.DISCOVER_QUEUED_JOBS,
    failureCheckRuns: p.FAILURE_CHECK_RUNS === 'on',
    launcher,
    pools,
    notices,
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
      maxHealsPerJob: p.MAX_HEALS_PER_JOB,
      breakerFailureThreshold: p.BREAKER_FAILURE_THRESHOLD,
      breakerMaxBackoffSeconds: p.BREAKER_MAX_BACKOFF_SECONDS,
    },
    logLevel: p.LOG_LEVEL,
    secretsCacheSeconds: p.SECRETS_CACHE_SECONDS,
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
      jitConfigKmsKeyId: p.JIT_CONFIG_KMS_KEY_ID,
      runnerTarballBucket: p.RUNNER_TARBALL_BUCKET,
    },
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The version policy's settings for this configuration: an exact pin when nothing tracks a version
 * (`RUNNER_VERSION` pinned and no pool with `"runnerVersion": "auto"`), else tracking with the soak,
 * floor and canary share. Pools pinned on their own keep their pin whatever the policy decides.
 */
export function versionPolicySettings(
  config: Pick<Config, 'runner' | 'versionTracking'> & {
    pools: readonly Pick<ConfiguredPool, 'tracksRunnerVersion'>[];
  },
): VersionPolicySettings {
  const tracked =
    config.versionTracking.mode === VersionMode.auto || config.pools.some((pool) => pool.tracksRunnerVersion);
  return {
    ...(!tracked && { pin: config.runner.version }),
    soakMs: config.versionTracking.soakMs,
    floor: config.runner.versionFloor,
    canaryPercent: config.versionTracking.canaryPercent,
  };
}

/**
 * The pools from `RUNNER_POOLS`, `RUNNER_POOLS_PARAMETER` (AWS) or `RUNNER_POOLS_FILE` (local), or the
 * one pool `default`. `RUNNER_LABELS` keeps its meaning for the default pool only; a list of pools says
 * its labels pool by pool.
 */
function parsePoolSettings(
  p: Parsed,
  sources: ConfigSources,
  context: ConfigContext,
  defaults: PoolDefaults,
): { pools: ConfiguredPool[]; notices: string[] } {
  if (p.RUNNER_POOLS !== undefined && p.RUNNER_POOLS_FILE !== undefined) {
    throw new ConfigError(
      EnvName.runnerPoolsFile,
      `set either ${EnvName.runnerPools} or ${EnvName.runnerPoolsFile}, not both`,
    );
  }
  const parameter = p.RUNNER_POOLS_PARAMETER;
  if (parameter !== undefined) {
    const other =
      p.RUNNER_POOLS !== undefined ? EnvName.runnerPools : p.RUNNER_POOLS_FILE !== undefined && EnvName.runnerPoolsFile;
    if (other) {
      throw new ConfigError(
        EnvName.runnerPoolsParameter,
        `set either ${other} or ${EnvName.runnerPoolsParameter}, not both (the stack sets one of ${EnvName.runnerPools} and ${EnvName.runnerPoolsParameter})`,
      );
    }
    // Why not read it in local mode: local mode never calls AWS to start (it runs offline), and its
    // runners are local processes, whatever launcher the deployment's pools name.
    if (context !== 'lambda') {
      throw new ConfigError(
        EnvName.runnerPoolsParameter,
        `is read in AWS only; locally put the list in ${EnvName.runnerPools} or ${EnvName.runnerPoolsFile} (aws ssm get-parameter --name ${parameter} --query Parameter.Value --output text > pools.json)`,
      );
    }
  }
  let pools: ConfiguredPool[];
  if (p.RUNNER_POOLS !== undefined) {
    pools = parsePools(decodePoolsJson(p.RUNNER_POOLS, EnvName.runnerPools), EnvName.runnerPools, defaults);
  } else if (parameter !== undefined) {
    const text = sources.runnerPoolsParameterValue;
    if (text === undefined) {
      throw new ConfigError(
        EnvName.runnerPoolsParameter,
        `${parameter} was not read before the configuration was parsed`,
      );
    }
    const list = decodePoolsJson(text, EnvName.runnerPoolsParameter, parameter);
    pools = parsePools(list, EnvName.runnerPoolsParameter, defaults);
  } else if (p.RUNNER_POOLS_FILE !== undefined) {
    if (context !== 'local') {
      throw new ConfigError(
        EnvName.runnerPoolsFile,
        `is read in local mode only; a deployment passes the pools in ${EnvName.runnerPools}`,
      );
    }
    const readFile =
      sources.readFile ??
      (() => {
        throw new Error('no file reader');
      });
    const list = readPoolsFile(p.RUNNER_POOLS_FILE, readFile, EnvName.runnerPoolsFile, sources.parseYaml);
    pools = parsePools(list, EnvName.runnerPoolsFile, defaults);
  } else {
    return { pools: [defaultPool(p.RUNNER_LABELS, defaults)], notices: [] };
  }
  const labelsSet = (sources.env[EnvName.runnerLabels] ?? '').trim() !== '';
  const from =
    p.RUNNER_POOLS !== undefined
      ? EnvName.runnerPools
      : parameter !== undefined
        ? EnvName.runnerPoolsParameter
        : EnvName.runnerPoolsFile;
  const notices = labelsSet
    ? [`${EnvName.runnerLabels} is ignored: ${from} is set, and each pool's labels choose the pool`]
    : [];
  return { pools, notices };
}
