import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EnvName } from '../functions/config/env-names.ts';
import {
  DEPLOYABLE_KEYS,
  type DeployableKey,
  type DeployBinding,
  type DeployProp,
  reason,
  SETTINGS,
  type SettingSpec,
  type SettingValue,
} from '../functions/config/settings.ts';
import { isAllowed } from '../functions/domain/allowlist.ts';
import { compareVersions, DEFAULT_RUNNER_VERSION } from '../functions/domain/runner-version.ts';

/**
 * Deploy-time configuration of the stack: typed, defaulted and validated here, then handed to every
 * function as its environment ({@link functionEnvironment}). Every property can also be given as CDK
 * context: `npx cdk deploy -c appId=123 -c launcher=ec2 ...`.
 *
 * Two kinds of property. The settings a deployment can pass to the functions come from the settings
 * table (functions/config/settings.ts: each row's CDK prop, doc, default and range; the same schema
 * validates them here and in the functions). The others ({@link StackOnlyInput}) shape only the AWS
 * resources and are declared below.
 */
type Settings = typeof SETTINGS;
type PropInput<K extends DeployableKey> = Settings[K]['deploy']['type'] extends 'list'
  ? readonly string[]
  : NonNullable<SettingValue<K>>;

/** The deployable settings as CDK props; each prop's meaning, default and range are in the settings table. */
export type SettingsInput = { [K in DeployableKey as DeployProp<K>]?: PropInput<K> };
/** The deployable settings after defaults and validation, as the functions will parse them. */
export type ResolvedSettings = { [K in DeployableKey as DeployProp<K>]: SettingValue<K> };

/** The launchers a deployment can run (the functions also know `local`). */
export type DeployedLauncher = 'codebuild' | 'ec2';

/** Properties of the AWS resources only: none of them is a function setting. */
export interface StackOnlyInput {
  /** Runner CPU architecture (tarball, CodeBuild image, EC2 AMI). Default `x64`. */
  architecture?: 'x64' | 'arm64';
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
  /**
   * Reserved concurrency of the webhook function: the most webhook invocations that run at once, and
   * concurrency no other function can take from it. The Function URL is public, so unsigned requests
   * each cost an invocation (refused in milliseconds); without a cap a flood of them could take the
   * account's whole concurrency, and the provisioner, runner-events and reconciler would be throttled.
   * 50 serves about a thousand deliveries a second (a warm delivery takes tens of milliseconds), and a
   * delivery throttled above that (HTTP 429) is redelivered by the reconciler. `'unreserved'` leaves the
   * webhook in the account's unreserved pool: for accounts whose concurrency quota cannot spare any
   * (Lambda keeps at least 100 unreserved; new accounts may have a quota of 10).
   * @default 50
   */
  readonly webhookReservedConcurrency?: number | 'unreserved';
  /** Days to keep function and runner logs. Default 30. */
  logRetentionDays?: number;
  /** Alarm when at least this many jobs fail within 15 minutes. Default 1. */
  jobsFailedAlarmThreshold?: number;
  /** Alarm when the runner logs show this many metadata-missing lines within 15 minutes. Default 5. */
  metadataMissingAlarmThreshold?: number;
  /**
   * Opt-in latency alarm, one per pool: alarm when the pool's p99 queued → running (a job's record to its
   * `in_progress`, what a developer waits for; `QueuedToRunningLatency`) is at or above this many seconds
   * (1-86400) for {@link poolAlarmEvaluationMinutes}. A pool's `alarms.queuedToRunningP99Seconds` overrides
   * it (`'off'` turns it off for that pool). Unset: no latency alarm, as the right value depends on the
   * workload.
   */
  queuedToRunningP99AlarmSeconds?: number;
  /**
   * Opt-in backlog alarm, one per pool with `maxRunners` (only a capped pool has a backlog): alarm when at
   * least this many of the pool's jobs wait for room (1-10000; `BacklogJobs`) for
   * {@link poolAlarmEvaluationMinutes}. A pool's `alarms.backlogJobs` overrides it (`'off'` turns it off).
   * Unset: no backlog alarm.
   */
  backlogAlarmJobs?: number;
  /**
   * How long a pool's latency or backlog must stay at or above its threshold before its alarm fires, in
   * minutes: a multiple of 5 (the alarms' period) from 5 to 1440. A pool's `alarms.evaluationMinutes`
   * overrides it. Default 15.
   */
  poolAlarmEvaluationMinutes?: number;
  /** Lambda async retries of the provisioner before the event goes to the dead-letter queue (0-2). Default 2. */
  provisionerRetryAttempts?: number;
  /** SNS topic ARN notified by every alarm; unset = alarms show on the dashboard only. */
  alarmTopicArn?: string;
}

/**
 * Everything a deployment can set. `appId` unset: the stack takes it as the `GitHubAppId`
 * CloudFormation parameter at deploy time. `launcher`: `codebuild` (default) or `ec2`.
 */
export type DeploymentConfigInput = DeployableSettingsInput & StackOnlyInput;

/** The deployable settings as a deployment gives them (`launcher` without `local`). */
export type DeployableSettingsInput = Omit<SettingsInput, 'launcher'> & { launcher?: DeployedLauncher };

export type DeploymentConfig = Omit<ResolvedSettings, 'launcher'> & { launcher: DeployedLauncher } & Required<
    Omit<
      StackOnlyInput,
      | 'vpcId'
      | 'webhookReservedConcurrency'
      | 'subnetIds'
      | 'alarmTopicArn'
      | 'queuedToRunningP99AlarmSeconds'
      | 'backlogAlarmJobs'
    >
  > & {
    alarmTopicArn: string | undefined;
    /** Undefined: no latency alarm unless a pool asks for one. */
    queuedToRunningP99AlarmSeconds: number | undefined;
    /** Undefined: no backlog alarm unless a pool asks for one. */
    backlogAlarmJobs: number | undefined;
    vpcId: string | undefined;
    /** Undefined: `'unreserved'` was asked for. */
    webhookReservedConcurrency: number | undefined;
    subnetIds: string[];
  };

/** How `-c key=value` of each stack-only property is read (the settings' come from the table). */
const STACK_ONLY_TYPES: Record<keyof StackOnlyInput, 'string' | 'number' | 'list' | 'boolean' | 'concurrency'> = {
  architecture: 'string',
  codebuildComputeType: 'string',
  runnerTimeoutMinutes: 'number',
  instanceType: 'string',
  useSpot: 'boolean',
  vpcId: 'string',
  subnetIds: 'list',
  rootVolumeGiB: 'number',
  webhookReservedConcurrency: 'concurrency',
  logRetentionDays: 'number',
  jobsFailedAlarmThreshold: 'number',
  metadataMissingAlarmThreshold: 'number',
  queuedToRunningP99AlarmSeconds: 'number',
  backlogAlarmJobs: 'number',
  poolAlarmEvaluationMinutes: 'number',
  provisionerRetryAttempts: 'number',
  alarmTopicArn: 'string',
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

/**
 * The ranges of the per-pool latency and backlog alarms' thresholds, shared by the deployment's properties
 * and a pool's `alarms` (cdk/pool-props.ts).
 */
export const POOL_ALARM_LIMITS = {
  queuedToRunningP99Seconds: { min: 1, max: 86_400 },
  backlogJobs: { min: 1, max: 10_000 },
  /** The alarms evaluate 5-minute periods, so the minutes are a multiple of this. */
  evaluationStepMinutes: 5,
  evaluationMinutes: { min: 5, max: 1_440 },
} as const;
export const DEFAULT_POOL_ALARM_EVALUATION_MINUTES = 15;

/** Why a pool alarm threshold is refused, or undefined when it is in range (the caller names the field). */
export function poolAlarmProblem(
  kind: 'queuedToRunningP99Seconds' | 'backlogJobs' | 'evaluationMinutes',
  value: unknown,
): string | undefined {
  const { min, max } = POOL_ALARM_LIMITS[kind];
  const got = `(got ${JSON.stringify(value)})`;
  if (kind === 'evaluationMinutes') {
    const step = POOL_ALARM_LIMITS.evaluationStepMinutes;
    return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max && value % step === 0
      ? undefined
      : `must be a multiple of ${step} minutes from ${min} to ${max}, as the alarms evaluate ${step}-minute periods ${got}`;
  }
  const unit = kind === 'backlogJobs' ? 'jobs' : 'seconds';
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? undefined
    : `must be a whole number of ${unit} from ${min} to ${max} ${got}`;
}

function optionalPoolAlarm(
  property: string,
  kind: 'queuedToRunningP99Seconds' | 'backlogJobs',
  value: number | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const problem = poolAlarmProblem(kind, value);
  if (problem) throw new DeploymentConfigError(property, `${problem}; leave it unset for no alarm`);
  return value;
}

/** The webhook's default reserved concurrency (see {@link StackOnlyInput.webhookReservedConcurrency}). */
export const DEFAULT_WEBHOOK_RESERVED_CONCURRENCY = 50;

/** `webhookReservedConcurrency`: a whole number, or `'unreserved'` (undefined in the resolved config). */
function reservedConcurrency(value: number | 'unreserved' | undefined): number | undefined {
  if (value === 'unreserved') return undefined;
  const v = value ?? DEFAULT_WEBHOOK_RESERVED_CONCURRENCY;
  if (!Number.isInteger(v) || v < 1 || v > 1000) {
    throw new DeploymentConfigError(
      'webhookReservedConcurrency',
      `must be a whole number from 1 to 1000, or 'unreserved' to leave the webhook in the account's unreserved pool (got ${JSON.stringify(value)}); 0 would throttle every delivery`,
    );
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

/** A prop value spelt as its variable: lists comma-joined. */
function asVariable(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

function wholeNumberMessage({ min, max }: { min: number; max: number }): string {
  return max === Number.MAX_SAFE_INTEGER
    ? `must be a whole number of at least ${min}`
    : `must be a whole number from ${min} to ${max}`;
}

/**
 * One deployable setting: the prop (or the deployment's default, else the functions' own) spelt as
 * the variable and parsed by the table's schema, so the stack refuses exactly what the functions
 * would refuse at their first start.
 */
function resolveSetting(row: SettingSpec & { deploy: DeployBinding }, given: unknown, architecture: string): unknown {
  const { prop, values } = row.deploy;
  const raw = given === undefined ? row.deploy.default?.replace('{architecture}', architecture) : asVariable(given);
  const got = given === undefined ? '' : ` (got ${JSON.stringify(given)})`;
  if (values && raw !== undefined && !values.includes(raw)) {
    throw new DeploymentConfigError(prop, `must be one of ${values.join(', ')}${got}`);
  }
  const result = row.schema.safeParse(raw);
  if (!result.success) {
    throw new DeploymentConfigError(
      prop,
      `${row.bounds ? wholeNumberMessage(row.bounds) : reason(result.error)}${got}`,
    );
  }
  return result.data;
}

function resolveSettings(input: DeploymentConfigInput, architecture: string): ResolvedSettings {
  const given = input as Record<string, unknown>;
  const resolved: Record<string, unknown> = {};
  for (const key of DEPLOYABLE_KEYS) {
    const row = SETTINGS[key];
    resolved[row.deploy.prop] = resolveSetting(row, given[row.deploy.prop], architecture);
  }
  return resolved as ResolvedSettings;
}

/**
 * The environment every function gets from the deployment: each deployable setting of the table under
 * its variable name (lists comma-joined; unset optional ones left out). The stack adds its own wiring
 * (names, ARNs, launcher resources) and supplies `GITHUB_APP_ID` from a parameter when `appId` is unset.
 */
export function functionEnvironment(config: DeploymentConfig): Record<string, string> {
  const values = config as unknown as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const key of DEPLOYABLE_KEYS) {
    const value = values[SETTINGS[key].deploy.prop];
    if (value !== undefined) env[EnvName[key]] = asVariable(value);
  }
  return env;
}

/** Beyond the schema: a pinned version must be at or above the floor and have checksums for the tarball. */
function checkPinnedVersion(
  property: string,
  version: string,
  floor: string,
  architecture: string,
  tarballs: Set<string>,
) {
  if (compareVersions(version, floor) < 0) {
    throw new DeploymentConfigError(
      property,
      `${version} is below ${floor}, the oldest version GitHub accepts for registration; pin ${floor} or newer`,
    );
  }
  const tarball = `actions-runner-linux-${architecture}-${version}.tar.gz`;
  if (!tarballs.has(tarball)) {
    throw new DeploymentConfigError(
      property,
      `runner/checksums.json has no SHA-256 for ${tarball}; add it from the release notes of v${version} (the bootstrap refuses unverified tarballs)`,
    );
  }
}

/** Applies defaults and validates; throws {@link DeploymentConfigError} naming the property and the fix. */
export function resolveDeploymentConfig(
  input: DeploymentConfigInput = {},
  tarballs = checksummedTarballs(),
): DeploymentConfig {
  const architecture = oneOf('architecture', input.architecture, 'x64', ['x64', 'arm64'] as const);
  const settings = resolveSettings(input, architecture);
  const launcher = settings.launcher as DeployedLauncher;

  // Rules of a deployment beyond the functions' own ranges.
  const otherArch = architecture === 'x64' ? 'arm64' : 'x64';
  if (settings.labels.includes(otherArch)) {
    throw new DeploymentConfigError(
      'labels',
      `contains "${otherArch}" but the runners are ${architecture}; set architecture=${otherArch} or drop the label`,
    );
  }
  for (const entry of settings.discoverQueuedJobs) {
    const [owner = '', repo = ''] = entry.split('/');
    if (!isAllowed(settings.allowlist, owner, repo)) {
      throw new DeploymentConfigError(
        'discoverQueuedJobs',
        `entry "${entry}" is not served by the allowlist; add it to allowlist or drop it here`,
      );
    }
  }
  // `auto` starts from this release's default version until the reconciler adopts a release, so that one
  // must be in runner/checksums.json; an adopted release's digests come from its notes and the launchers
  // hand them to the bootstrap (JR_RUNNER_SHA256_*).
  const startVersion = /^auto$/i.test(settings.runnerVersion) ? DEFAULT_RUNNER_VERSION : settings.runnerVersion;
  checkPinnedVersion('runnerVersion', startVersion, settings.runnerVersionFloor, architecture, tarballs);
  if (settings.runnerFallbackVersion !== undefined) {
    checkPinnedVersion(
      'runnerFallbackVersion',
      settings.runnerFallbackVersion,
      settings.runnerVersionFloor,
      architecture,
      tarballs,
    );
  }
  if (settings.reconcileIntervalSeconds % 60 !== 0) {
    throw new DeploymentConfigError(
      'reconcileIntervalSeconds',
      `EventBridge schedules run in whole minutes; use a multiple of 60 (got ${settings.reconcileIntervalSeconds})`,
    );
  }

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
  const webhookReservedConcurrency = reservedConcurrency(input.webhookReservedConcurrency);

  const alarmTopicArn = input.alarmTopicArn;
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)) {
    throw new DeploymentConfigError(
      'alarmTopicArn',
      `"${alarmTopicArn}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`,
    );
  }
  const poolAlarmEvaluationMinutes = input.poolAlarmEvaluationMinutes ?? DEFAULT_POOL_ALARM_EVALUATION_MINUTES;
  const evaluationProblem = poolAlarmProblem('evaluationMinutes', poolAlarmEvaluationMinutes);
  if (evaluationProblem) throw new DeploymentConfigError('poolAlarmEvaluationMinutes', evaluationProblem);
  return {
    ...settings,
    launcher,
    architecture,
    codebuildComputeType,
    runnerTimeoutMinutes: intIn('runnerTimeoutMinutes', input.runnerTimeoutMinutes, 360, 5, 2160),
    instanceType,
    useSpot: input.useSpot ?? false,
    vpcId: input.vpcId,
    subnetIds,
    rootVolumeGiB: intIn('rootVolumeGiB', input.rootVolumeGiB, 30, 8, 16_384),
    webhookReservedConcurrency,
    logRetentionDays: intIn('logRetentionDays', input.logRetentionDays, 30, 1, 3_653),
    jobsFailedAlarmThreshold: intIn('jobsFailedAlarmThreshold', input.jobsFailedAlarmThreshold, 1, 1, 10_000),
    metadataMissingAlarmThreshold: intIn(
      'metadataMissingAlarmThreshold',
      input.metadataMissingAlarmThreshold,
      5,
      1,
      10_000,
    ),
    queuedToRunningP99AlarmSeconds: optionalPoolAlarm(
      'queuedToRunningP99AlarmSeconds',
      'queuedToRunningP99Seconds',
      input.queuedToRunningP99AlarmSeconds,
    ),
    backlogAlarmJobs: optionalPoolAlarm('backlogAlarmJobs', 'backlogJobs', input.backlogAlarmJobs),
    poolAlarmEvaluationMinutes,
    provisionerRetryAttempts: intIn('provisionerRetryAttempts', input.provisionerRetryAttempts, 2, 0, 2),
    alarmTopicArn,
  };
}

/**
 * Reads {@link DeploymentConfigInput} from CDK context (`-c name=value` or cdk.json). Lists are comma
 * separated, numbers and booleans are parsed; an unparsable value names the key. Which keys exist and
 * their types come from the settings table and {@link StackOnlyInput}.
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
  const concurrency = (key: string): number | 'unreserved' | undefined =>
    str(key) === 'unreserved' ? 'unreserved' : num(key);
  const read = { string: str, number: num, boolean: bool, list, concurrency } as const;
  const types: Array<[string, keyof typeof read]> = [
    ...DEPLOYABLE_KEYS.map((key): [string, keyof typeof read] => [
      SETTINGS[key].deploy.prop,
      SETTINGS[key].deploy.type,
    ]),
    ...(Object.entries(STACK_ONLY_TYPES) as Array<[string, keyof typeof read]>),
  ];
  const input: Record<string, unknown> = {};
  for (const [key, type] of types) {
    const value = read[type](key);
    // exactOptionalPropertyTypes: leave absent keys absent rather than explicitly undefined.
    if (value !== undefined) input[key] = value;
  }
  return input as DeploymentConfigInput;
}
