import * as z from 'zod/mini';
import { ConfigError } from '../domain/errors.ts';
import { normaliseLabels } from '../domain/labels.ts';
import { LauncherKind } from '../domain/launcher-kind.ts';
import { DEFAULT_POOL_NAME, type RunnerPool, shadowedBy } from '../domain/runner-pool.ts';
import { compareVersions, isExactVersion } from '../domain/runner-version.ts';
import { VersionMode } from '../domain/version-policy.ts';
import { DEFAULT_WARM_MAX_IDLE_MINUTES, largestWarmSize, type WarmSettings, WEEK_DAYS } from '../domain/warm-pool.ts';
import { EnvName } from './env-names.ts';
// Loads the settings table, which also sets zod's English messages before any pool is parsed.
import { reason } from './settings.ts';

/**
 * `RUNNER_POOLS` / `RUNNER_POOLS_FILE` parsed into typed pools (docs/design.md "Configuration", Pools).
 * Each pool is parsed on its own so a failure names the pool and the field, on one line.
 */

const POOL_FIELDS = [
  'name',
  'labels',
  'launcher',
  'runnerDir',
  'maxRunners',
  'runnerVersion',
  'codebuild',
  'ec2',
  'warm',
] as const;
const WARM_FIELDS = ['size', 'schedule', 'maxIdleMinutes'] as const;
const CODEBUILD_FIELDS = ['projectName'] as const;
const EC2_FIELDS = ['launchTemplateId', 'instanceTypes', 'subnetIds', 'spot'] as const;
const LAUNCHERS = Object.values(LauncherKind);

/** A `codebuild` pool's own resources: the CodeBuild project its runners build in. */
export interface CodeBuildPoolResources {
  readonly projectName: string;
}

/** An `ec2` pool's own resources: where and how its runner instances start. */
export interface Ec2PoolResources {
  /** The launch template (AMI, instance profile, user data); also the value of the instances' fleet tag. */
  readonly launchTemplateId: string;
  /** Tried in order; empty: the launch template's own type. */
  readonly instanceTypes: readonly string[];
  /** Empty: the launch template's network settings. */
  readonly subnetIds: readonly string[];
  /** Spot first (across `instanceTypes`), then on-demand. */
  readonly spot: boolean;
}

/**
 * A pool as the configuration holds it: the domain's {@link RunnerPool} plus the AWS resources the
 * stack made for it (`codebuild` or `ec2`, matching its launcher). A codebuild/ec2 pool without them
 * uses the single-launcher variables (`CODEBUILD_PROJECT_NAME`, `EC2_*`), as before pools.
 */
export interface ConfiguredPool extends RunnerPool {
  readonly codebuild?: CodeBuildPoolResources;
  readonly ec2?: Ec2PoolResources;
}

/** Each entry once: a type or subnet listed twice is a mistake (a spot list would try it twice). */
const distinct = (list: readonly string[]) => new Set(list).size === list.length;

const codebuildSchema = z.strictObject({
  projectName: z
    .string()
    .check(
      z.regex(
        /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/,
        'must be a CodeBuild project name (2-255 of A-Z a-z 0-9 - _, not starting with - or _)',
      ),
    ),
});

const ec2Schema = z.strictObject({
  launchTemplateId: z.string().check(z.regex(/^lt-[0-9a-f]{1,32}$/, 'must be a launch template id (lt- then hex)')),
  instanceTypes: z.optional(
    z
      .array(z.string().check(z.regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'must be an instance type such as m7g.large')))
      .check(z.refine(distinct, 'lists an instance type twice')),
  ),
  subnetIds: z.optional(
    z
      .array(z.string().check(z.regex(/^subnet-[0-9a-f]{1,32}$/, 'must be a subnet id (subnet- then hex)')))
      .check(z.refine(distinct, 'lists a subnet twice')),
  ),
  spot: z.optional(z.boolean()),
});

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** `mon-fri`, `sat,sun`, `mon`, `daily` → day numbers (0 = Sunday); undefined when not a day list. */
export function parseDays(text: string): number[] | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'daily' || t === 'every day') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const part of t.split(',')) {
    const [from, to, extra] = part.trim().split('-');
    const a = WEEK_DAYS.indexOf(from as (typeof WEEK_DAYS)[number]);
    const b = to === undefined ? a : WEEK_DAYS.indexOf(to as (typeof WEEK_DAYS)[number]);
    if (a < 0 || b < 0 || extra !== undefined) return undefined;
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort();
}

const validTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

const warmSize = z.number().check(z.int('must be a whole number'), z.minimum(0, 'must be 0 or more'));
const warmWindowSchema = z.strictObject({
  days: z.optional(
    z.string().check(z.refine((d) => parseDays(d) !== undefined, 'must be days such as mon-fri, sat,sun or daily')),
  ),
  from: z.string().check(z.regex(HH_MM, 'must be a time HH:MM (24 hours)')),
  to: z.string().check(z.regex(HH_MM, 'must be a time HH:MM (24 hours)')),
  size: warmSize,
  timeZone: z.optional(z.string().check(z.refine(validTimeZone, 'must be an IANA time zone such as Europe/Paris'))),
});
const warmSchema = z.union([
  warmSize,
  z.strictObject({
    size: warmSize,
    schedule: z.optional(z.array(warmWindowSchema)),
    maxIdleMinutes: z.optional(
      z.number().check(z.minimum(1, 'must be at least 1'), z.maximum(24 * 60, 'must be at most 1440 (a day)')),
    ),
  }),
]);

function warmSettings(raw: z.output<typeof warmSchema>): WarmSettings {
  if (typeof raw === 'number') {
    return { size: raw, schedule: [], maxIdleMs: DEFAULT_WARM_MAX_IDLE_MINUTES * 60_000 };
  }
  return {
    size: raw.size,
    schedule: (raw.schedule ?? []).map((w) => ({
      days: parseDays(w.days ?? 'daily') ?? [],
      fromMinute: minuteOf(w.from),
      toMinute: minuteOf(w.to),
      size: w.size,
      timeZone: w.timeZone ?? 'UTC',
    })),
    maxIdleMs: (raw.maxIdleMinutes ?? DEFAULT_WARM_MAX_IDLE_MINUTES) * 60_000,
  };
}

const poolSchema = z.strictObject({
  name: z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, 'must be 1-32 characters of a-z 0-9 -')),
  labels: z
    .pipe(
      // A comma would split the label in `config.sh --labels` and in the JIT config's label list.
      z.array(z.string().check(z.refine((l) => !l.includes(','), 'a label cannot contain a comma'))),
      z.transform((labels: string[]) => normaliseLabels(labels)),
    )
    .check(z.refine((l) => l.length > 0, 'needs at least one label')),
  launcher: z.optional(z.enum(LAUNCHERS)),
  runnerDir: z.optional(z.string().check(z.minLength(1, 'must be a path'))),
  maxRunners: z.optional(z.number().check(z.int('must be a whole number'), z.minimum(1, 'must be at least 1'))),
  runnerVersion: z.optional(
    z
      .string()
      .check(
        z.refine(
          (v) => v === VersionMode.auto || isExactVersion(v),
          `must be an exact version such as 2.330.0, or ${VersionMode.auto}`,
        ),
      ),
  ),
  codebuild: z.optional(codebuildSchema),
  ec2: z.optional(ec2Schema),
  warm: z.optional(warmSchema),
});

/** What a pool takes from the other variables when it leaves a field out. */
export interface PoolDefaults {
  /** `LAUNCHER` (or its mode default). */
  readonly launcher: LauncherKind;
  /** `RUNNER_DIR`. */
  readonly runnerDir: string | undefined;
  /** `RUNNER_VERSION` (exact): with `auto`, the version runners start from. */
  readonly runnerVersion: string;
  /** `RUNNER_VERSION=auto`: a pool without its own exact `runnerVersion` follows the tracked version. */
  readonly tracksRunnerVersion: boolean;
  /** `RUNNER_VERSION_FLOOR`: no pool may pin below it. */
  readonly versionFloor: string;
  /** A GitHub App in local mode: a `local` pool needs a runner folder (the sandbox has its sample runner). */
  readonly requireRunnerDir: boolean;
  /**
   * In AWS: whether the single-launcher variables name a project (`CODEBUILD_PROJECT_NAME`) and a launch
   * template (`EC2_LAUNCH_TEMPLATE_ID`) for a codebuild/ec2 pool without its own `codebuild`/`ec2`.
   * Undefined (local mode): not checked, since local mode starts every runner as a local process.
   */
  readonly launcherResources?: { readonly codebuild: boolean; readonly ec2: boolean };
}

/** The pool a deployment without `RUNNER_POOLS` has: the fleet of `RUNNER_LABELS`, `LAUNCHER`, `RUNNER_DIR`. */
export function defaultPool(labels: readonly string[], defaults: PoolDefaults): ConfiguredPool {
  return withDefaults({ name: DEFAULT_POOL_NAME, labels: [...labels] }, defaults);
}

function withDefaults(pool: z.output<typeof poolSchema>, defaults: PoolDefaults): ConfiguredPool {
  const runnerDir = pool.runnerDir ?? defaults.runnerDir;
  const ec2 = pool.ec2;
  const pinned = pool.runnerVersion === VersionMode.auto ? undefined : pool.runnerVersion;
  const tracks =
    pool.runnerVersion === VersionMode.auto || (pool.runnerVersion === undefined && defaults.tracksRunnerVersion);
  return {
    name: pool.name,
    labels: pool.labels,
    launcher: pool.launcher ?? defaults.launcher,
    ...(runnerDir !== undefined && { runnerDir }),
    ...(pool.maxRunners !== undefined && { maxRunners: pool.maxRunners }),
    // An exact pin of the pool wins; `auto` (its own, or RUNNER_VERSION's) follows the tracked version from
    // the deployment's start version.
    runnerVersion: pinned ?? defaults.runnerVersion,
    ...(tracks && { tracksRunnerVersion: true }),
    ...(pool.codebuild && { codebuild: { projectName: pool.codebuild.projectName } }),
    ...(pool.warm !== undefined && { warm: warmSettings(pool.warm) }),
    ...(ec2 && {
      ec2: {
        launchTemplateId: ec2.launchTemplateId,
        instanceTypes: ec2.instanceTypes ?? [],
        subnetIds: ec2.subnetIds ?? [],
        spot: ec2.spot ?? false,
      },
    }),
  };
}

/** The field a schema failure is about (`labels[2]`), and what is wrong with it. */
function fieldProblem(error: z.core.$ZodError): { field: string; problem: string } {
  // An unknown field first: a misspelt `projectName` also makes `projectName` missing, and the spelling is the fix.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  const path = issue?.path ?? [];
  const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  if (issue?.code === 'unrecognized_keys') {
    const key = String(issue.keys[0]);
    if (field === 'warm')
      return { field: `warm.${key}`, problem: `is not a field of warm (${WARM_FIELDS.join(', ')})` };
    if (field === 'codebuild' || field === 'ec2') {
      const known = field === 'codebuild' ? CODEBUILD_FIELDS : EC2_FIELDS;
      return { field: `${field}.${key}`, problem: `is not a field of ${field} (${known.join(', ')})` };
    }
    return { field: key, problem: `is not a pool field (${POOL_FIELDS.join(', ')})` };
  }
  const problem = reason(error);
  return { field: field || 'pool', problem: /received undefined$/.test(problem) ? 'is required' : problem };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses the pool list (already decoded from JSON or YAML). `variable` is the name errors start with:
 * `RUNNER_POOLS: pool "arm64" (index 1): labels: needs at least one label`.
 */
export function parsePools(list: unknown, variable: string, defaults: PoolDefaults): ConfiguredPool[] {
  if (!Array.isArray(list)) throw new ConfigError(variable, 'must be a list (JSON array) of pools');
  if (list.length === 0) throw new ConfigError(variable, 'needs at least one pool');

  const pools: ConfiguredPool[] = [];
  const indexOfName = new Map<string, number>();
  list.forEach((raw: unknown, index) => {
    const name = isRecord(raw) && typeof raw.name === 'string' ? raw.name : undefined;
    const which = name === undefined ? `pool at index ${index}` : `pool ${JSON.stringify(name)} (index ${index})`;
    const fail = (field: string, problem: string) => new ConfigError(variable, `${which}: ${field}: ${problem}`);

    if (!isRecord(raw)) throw new ConfigError(variable, `${which}: must be an object with name and labels`);
    const result = poolSchema.safeParse(raw);
    if (!result.success) {
      const { field, problem } = fieldProblem(result.error);
      throw fail(field, problem);
    }
    const pool = withDefaults(result.data, defaults);
    const earlier = indexOfName.get(pool.name);
    if (earlier !== undefined) throw fail('name', `is already the name of the pool at index ${earlier}`);
    indexOfName.set(pool.name, index);
    if (pool.runnerVersion !== undefined && compareVersions(pool.runnerVersion, defaults.versionFloor) < 0) {
      throw fail(
        'runnerVersion',
        `${pool.runnerVersion} is below the minimum ${defaults.versionFloor} GitHub accepts for registration`,
      );
    }
    if (defaults.requireRunnerDir && pool.launcher === LauncherKind.local && pool.runnerDir === undefined) {
      throw fail(
        'runnerDir',
        `is required with a GitHub App and the local launcher (or set ${EnvName.runnerDir}): point it at an extracted actions-runner directory`,
      );
    }
    checkLauncherResources(pool, defaults, fail);
    checkWarm(pool, fail);
    pools.push(pool);
  });

  pools.forEach((pool, index) => {
    const by = shadowedBy(pools, index);
    if (by) {
      throw new ConfigError(
        variable,
        `pool ${JSON.stringify(pool.name)} can never be chosen: pool ${JSON.stringify(by.name)} (listed earlier) covers all its labels`,
      );
    }
  });
  return pools;
}

/** Warm runners count against `maxRunners`: a pool cannot ask for more warm ones than it may run. */
function checkWarm(pool: ConfiguredPool, fail: (field: string, problem: string) => ConfigError): void {
  const warm = pool.warm;
  if (!warm) return;
  warm.schedule.forEach((w, i) => {
    if (w.fromMinute === w.toMinute) throw fail(`warm.schedule[${i}].to`, 'must differ from from');
  });
  if (pool.maxRunners === undefined) return;
  const largest = largestWarmSize(warm);
  if (largest > pool.maxRunners) {
    const where =
      warm.size === largest ? 'warm' : `warm.schedule[${warm.schedule.findIndex((w) => w.size === largest)}].size`;
    throw fail(
      where,
      `${largest} warm runners is more than maxRunners (${pool.maxRunners}): warm runners count against it`,
    );
  }
}

/**
 * `codebuild` and `ec2` belong to a pool of that launcher only; in AWS a codebuild/ec2 pool needs its own
 * resources or the single-launcher variable that names them.
 */
function checkLauncherResources(
  pool: ConfiguredPool,
  defaults: PoolDefaults,
  fail: (field: string, problem: string) => ConfigError,
): void {
  for (const kind of [LauncherKind.codebuild, LauncherKind.ec2] as const) {
    if (pool[kind] !== undefined && pool.launcher !== kind) {
      throw fail(kind, `is only for a pool with launcher ${kind} (this pool's launcher is ${pool.launcher})`);
    }
  }
  const known = defaults.launcherResources;
  if (known === undefined) return;
  if (pool.launcher === LauncherKind.local) {
    throw fail(
      'launcher',
      `must be codebuild or ec2 in AWS (the local launcher runs processes on this machine; or set ${EnvName.launcher})`,
    );
  }
  if (pool.launcher === LauncherKind.codebuild && pool.codebuild === undefined && !known.codebuild) {
    throw fail(
      'codebuild',
      `is required with launcher codebuild: { "projectName": … } (or set ${EnvName.codebuildProjectName})`,
    );
  }
  if (pool.launcher === LauncherKind.ec2 && pool.ec2 === undefined && !known.ec2) {
    throw fail(
      'ec2',
      `is required with launcher ec2: { "launchTemplateId": … } (or set ${EnvName.ec2LaunchTemplateId})`,
    );
  }
}

/** The first line of a parser's message (YAML's add a code frame below it). */
const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]?.replace(/:$/, '') ?? '';

/**
 * Decodes `RUNNER_POOLS` (JSON text), or the value of the `RUNNER_POOLS_PARAMETER` parameter: then
 * `source` is the parameter's name, which the message names.
 */
export function decodePoolsJson(text: string, variable: string, source?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const what = source === undefined ? 'is not valid JSON' : `${source} is not valid JSON`;
    throw new ConfigError(variable, `${what} (${firstLine(error)})`);
  }
}

/** Reads and decodes `RUNNER_POOLS_FILE`: JSON for `.json`, YAML otherwise (YAML also reads JSON). */
export function readPoolsFile(
  path: string,
  readFile: (path: string) => string,
  variable: string,
  parseYaml: ((text: string) => unknown) | undefined,
): unknown {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = isRecord(error) && typeof error.code === 'string' ? ` (${error.code})` : '';
    throw new ConfigError(variable, `cannot read ${path}${code}`);
  }
  if (/\.json$/i.test(path)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ConfigError(variable, `${path} is not valid JSON (${firstLine(error)})`);
    }
  }
  // The YAML parser comes from the local root (cli/main.ts): the Lambda bundles, which never read a
  // pools file, then do not carry it (about 130 KB in every bundle).
  if (!parseYaml) throw new ConfigError(variable, `${path}: only .json files can be read here`);
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ConfigError(variable, `${path} is not valid YAML (${firstLine(error)})`);
  }
}
