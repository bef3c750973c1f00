import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAllowed, isRepositoryEntry, isValidAllowlistEntry } from '../functions/domain/allowlist.ts';
import { parseLabelList } from '../functions/domain/labels.ts';
import {
  compareVersions,
  DEFAULT_RUNNER_VERSION,
  DEFAULT_RUNNER_VERSION_FLOOR,
  isExactVersion,
} from '../functions/domain/runner-version.ts';

/**
 * Deploy-time configuration of the stack: typed, documented, defaulted and validated here, then handed
 * to the functions as the docs/design.md "Configuration" environment variables (see `function-environment.ts`). Every
 * property can also be given as CDK context: `npx cdk deploy -c appId=123 -c launcher=ec2 ...`.
 */
export interface DeploymentConfigInput {
  /** GitHub App id. Unset: the stack takes it as the `GitHubAppId` CloudFormation parameter at deploy time. */
  appId?: number;
  /** REST API base (GHES: `https://HOST/api/v3`). Default `https://api.github.com`. */
  githubApiUrl?: string;
  /** Web base for `config.sh --url`. Default `https://github.com`. */
  githubServerUrl?: string;
  /** `repo` (runners registered per repository) or `org`. Default `repo`. */
  scope?: 'repo' | 'org';
  /** Labels this fleet serves; a job is served when all its labels are here. Default `self-hosted,linux,<arch>`. */
  labels?: readonly string[];
  /** Runner group for JIT configs. Default 1 (the default group). */
  runnerGroupId?: number;
  /** Pinned actions/runner version; must have SHA-256 entries in `runner/checksums.json`. */
  runnerVersion?: string;
  /** Version used after a version-class failure; same checksum rule. */
  runnerFallbackVersion?: string;
  /** Runner CPU architecture (tarball, CodeBuild image, EC2 AMI). Default `x64`. */
  architecture?: 'x64' | 'arm64';
  /** `on-error` (default), `proactive` or `off`. */
  baselinePolicy?: 'on-error' | 'proactive' | 'off';
  /** `owner/repo` or `owner/*` entries served; empty (default) serves every repository the App is installed on. */
  allowlist?: readonly string[];
  /**
   * `owner/repo` entries whose queued jobs the reconciler also looks up in the Actions API
   * (DISCOVER_QUEUED_JOBS): jobs whose `queued` webhook never arrived still run. Each costs a few API calls
   * per reconcile run. Default empty (off).
   */
  discoverQueuedJobs?: readonly string[];
  /** `codebuild` (default) or `ec2`. */
  launcher?: 'codebuild' | 'ec2';
  /** CodeBuild compute type. Default `BUILD_GENERAL1_MEDIUM` (x64) / `BUILD_GENERAL1_LARGE` (arm64). */
  codebuildComputeType?: string;
  /** Longest job a CodeBuild runner may run, in minutes (5-2160). Default 360. */
  runnerTimeoutMinutes?: number;
  /** EC2 instance type. Default `m7i.large` (x64) / `m7g.large` (arm64). */
  instanceType?: string;
  /** EC2: try spot first, fall back to on-demand on capacity errors. Default false. */
  useSpot?: boolean;
  /** EC2: the VPC of `subnetIds` (a security group with egress only is created in it). Required with `ec2`. */
  vpcId?: string;
  /** EC2: subnets with outbound HTTPS to GitHub (NAT or public IP). Required with `ec2`. */
  subnetIds?: readonly string[];
  /** EC2 root volume size in GiB. Default 30. */
  rootVolumeGiB?: number;
  /** Reserved concurrency of the webhook function; unset = the account's unreserved pool. */
  webhookReservedConcurrency?: number;
  /** How often the reconciler runs, in seconds (a whole number of minutes). Default 60. */
  reconcileIntervalSeconds?: number;
  runnerStartTimeoutSeconds?: number;
  baselineOnlineTimeoutSeconds?: number;
  maxAttemptsPerJob?: number;
  /** Replacements of stolen runners per job before it fails (MAX_THEFTS_PER_JOB). Default 10. */
  maxTheftsPerJob?: number;
  /** Regular-runner workarounds per scope before its jobs fail (MAX_WORKAROUNDS_PER_SCOPE). Default 3. */
  maxWorkaroundsPerScope?: number;
  /** Days to keep function and runner logs. Default 30. */
  logRetentionDays?: number;
  /** Alarm when at least this many jobs fail within 15 minutes. Default 1. */
  jobsFailedAlarmThreshold?: number;
  /** Alarm when the runner logs show this many metadata-missing lines within 15 minutes. Default 5. */
  metadataMissingAlarmThreshold?: number;
  /** Lambda async retries of the provisioner before the event goes to the dead-letter queue (0-2). Default 2. */
  provisionerRetryAttempts?: number;
  /** SNS topic ARN notified by every alarm; unset = alarms show on the dashboard only. */
  alarmTopicArn?: string;
}

export type DeploymentConfig = Required<
  Omit<
    DeploymentConfigInput,
    | 'appId'
    | 'runnerFallbackVersion'
    | 'vpcId'
    | 'webhookReservedConcurrency'
    | 'labels'
    | 'allowlist'
    | 'discoverQueuedJobs'
    | 'subnetIds'
    | 'alarmTopicArn'
  >
> & {
  alarmTopicArn: string | undefined;
  appId: number | undefined;
  runnerFallbackVersion: string | undefined;
  vpcId: string | undefined;
  webhookReservedConcurrency: number | undefined;
  labels: string[];
  allowlist: string[];
  discoverQueuedJobs: string[];
  subnetIds: string[];
};

/** A deploy-time configuration mistake; the message says which property and how to fix it. */
export class DeploymentConfigError extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(`jit-runners deployment config "${property}": ${message}`);
    this.name = 'DeploymentConfigError';
  }
}

const CHECKSUMS_PATH = fileURLToPath(new URL('../runner/checksums.json', import.meta.url));

/** The tarball names `runner/checksums.json` has a SHA-256 for. */
export function checksummedTarballs(path = CHECKSUMS_PATH): Set<string> {
  const table = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return new Set(
    Object.entries(table)
      .filter(([, sha]) => typeof sha === 'string' && /^[0-9a-f]{64}$/i.test(sha))
      .map(([name]) => name),
  );
}

function intIn(property: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new DeploymentConfigError(property, `must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return v;
}

function oneOf<T extends string>(property: string, value: string | undefined, fallback: T, allowed: readonly T[]): T {
  const v = value ?? fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new DeploymentConfigError(property, `must be one of ${allowed.join(', ')} (got "${v}")`);
  }
  return v as T;
}

function url(property: string, value: string | undefined, fallback: string): string {
  const v = (value ?? fallback).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(v)) throw new DeploymentConfigError(property, `must be an http(s) URL (got "${v}")`);
  return v;
}

function pinnedVersion(property: string, version: string, architecture: string, tarballs: Set<string>): string {
  if (!isExactVersion(version)) {
    throw new DeploymentConfigError(
      property,
      `must be an exact version such as ${DEFAULT_RUNNER_VERSION} (got "${version}")`,
    );
  }
  if (compareVersions(version, DEFAULT_RUNNER_VERSION_FLOOR) < 0) {
    throw new DeploymentConfigError(
      property,
      `${version} is below ${DEFAULT_RUNNER_VERSION_FLOOR}, the oldest version GitHub accepts for registration; pin ${DEFAULT_RUNNER_VERSION_FLOOR} or newer`,
    );
  }
  const tarball = `actions-runner-linux-${architecture}-${version}.tar.gz`;
  if (!tarballs.has(tarball)) {
    throw new DeploymentConfigError(
      property,
      `runner/checksums.json has no SHA-256 for ${tarball}; add it from the release notes of v${version} (the bootstrap refuses unverified tarballs)`,
    );
  }
  return version;
}

/** Applies defaults and validates; throws {@link DeploymentConfigError} naming the property and the fix. */
export function resolveDeploymentConfig(
  input: DeploymentConfigInput = {},
  tarballs = checksummedTarballs(),
): DeploymentConfig {
  const architecture = oneOf('architecture', input.architecture, 'x64', ['x64', 'arm64'] as const);
  const launcher = oneOf('launcher', input.launcher, 'codebuild', ['codebuild', 'ec2'] as const);
  const labels = parseLabelList((input.labels ?? ['self-hosted', 'linux', architecture]).join(','));
  if (labels.length === 0)
    throw new DeploymentConfigError('labels', 'needs at least one label, e.g. self-hosted,linux,x64');
  const otherArch = architecture === 'x64' ? 'arm64' : 'x64';
  if (labels.includes(otherArch)) {
    throw new DeploymentConfigError(
      'labels',
      `contains "${otherArch}" but the runners are ${architecture}; set architecture=${otherArch} or drop the label`,
    );
  }
  const allowlist = [...(input.allowlist ?? [])].map((e) => e.trim()).filter(Boolean);
  for (const entry of allowlist) {
    if (!isValidAllowlistEntry(entry)) {
      throw new DeploymentConfigError('allowlist', `entry "${entry}" must be owner/repo or owner/*`);
    }
  }
  const discoverQueuedJobs = [...(input.discoverQueuedJobs ?? [])].map((e) => e.trim()).filter(Boolean);
  for (const entry of discoverQueuedJobs) {
    if (!isRepositoryEntry(entry)) {
      throw new DeploymentConfigError(
        'discoverQueuedJobs',
        `entry "${entry}" must be owner/repo (no owner/*: each repository costs API calls on every reconcile run)`,
      );
    }
    const [owner = '', repo = ''] = entry.split('/');
    if (!isAllowed(allowlist, owner, repo)) {
      throw new DeploymentConfigError(
        'discoverQueuedJobs',
        `entry "${entry}" is not served by the allowlist; add it to allowlist or drop it here`,
      );
    }
  }
  if (input.appId !== undefined && (!Number.isInteger(input.appId) || input.appId < 1)) {
    throw new DeploymentConfigError(
      'appId',
      `must be the numeric App id from the App's settings page (got ${String(input.appId)})`,
    );
  }
  const tarballsOk = tarballs;
  const runnerVersion = pinnedVersion(
    'runnerVersion',
    input.runnerVersion ?? DEFAULT_RUNNER_VERSION,
    architecture,
    tarballsOk,
  );
  const runnerFallbackVersion =
    input.runnerFallbackVersion === undefined
      ? undefined
      : pinnedVersion('runnerFallbackVersion', input.runnerFallbackVersion, architecture, tarballsOk);

  const subnetIds = [...(input.subnetIds ?? [])].map((s) => s.trim()).filter(Boolean);
  for (const s of subnetIds) {
    if (!/^subnet-[0-9a-f]+$/.test(s))
      throw new DeploymentConfigError('subnetIds', `"${s}" is not a subnet id (subnet-…)`);
  }
  if (input.vpcId !== undefined && !/^vpc-[0-9a-f]+$/.test(input.vpcId)) {
    throw new DeploymentConfigError('vpcId', `"${input.vpcId}" is not a VPC id (vpc-…)`);
  }
  if (launcher === 'ec2' && (!input.vpcId || subnetIds.length === 0)) {
    throw new DeploymentConfigError(
      launcher === 'ec2' && !input.vpcId ? 'vpcId' : 'subnetIds',
      'the ec2 launcher needs a VPC and subnets with outbound HTTPS to GitHub: -c vpcId=vpc-… -c subnetIds=subnet-a,subnet-b',
    );
  }
  const reconcileIntervalSeconds = intIn('reconcileIntervalSeconds', input.reconcileIntervalSeconds, 60, 60, 86_400);
  if (reconcileIntervalSeconds % 60 !== 0) {
    throw new DeploymentConfigError(
      'reconcileIntervalSeconds',
      `EventBridge schedules run in whole minutes; use a multiple of 60 (got ${reconcileIntervalSeconds})`,
    );
  }
  const instanceType = input.instanceType ?? (architecture === 'arm64' ? 'm7g.large' : 'm7i.large');
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
    throw new DeploymentConfigError('instanceType', `"${instanceType}" is not an instance type such as m7i.large`);
  }
  const codebuildComputeType =
    input.codebuildComputeType ?? (architecture === 'arm64' ? 'BUILD_GENERAL1_LARGE' : 'BUILD_GENERAL1_MEDIUM');
  if (!/^BUILD_GENERAL1_[A-Z0-9_]+$/.test(codebuildComputeType)) {
    throw new DeploymentConfigError(
      'codebuildComputeType',
      `"${codebuildComputeType}" is not a CodeBuild compute type such as BUILD_GENERAL1_MEDIUM`,
    );
  }
  const webhookReservedConcurrency =
    input.webhookReservedConcurrency === undefined
      ? undefined
      : intIn('webhookReservedConcurrency', input.webhookReservedConcurrency, 0, 1, 1000);

  const alarmTopicArn = input.alarmTopicArn;
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)) {
    throw new DeploymentConfigError(
      'alarmTopicArn',
      `"${alarmTopicArn}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`,
    );
  }
  return {
    appId: input.appId,
    githubApiUrl: url('githubApiUrl', input.githubApiUrl, 'https://api.github.com'),
    githubServerUrl: url('githubServerUrl', input.githubServerUrl, 'https://github.com'),
    scope: oneOf('scope', input.scope, 'repo', ['repo', 'org'] as const),
    labels,
    runnerGroupId: intIn('runnerGroupId', input.runnerGroupId, 1, 1, Number.MAX_SAFE_INTEGER),
    runnerVersion,
    runnerFallbackVersion,
    architecture,
    baselinePolicy: oneOf('baselinePolicy', input.baselinePolicy, 'on-error', [
      'on-error',
      'proactive',
      'off',
    ] as const),
    allowlist,
    discoverQueuedJobs,
    launcher,
    codebuildComputeType,
    runnerTimeoutMinutes: intIn('runnerTimeoutMinutes', input.runnerTimeoutMinutes, 360, 5, 2160),
    instanceType,
    useSpot: input.useSpot ?? false,
    vpcId: input.vpcId,
    subnetIds,
    rootVolumeGiB: intIn('rootVolumeGiB', input.rootVolumeGiB, 30, 8, 16_384),
    webhookReservedConcurrency,
    reconcileIntervalSeconds,
    runnerStartTimeoutSeconds: intIn('runnerStartTimeoutSeconds', input.runnerStartTimeoutSeconds, 120, 1, 86_400),
    baselineOnlineTimeoutSeconds: intIn(
      'baselineOnlineTimeoutSeconds',
      input.baselineOnlineTimeoutSeconds,
      60,
      1,
      3_600,
    ),
    maxAttemptsPerJob: intIn('maxAttemptsPerJob', input.maxAttemptsPerJob, 3, 1, 20),
    maxTheftsPerJob: intIn('maxTheftsPerJob', input.maxTheftsPerJob, 10, 0, 100),
    maxWorkaroundsPerScope: intIn('maxWorkaroundsPerScope', input.maxWorkaroundsPerScope, 3, 0, 20),
    logRetentionDays: intIn('logRetentionDays', input.logRetentionDays, 30, 1, 3_653),
    jobsFailedAlarmThreshold: intIn('jobsFailedAlarmThreshold', input.jobsFailedAlarmThreshold, 1, 1, 10_000),
    metadataMissingAlarmThreshold: intIn(
      'metadataMissingAlarmThreshold',
      input.metadataMissingAlarmThreshold,
      5,
      1,
      10_000,
    ),
    provisionerRetryAttempts: intIn('provisionerRetryAttempts', input.provisionerRetryAttempts, 2, 0, 2),
    alarmTopicArn,
  };
}

/**
 * Reads {@link DeploymentConfigInput} from CDK context (`-c name=value` or cdk.json). Lists are comma
 * separated, numbers and booleans are parsed; an unparsable value names the key.
 */
export function configFromContext(get: (key: string) => unknown): DeploymentConfigInput {
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    return String(v);
  };
  const num = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new DeploymentConfigError(key, `must be a number (got "${v}")`);
    return n;
  };
  const bool = (key: string): boolean | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    if (v === 'true' || v === 'false') return v === 'true';
    throw new DeploymentConfigError(key, `must be true or false (got "${v}")`);
  };
  const list = (key: string): string[] | undefined => {
    const v = get(key);
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v.map(String);
    return String(v)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  };
  const input: Record<string, unknown> = {
    appId: num('appId'),
    githubApiUrl: str('githubApiUrl'),
    githubServerUrl: str('githubServerUrl'),
    scope: str('scope'),
    labels: list('labels'),
    runnerGroupId: num('runnerGroupId'),
    runnerVersion: str('runnerVersion'),
    runnerFallbackVersion: str('runnerFallbackVersion'),
    architecture: str('architecture'),
    baselinePolicy: str('baselinePolicy'),
    allowlist: list('allowlist'),
    discoverQueuedJobs: list('discoverQueuedJobs'),
    launcher: str('launcher'),
    codebuildComputeType: str('codebuildComputeType'),
    runnerTimeoutMinutes: num('runnerTimeoutMinutes'),
    instanceType: str('instanceType'),
    useSpot: bool('useSpot'),
    vpcId: str('vpcId'),
    subnetIds: list('subnetIds'),
    rootVolumeGiB: num('rootVolumeGiB'),
    webhookReservedConcurrency: num('webhookReservedConcurrency'),
    reconcileIntervalSeconds: num('reconcileIntervalSeconds'),
    runnerStartTimeoutSeconds: num('runnerStartTimeoutSeconds'),
    baselineOnlineTimeoutSeconds: num('baselineOnlineTimeoutSeconds'),
    maxAttemptsPerJob: num('maxAttemptsPerJob'),
    maxTheftsPerJob: num('maxTheftsPerJob'),
    maxWorkaroundsPerScope: num('maxWorkaroundsPerScope'),
    logRetentionDays: num('logRetentionDays'),
    jobsFailedAlarmThreshold: num('jobsFailedAlarmThreshold'),
    metadataMissingAlarmThreshold: num('metadataMissingAlarmThreshold'),
    provisionerRetryAttempts: num('provisionerRetryAttempts'),
    alarmTopicArn: str('alarmTopicArn'),
  };
  // exactOptionalPropertyTypes: leave absent keys absent rather than explicitly undefined.
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as DeploymentConfigInput;
}
