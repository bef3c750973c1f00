import type * as iam from 'aws-cdk-lib/aws-iam';
import { normaliseLabels } from '../functions/domain/labels.ts';
import { shadowedBy } from '../functions/domain/runner-pool.ts';
import { compareVersions, DEFAULT_RUNNER_VERSION, isExactVersion } from '../functions/domain/runner-version.ts';
import { DEFAULT_POOL_ALARM_EVALUATION_MINUTES, DeploymentConfigError, poolAlarmProblem } from './deployment-config.ts';

/** A curated CodeBuild image, chosen for the pool's architecture. */
export type CuratedCodeBuildImage = 'amazon-linux-2023' | 'ubuntu';

/** A custom image in an ECR repository of the deployment's account and region. */
export interface EcrCodeBuildImage {
  /** Repository name (not ARN), e.g. `ci/runner`. */
  readonly ecrRepositoryName: string;
  /**
   * Image tag.
   * @default 'latest'
   */
  readonly tag?: string;
}

/** The machine of a CodeBuild pool: one build per runner. */
export interface CodeBuildPoolOptions {
  /**
   * CPU architecture of the image and of the actions-runner tarball.
   * @default 'x64'
   */
  readonly architecture?: 'x64' | 'arm64';
  /**
   * CodeBuild compute type (`BUILD_GENERAL1_*`, or `BUILD_LAMBDA_*` for jobs without Docker or VPC).
   * @default 'BUILD_GENERAL1_MEDIUM' (x64) / 'BUILD_GENERAL1_LARGE' (arm64)
   */
  readonly computeType?: string;
  /**
   * The build image: a curated one (`amazon-linux-2023`; `ubuntu` is x64 only) or a custom ECR image
   * (it needs bash, curl, tar, git and the AWS CLI; with `docker`, also the Docker engine).
   * @default 'amazon-linux-2023'
   */
  readonly image?: CuratedCodeBuildImage | EcrCodeBuildImage;
  /**
   * Jobs may use Docker: the project runs privileged (only then) and the build starts the Docker
   * daemon when the image has not. Not with `BUILD_LAMBDA_*` compute.
   * @default false
   */
  readonly docker?: boolean;
  /**
   * Longest job in minutes (5-2160).
   * @default the deployment's `runnerTimeoutMinutes` (360)
   */
  readonly timeoutMinutes?: number;
  /**
   * Run the builds in a VPC: its id and subnets (private, with a NAT route to GitHub). Security groups:
   * the given ones, else one the construct creates with outbound HTTP(S) only.
   * @default no VPC (CodeBuild's own network)
   */
  readonly vpc?: {
    readonly vpcId: string;
    readonly subnetIds: readonly string[];
    /** @default one group with outbound 80/443 only */
    readonly securityGroupIds?: readonly string[];
  };
}

/** The machine of an EC2 pool: one instance per runner, from the pool's launch template. */
export interface Ec2PoolOptions {
  /**
   * CPU architecture of the AMI and of the actions-runner tarball; every instance type must match it.
   * @default 'x64'
   */
  readonly architecture?: 'x64' | 'arm64';
  /**
   * Instance types in preference order (1-20): the launcher tries them in order.
   * @default ['m7i.large'] (x64) / ['m7g.large'] (arm64)
   */
  readonly instanceTypes?: readonly string[];
  /**
   * Spot first across the whole list, then on-demand across the list.
   * @default false
   */
  readonly spot?: boolean;
  /**
   * The AMI: an id (`ami-…`), or the name of an SSM parameter holding one (resolved at deploy time).
   * `owner` is the image owner the functions' launch permission requires (`ec2:Owner`): an account id,
   * or `amazon` / `aws-marketplace`; an image of any other owner is refused at launch.
   * It must be Amazon Linux 2023 or compatible (the user data uses dnf and the CloudWatch agent).
   * @default the latest Amazon Linux 2023 for the architecture
   */
  readonly ami?: ({ readonly id: string } | { readonly ssmParameterName: string }) & {
    /**
     * Owner of the image (`ec2:Owner`): a 12-digit account id, `amazon` or `aws-marketplace`.
     * @default the deployment's own account (a custom AMI built there); the default Amazon Linux is `amazon`
     */
    readonly owner?: string;
  };
  /**
   * Root volume size in GiB (encrypted gp3, deleted with the instance).
   * @default 30
   */
  readonly rootVolumeGiB?: number;
  /**
   * Install Docker on the instance and let the job use it.
   * @default false
   */
  readonly docker?: boolean;
  /** Subnets with outbound HTTPS to GitHub (NAT or public IP); at least one. */
  readonly subnetIds: readonly string[];
  /**
   * Security groups of the instances.
   * @default one group with no inbound rule and outbound 80/443 only, created in `vpcId`
   */
  readonly securityGroupIds?: readonly string[];
  /**
   * The VPC of `subnetIds`; needed only when the construct creates the security group.
   * @default none (then `securityGroupIds` is required)
   */
  readonly vpcId?: string;
}

/** A time window with its own number of warm runners (the functions read `days` and `timeZone`). */
export interface JitRunnersWarmWindow {
  /**
   * Days the window applies on: `mon-fri`, `sat,sun`, `daily`.
   * @default 'daily'
   */
  readonly days?: string;
  /** Start, `HH:MM` (24 hours). */
  readonly from: string;
  /** End, `HH:MM`; before `from`: the window runs past midnight. */
  readonly to: string;
  /** Warm runners kept during the window. */
  readonly size: number;
  /**
   * IANA time zone of `days`, `from` and `to`.
   * @default 'UTC'
   */
  readonly timeZone?: string;
}

/** Warm runners of a pool: booted and ready, registered nowhere, each waiting for one job's JIT config. */
export interface JitRunnersWarm {
  /** Warm runners kept outside every window (0 or more; with the windows, at most `maxRunners`). */
  readonly size: number;
  /**
   * Windows with their own size; the first matching one wins.
   * @default none
   */
  readonly schedule?: readonly JitRunnersWarmWindow[];
  /**
   * An idle warm runner ends (the bootstrap exits unregistered) and is replaced after this many minutes
   * (1-1440). On CodeBuild the project's build timeout grows by it, so a claimed build still has the
   * job's whole timeout.
   * @default 30
   */
  readonly maxIdleMinutes?: number;
}

/**
 * A pool's own latency and backlog alarms, over the deployment's `queuedToRunningP99AlarmSeconds`,
 * `backlogAlarmJobs` and `poolAlarmEvaluationMinutes` (docs/deploy.md "Latency and backlog alarms").
 */
export interface JitRunnersPoolAlarms {
  /**
   * Alarm when the pool's p99 queued → running is at or above this many seconds (1-86400); `'off'`: no
   * latency alarm for this pool even when the deployment sets one.
   * @default the deployment's `queuedToRunningP99AlarmSeconds` (unset: no alarm)
   */
  readonly queuedToRunningP99Seconds?: number | 'off';
  /**
   * Alarm when at least this many of the pool's jobs wait for room (1-10000); the pool needs `maxRunners`.
   * `'off'`: no backlog alarm for this pool even when the deployment sets one.
   * @default the deployment's `backlogAlarmJobs` (unset: no alarm)
   */
  readonly backlogJobs?: number | 'off';
  /**
   * Minutes the latency or backlog stays at or above its threshold before the alarm fires: a multiple of 5
   * from 5 to 1440.
   * @default the deployment's `poolAlarmEvaluationMinutes` (15)
   */
  readonly evaluationMinutes?: number;
}

/** A pool's alarms after the deployment's values and the pool's own are merged (undefined: no alarm). */
export interface PoolAlarmThresholds {
  readonly queuedToRunningP99Seconds: number | undefined;
  readonly backlogJobs: number | undefined;
  readonly evaluationMinutes: number;
}

/** One runner pool of the deployment. Exactly one of `codebuild` or `ec2`. */
export interface JitRunnersPool {
  /** Unique, 1-32 characters of `a-z 0-9 -`. Names the pool's resources and is recorded on its jobs. */
  readonly name: string;
  /**
   * The labels its runners carry; a job goes to the first pool, in listed order, whose labels include
   * every label of the job. An earlier pool covering all of a later pool's labels is refused.
   */
  readonly labels: readonly string[];
  /**
   * At most this many of the pool's runners exist at once.
   * @default no cap
   */
  readonly maxRunners?: number;
  /**
   * Exact actions/runner version of the pool's runners (needs its SHA-256 in runner/checksums.json).
   * @default the deployment's `runnerVersion`
   */
  readonly runnerVersion?: string;
  /** Runners on CodeBuild. */
  readonly codebuild?: CodeBuildPoolOptions;
  /** Runners on EC2. */
  readonly ec2?: Ec2PoolOptions;
  /**
   * Tags on every resource of the pool (project or launch template, its instances and volumes, roles).
   * Keys starting with `aws:` or `jit-runners:` are reserved.
   * @default none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Extra permissions of the pool's runner role, for workflows that call AWS: managed policies (an ARN
   * string or an `iam.IManagedPolicy`) or policy statements. Only when this is not empty do the pool's
   * jobs get the role's credentials; otherwise the bootstrap withholds them.
   * @default none: the runner role can read its hand-off and write its logs, nothing else
   */
  readonly runnerPolicies?: ReadonlyArray<string | iam.IManagedPolicy | iam.PolicyStatement>;
  /**
   * Warm runners: a number (that many, idle up to 30 minutes) or `{ size, schedule, maxIdleMinutes }`.
   * Each idle warm runner is a running instance or build, paid while it waits (docs/deploy.md "Warm
   * runners"). Not on CodeBuild Lambda compute (its builds last at most 15 minutes).
   * @default none: every job's runner boots when the job arrives
   */
  readonly warm?: number | JitRunnersWarm;
  /**
   * The pool's own latency and backlog alarm thresholds, or `'off'` for one the deployment sets
   * (docs/deploy.md "Latency and backlog alarms").
   * @default the deployment's `queuedToRunningP99AlarmSeconds`, `backlogAlarmJobs`, `poolAlarmEvaluationMinutes`
   */
  readonly alarms?: JitRunnersPoolAlarms;
}

/** A pool's warm runners as resolved: always the object form, `maxIdleMinutes` filled in. */
export interface ResolvedWarm {
  readonly size: number;
  readonly schedule: JitRunnersWarmWindow[];
  readonly maxIdleMinutes: number;
}

/** What the functions use when a pool's `warm` gives no `maxIdleMinutes` (functions/domain/warm-pool.ts). */
export const DEFAULT_WARM_MAX_IDLE_MINUTES = 30;
/** CodeBuild's longest build timeout, in minutes. */
const CODEBUILD_MAX_TIMEOUT_MINUTES = 2160;

interface CommonResolved {
  readonly name: string;
  readonly labels: string[];
  readonly maxRunners: number | undefined;
  readonly runnerVersion: string | undefined;
  readonly architecture: 'x64' | 'arm64';
  readonly docker: boolean;
  readonly tags: Record<string, string>;
  readonly runnerPolicies: ReadonlyArray<string | iam.IManagedPolicy | iam.PolicyStatement>;
  readonly warm: ResolvedWarm | undefined;
  readonly alarms: PoolAlarmThresholds;
}

export interface ResolvedCodeBuildPool extends CommonResolved {
  readonly kind: 'codebuild';
  readonly computeType: string;
  readonly image: CuratedCodeBuildImage | { ecrRepositoryName: string; tag: string };
  readonly timeoutMinutes: number;
  readonly vpc: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] } | undefined;
}

export interface ResolvedEc2Pool extends CommonResolved {
  readonly kind: 'ec2';
  readonly instanceTypes: string[];
  readonly spot: boolean;
  readonly ami: (({ id: string } | { ssmParameterName: string }) & { owner?: string }) | undefined;
  readonly rootVolumeGiB: number;
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
  readonly vpcId: string | undefined;
}

export type ResolvedPool = ResolvedCodeBuildPool | ResolvedEc2Pool;

/** What pools inherit from the deployment. */
export interface PoolDefaults {
  readonly runnerVersion: string;
  readonly runnerVersionFloor: string;
  readonly runnerTimeoutMinutes: number;
  /** Tarball names with a SHA-256 in runner/checksums.json. */
  readonly tarballs: Set<string>;
  /**
   * The deployment's latency and backlog alarm thresholds, each pool's unless it says otherwise.
   * @default no alarm, 15 minutes
   */
  readonly alarms?: PoolAlarmThresholds;
}

const POOL_NAME = /^[a-z0-9-]{1,32}$/;
const SUBNET = /^subnet-[0-9a-f]+$/;
const SECURITY_GROUP = /^sg-[0-9a-f]+$/;
const VPC = /^vpc-[0-9a-f]+$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const COMPUTE_TYPE = /^BUILD_(GENERAL1|LAMBDA)_[A-Z0-9_]+$/;
const MAX_INSTANCE_TYPES = 20;

/** Graviton families have a `g` after the generation digit (m7g, c6gn, r8gd, t4g, x2gd…); a1 too. */
export function isArmInstanceType(instanceType: string): boolean {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family);
}

function list(pool: string, field: string, values: readonly string[] | undefined, pattern: RegExp, example: string) {
  const out = [...(values ?? [])].map((v) => v.trim()).filter(Boolean);
  for (const v of out) {
    if (!pattern.test(v)) throw poolError(pool, field, `"${v}" is not ${example}`);
  }
  return out;
}

function poolError(pool: string, field: string, message: string): DeploymentConfigError {
  return new DeploymentConfigError('pools', `pool "${pool}": ${field}: ${message}`);
}

function wholeIn(pool: string, field: string, value: number | undefined, fallback: number, min: number, max: number) {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw poolError(pool, field, `must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return v;
}

function checkTags(pool: string, tags: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags ?? {})) {
    if (/^(aws|jit-runners):/i.test(key)) {
      throw poolError(pool, `tags.${key}`, 'keys starting with aws: or jit-runners: are reserved; rename the tag');
    }
    if (key.length === 0 || key.length > 128 || String(value).length > 256) {
      throw poolError(pool, `tags.${key}`, 'keys are 1-128 characters and values at most 256');
    }
    out[key] = String(value);
  }
  return out;
}

function checkVersion(pool: string, given: string, architecture: string, defaults: PoolDefaults, field: string) {
  // `auto` (the pool's own or the deployment's) starts from this release's default version until the
  // reconciler adopts one, whose digests the launchers hand to the bootstrap: the start version is checked.
  const version = given === 'auto' ? DEFAULT_RUNNER_VERSION : given;
  if (!isExactVersion(version))
    throw poolError(pool, field, `must be an exact version such as 2.330.0 (got "${version}")`);
  if (compareVersions(version, defaults.runnerVersionFloor) < 0) {
    throw poolError(
      pool,
      field,
      `${version} is below ${defaults.runnerVersionFloor}, the oldest version GitHub accepts for registration; pin ${defaults.runnerVersionFloor} or newer`,
    );
  }
  const tarball = `actions-runner-linux-${architecture}-${version}.tar.gz`;
  if (!defaults.tarballs.has(tarball)) {
    throw poolError(
      pool,
      field,
      `runner/checksums.json has no SHA-256 for ${tarball}; add it from the release notes of v${version} (the bootstrap refuses unverified tarballs)`,
    );
  }
}

function resolveCodeBuild(
  name: string,
  o: CodeBuildPoolOptions,
  defaults: PoolDefaults,
): Omit<ResolvedCodeBuildPool, keyof Omit<CommonResolved, 'architecture' | 'docker'>> {
  const architecture = o.architecture ?? 'x64';
  if (architecture !== 'x64' && architecture !== 'arm64') {
    throw poolError(name, 'codebuild.architecture', `must be x64 or arm64 (got "${String(architecture)}")`);
  }
  const computeType = o.computeType ?? (architecture === 'arm64' ? 'BUILD_GENERAL1_LARGE' : 'BUILD_GENERAL1_MEDIUM');
  if (!COMPUTE_TYPE.test(computeType)) {
    throw poolError(
      name,
      'codebuild.computeType',
      `"${computeType}" is not a CodeBuild compute type such as BUILD_GENERAL1_MEDIUM`,
    );
  }
  const lambdaCompute = computeType.startsWith('BUILD_LAMBDA_');
  const docker = o.docker ?? false;
  if (docker && lambdaCompute) {
    throw poolError(
      name,
      'codebuild.docker',
      `CodeBuild Lambda compute (${computeType}) cannot run Docker; use a BUILD_GENERAL1_* compute type or drop docker`,
    );
  }
  const rawImage = o.image ?? 'amazon-linux-2023';
  let image: ResolvedCodeBuildPool['image'];
  if (typeof rawImage === 'string') {
    if (rawImage !== 'amazon-linux-2023' && rawImage !== 'ubuntu') {
      throw poolError(
        name,
        'codebuild.image',
        `must be amazon-linux-2023, ubuntu or { ecrRepositoryName } (got "${String(rawImage)}")`,
      );
    }
    if (rawImage === 'ubuntu' && architecture === 'arm64') {
      throw poolError(
        name,
        'codebuild.image',
        'CodeBuild has no curated Ubuntu image for arm64; use amazon-linux-2023 or a custom ECR image',
      );
    }
    image = rawImage;
  } else {
    if (!/^[a-z0-9][a-z0-9._/-]{1,255}$/.test(rawImage.ecrRepositoryName ?? '')) {
      throw poolError(
        name,
        'codebuild.image.ecrRepositoryName',
        `"${String(rawImage.ecrRepositoryName)}" is not an ECR repository name (lower case, e.g. ci/runner)`,
      );
    }
    image = { ecrRepositoryName: rawImage.ecrRepositoryName, tag: rawImage.tag ?? 'latest' };
  }
  let vpc: ResolvedCodeBuildPool['vpc'];
  if (o.vpc !== undefined) {
    if (!VPC.test(o.vpc.vpcId ?? '')) {
      throw poolError(name, 'codebuild.vpc.vpcId', `"${String(o.vpc.vpcId)}" is not a VPC id (vpc-…)`);
    }
    const subnetIds = list(name, 'codebuild.vpc.subnetIds', o.vpc.subnetIds, SUBNET, 'a subnet id (subnet-…)');
    if (subnetIds.length === 0) {
      throw poolError(
        name,
        'codebuild.vpc.subnetIds',
        'a VPC needs at least one private subnet with a NAT route to GitHub; list them or drop vpc',
      );
    }
    const securityGroupIds = list(
      name,
      'codebuild.vpc.securityGroupIds',
      o.vpc.securityGroupIds,
      SECURITY_GROUP,
      'a security group id (sg-…)',
    );
    vpc = { vpcId: o.vpc.vpcId, subnetIds, securityGroupIds };
  }
  return {
    kind: 'codebuild',
    architecture,
    docker,
    computeType,
    image,
    timeoutMinutes: wholeIn(name, 'codebuild.timeoutMinutes', o.timeoutMinutes, defaults.runnerTimeoutMinutes, 5, 2160),
    vpc,
  };
}

function resolveEc2(
  name: string,
  o: Ec2PoolOptions,
): Omit<ResolvedEc2Pool, keyof Omit<CommonResolved, 'architecture' | 'docker'>> {
  const architecture = o.architecture ?? 'x64';
  if (architecture !== 'x64' && architecture !== 'arm64') {
    throw poolError(name, 'ec2.architecture', `must be x64 or arm64 (got "${String(architecture)}")`);
  }
  const given = list(name, 'ec2.instanceTypes', o.instanceTypes, INSTANCE_TYPE, 'an instance type such as m7i.large');
  const instanceTypes = [...new Set(given.length > 0 ? given : [architecture === 'arm64' ? 'm7g.large' : 'm7i.large'])];
  if (instanceTypes.length > MAX_INSTANCE_TYPES) {
    throw poolError(
      name,
      'ec2.instanceTypes',
      `lists ${instanceTypes.length} types; list at most ${MAX_INSTANCE_TYPES}`,
    );
  }
  for (const type of instanceTypes) {
    if (isArmInstanceType(type) !== (architecture === 'arm64')) {
      throw poolError(
        name,
        'ec2.instanceTypes',
        `${type} is ${isArmInstanceType(type) ? 'arm64' : 'x64'} but the pool is ${architecture}; set ec2.architecture or pick ${architecture} types`,
      );
    }
  }
  const subnetIds = list(name, 'ec2.subnetIds', o.subnetIds, SUBNET, 'a subnet id (subnet-…)');
  if (subnetIds.length === 0) {
    throw poolError(
      name,
      'ec2.subnetIds',
      'an EC2 pool needs at least one subnet with outbound HTTPS to GitHub (NAT or public IP); list its subnet ids',
    );
  }
  const securityGroupIds = list(
    name,
    'ec2.securityGroupIds',
    o.securityGroupIds,
    SECURITY_GROUP,
    'a security group id (sg-…)',
  );
  if (o.vpcId !== undefined && !VPC.test(o.vpcId)) {
    throw poolError(name, 'ec2.vpcId', `"${o.vpcId}" is not a VPC id (vpc-…)`);
  }
  if (securityGroupIds.length === 0 && o.vpcId === undefined) {
    throw poolError(
      name,
      'ec2.vpcId',
      'set the VPC of the subnets (the construct creates an outbound-only security group in it) or give securityGroupIds',
    );
  }
  let ami: ResolvedEc2Pool['ami'];
  if (o.ami !== undefined) {
    const owner = o.ami.owner;
    if (owner !== undefined && !/^(\d{12}|amazon|aws-marketplace)$/.test(owner)) {
      throw poolError(
        name,
        'ec2.ami.owner',
        `"${owner}" is not an image owner: give the 12-digit account id that owns the AMI, amazon or aws-marketplace`,
      );
    }
    const owned = owner === undefined ? {} : { owner };
    if ('id' in o.ami) {
      if (!/^ami-[0-9a-f]+$/.test(o.ami.id))
        throw poolError(name, 'ec2.ami.id', `"${o.ami.id}" is not an AMI id (ami-…)`);
      ami = { id: o.ami.id, ...owned };
    } else if ('ssmParameterName' in o.ami && /^\/?[A-Za-z0-9_.\-/]+$/.test(o.ami.ssmParameterName)) {
      ami = { ssmParameterName: o.ami.ssmParameterName, ...owned };
    } else {
      throw poolError(name, 'ec2.ami', 'give { id: "ami-…" } or { ssmParameterName: "/path/to/ami-id" }');
    }
  }
  return {
    kind: 'ec2',
    architecture,
    docker: o.docker ?? false,
    instanceTypes,
    spot: o.spot ?? false,
    ami,
    rootVolumeGiB: wholeIn(name, 'ec2.rootVolumeGiB', o.rootVolumeGiB, 30, 8, 16_384),
    subnetIds,
    securityGroupIds,
    vpcId: o.vpcId,
  };
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * A pool's `warm`, checked as far as the stack needs (sizes, the idle bound, window times); the functions'
 * parser (functions/config/runner-pools.ts) reads the same object again at start and checks days and time
 * zones.
 */
function resolveWarm(pool: JitRunnersPool, name: string): ResolvedWarm | undefined {
  const warm = pool.warm;
  if (warm === undefined) return undefined;
  const given = typeof warm === 'number' ? { size: warm } : warm;
  const size = (field: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw poolError(name, field, `must be a whole number of warm runners, 0 or more (got ${String(value)})`);
    }
    return value;
  };
  const base = size(typeof warm === 'number' ? 'warm' : 'warm.size', given.size);
  const maxIdleMinutes = given.maxIdleMinutes ?? DEFAULT_WARM_MAX_IDLE_MINUTES;
  if (typeof maxIdleMinutes !== 'number' || !(maxIdleMinutes >= 1 && maxIdleMinutes <= 1440)) {
    throw poolError(name, 'warm.maxIdleMinutes', `must be 1 to 1440 minutes (got ${String(maxIdleMinutes)})`);
  }
  const schedule = [...(given.schedule ?? [])].map((w, i) => {
    for (const key of ['from', 'to'] as const) {
      if (!HH_MM.test(String(w[key]))) {
        throw poolError(
          name,
          `warm.schedule[${i}].${key}`,
          `must be a time HH:MM (24 hours) (got "${String(w[key])}")`,
        );
      }
    }
    size(`warm.schedule[${i}].size`, w.size);
    return { ...w };
  });
  const largest = Math.max(base, ...schedule.map((w) => w.size));
  if (pool.maxRunners !== undefined && largest > pool.maxRunners) {
    throw poolError(
      name,
      'warm',
      `${largest} warm runners is more than maxRunners (${pool.maxRunners}): warm runners count against it; raise maxRunners or lower warm`,
    );
  }
  if (pool.codebuild?.computeType?.startsWith('BUILD_LAMBDA_')) {
    throw poolError(
      name,
      'warm',
      `CodeBuild Lambda compute (${pool.codebuild.computeType}) ends every build within 15 minutes, so it cannot keep warm runners; use a BUILD_GENERAL1_* compute type or drop warm`,
    );
  }
  return { size: base, schedule, maxIdleMinutes };
}

const POOL_ALARM_FIELDS = ['queuedToRunningP99Seconds', 'backlogJobs', 'evaluationMinutes'] as const;

/**
 * A pool's `alarms` over the deployment's: each field its own value, `'off'` (none), or the deployment's.
 * A backlog alarm the pool asks for itself needs `maxRunners`; the deployment's applies to capped pools only.
 */
function resolvePoolAlarms(pool: JitRunnersPool, name: string, defaults: PoolDefaults): PoolAlarmThresholds {
  const given = pool.alarms ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw poolError(name, 'alarms', `must be an object with ${POOL_ALARM_FIELDS.join(', ')}`);
  }
  for (const key of Object.keys(given)) {
    if (!(POOL_ALARM_FIELDS as readonly string[]).includes(key)) {
      throw poolError(name, `alarms.${key}`, `is not a pool alarm field; use ${POOL_ALARM_FIELDS.join(', ')}`);
    }
  }
  const threshold = (field: 'queuedToRunningP99Seconds' | 'backlogJobs', inherited: number | undefined) => {
    const value = given[field];
    if (value === 'off') return undefined;
    if (value === undefined) return inherited;
    const problem = poolAlarmProblem(field, value);
    if (problem) throw poolError(name, `alarms.${field}`, `${problem}, or 'off' for no alarm`);
    return value;
  };
  const queuedToRunningP99Seconds = threshold('queuedToRunningP99Seconds', defaults.alarms?.queuedToRunningP99Seconds);
  const ownBacklog = given.backlogJobs !== undefined && given.backlogJobs !== 'off';
  if (ownBacklog && pool.maxRunners === undefined) {
    throw poolError(
      name,
      'alarms.backlogJobs',
      'the pool has no maxRunners, so its jobs never wait for room and the alarm could never fire; set maxRunners or drop alarms.backlogJobs',
    );
  }
  const backlogJobs =
    pool.maxRunners === undefined ? undefined : threshold('backlogJobs', defaults.alarms?.backlogJobs);
  const evaluationMinutes =
    given.evaluationMinutes ?? defaults.alarms?.evaluationMinutes ?? DEFAULT_POOL_ALARM_EVALUATION_MINUTES;
  const problem = poolAlarmProblem('evaluationMinutes', evaluationMinutes);
  if (problem) throw poolError(name, 'alarms.evaluationMinutes', problem);
  return { queuedToRunningP99Seconds, backlogJobs, evaluationMinutes };
}

/**
 * Validates the pools a construct is given and applies their defaults. Every error names the pool and
 * the field and says how to fix it (a {@link DeploymentConfigError} on the `pools` property).
 */
export function resolvePools(pools: readonly JitRunnersPool[], defaults: PoolDefaults): ResolvedPool[] {
  if (pools.length === 0) {
    throw new DeploymentConfigError('pools', 'needs at least one pool; leave pools out for the single default pool');
  }
  const seen = new Set<string>();
  const resolved = pools.map((pool, index): ResolvedPool => {
    const name = String(pool.name ?? '');
    if (!POOL_NAME.test(name)) {
      throw new DeploymentConfigError(
        'pools',
        `pool at index ${index}: name "${name}" must be 1-32 characters of a-z 0-9 - (it names the pool's resources)`,
      );
    }
    if (seen.has(name)) throw poolError(name, 'name', 'is used by two pools; give each pool its own name');
    seen.add(name);
    if (pool.codebuild !== undefined && pool.ec2 !== undefined) {
      throw poolError(
        name,
        'codebuild/ec2',
        'set exactly one of codebuild or ec2; split it into two pools to have both',
      );
    }
    if (pool.codebuild === undefined && pool.ec2 === undefined) {
      throw poolError(name, 'codebuild/ec2', 'set where its runners run: codebuild: {…} or ec2: { subnetIds: […] }');
    }
    if ((pool.labels ?? []).some((l) => l.includes(','))) {
      throw poolError(name, 'labels', 'a label cannot contain a comma; list each label separately');
    }
    const labels = normaliseLabels(pool.labels ?? []);
    if (labels.length === 0) throw poolError(name, 'labels', 'needs at least one label, e.g. ["self-hosted", "linux"]');
    if (pool.maxRunners !== undefined && (!Number.isInteger(pool.maxRunners) || pool.maxRunners < 1)) {
      throw poolError(
        name,
        'maxRunners',
        `must be a whole number of at least 1, or left out for no cap (got ${pool.maxRunners})`,
      );
    }
    const platform =
      pool.codebuild !== undefined
        ? resolveCodeBuild(name, pool.codebuild, defaults)
        : resolveEc2(name, pool.ec2 ?? { subnetIds: [] });
    const otherArch = platform.architecture === 'x64' ? 'arm64' : 'x64';
    if (labels.includes(otherArch)) {
      throw poolError(
        name,
        'labels',
        `contains "${otherArch}" but the pool's runners are ${platform.architecture}; set ${platform.kind}.architecture or drop the label`,
      );
    }
    checkVersion(
      name,
      pool.runnerVersion ?? defaults.runnerVersion,
      platform.architecture,
      defaults,
      pool.runnerVersion === undefined ? "runnerVersion (the deployment's)" : 'runnerVersion',
    );
    const warm = resolveWarm(pool, name);
    if (warm !== undefined && platform.kind === 'codebuild') {
      const total = platform.timeoutMinutes + Math.ceil(warm.maxIdleMinutes);
      if (total > CODEBUILD_MAX_TIMEOUT_MINUTES) {
        throw poolError(
          name,
          'warm.maxIdleMinutes',
          `the build timeout would be ${total} minutes (timeoutMinutes ${platform.timeoutMinutes} + maxIdleMinutes), more than CodeBuild's ${CODEBUILD_MAX_TIMEOUT_MINUTES}; lower either`,
        );
      }
    }
    return {
      ...platform,
      name,
      labels,
      warm,
      alarms: resolvePoolAlarms(pool, name, defaults),
      maxRunners: pool.maxRunners,
      runnerVersion: pool.runnerVersion,
      tags: checkTags(name, pool.tags),
      runnerPolicies: [...(pool.runnerPolicies ?? [])],
    } as ResolvedPool;
  });
  resolved.forEach((pool, index) => {
    const by = shadowedBy(
      resolved.map((p) => ({ name: p.name, labels: p.labels, launcher: p.kind })),
      index,
    );
    if (by) {
      throw poolError(
        pool.name,
        'labels',
        `can never be chosen: pool "${by.name}" is listed earlier and has all of its labels; list "${pool.name}" first or give it a label "${by.name}" lacks`,
      );
    }
  });
  return resolved;
}

/**
 * Pools from CDK context: `-c pools='[…]'` (JSON text) or `-c poolsFile=pools.json` (a JSON file, read
 * by the caller). The same shapes as {@link JitRunnersPool}; `runnerPolicies` are managed policy ARNs.
 */
export function poolsFromJson(value: unknown, source: string): JitRunnersPool[] {
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch (error) {
      throw new DeploymentConfigError(
        source,
        `is not valid JSON (${error instanceof Error ? error.message : String(error)}); give a JSON array of pools`,
      );
    }
  }
  if (!Array.isArray(list)) throw new DeploymentConfigError(source, 'must be a JSON array of pools');
  list.forEach((p: unknown, index) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new DeploymentConfigError(
        source,
        `entry ${index} must be an object with name, labels and codebuild or ec2`,
      );
    }
    const policies = (p as { runnerPolicies?: unknown }).runnerPolicies;
    if (policies !== undefined && (!Array.isArray(policies) || policies.some((x) => typeof x !== 'string'))) {
      throw new DeploymentConfigError(source, `entry ${index}: runnerPolicies must be a list of managed policy ARNs`);
    }
  });
  return list as JitRunnersPool[];
}
