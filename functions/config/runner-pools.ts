import * as z from 'zod/mini';
import { ConfigError } from '../domain/errors.ts';
import { normaliseLabels } from '../domain/labels.ts';
import { LauncherKind } from '../domain/launcher-kind.ts';
import { DEFAULT_POOL_NAME, type RunnerPool, shadowedBy } from '../domain/runner-pool.ts';
import { compareVersions, isExactVersion } from '../domain/runner-version.ts';
import { EnvName } from './env-names.ts';
// Loads the settings table, which also sets zod's English messages before any pool is parsed.
import { reason } from './settings.ts';

/**
 * `RUNNER_POOLS` / `RUNNER_POOLS_FILE` parsed into typed pools (docs/design.md "Configuration", Pools).
 * Each pool is parsed on its own so a failure names the pool and the field, on one line.
 */

const POOL_FIELDS = ['name', 'labels', 'launcher', 'runnerDir', 'maxRunners', 'runnerVersion'] as const;
const LAUNCHERS = Object.values(LauncherKind);

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
  runnerVersion: z.optional(z.string().check(z.refine(isExactVersion, 'must be an exact version such as 2.330.0'))),
});

/** What a pool takes from the other variables when it leaves a field out. */
export interface PoolDefaults {
  /** `LAUNCHER` (or its mode default). */
  readonly launcher: LauncherKind;
  /** `RUNNER_DIR`. */
  readonly runnerDir: string | undefined;
  /** `RUNNER_VERSION`. */
  readonly runnerVersion: string;
  /** `RUNNER_VERSION_FLOOR`: no pool may pin below it. */
  readonly versionFloor: string;
  /** A GitHub App in local mode: a `local` pool needs a runner folder (the sandbox has its sample runner). */
  readonly requireRunnerDir: boolean;
}

/** The pool a deployment without `RUNNER_POOLS` has: the fleet of `RUNNER_LABELS`, `LAUNCHER`, `RUNNER_DIR`. */
export function defaultPool(labels: readonly string[], defaults: PoolDefaults): RunnerPool {
  return withDefaults({ name: DEFAULT_POOL_NAME, labels: [...labels] }, defaults);
}

function withDefaults(pool: z.output<typeof poolSchema>, defaults: PoolDefaults): RunnerPool {
  const runnerDir = pool.runnerDir ?? defaults.runnerDir;
  return {
    name: pool.name,
    labels: pool.labels,
    launcher: pool.launcher ?? defaults.launcher,
    ...(runnerDir !== undefined && { runnerDir }),
    ...(pool.maxRunners !== undefined && { maxRunners: pool.maxRunners }),
    runnerVersion: pool.runnerVersion ?? defaults.runnerVersion,
  };
}

/** The field a schema failure is about (`labels[2]`), and what is wrong with it. */
function fieldProblem(error: z.core.$ZodError): { field: string; problem: string } {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    return { field: String(issue.keys[0]), problem: `is not a pool field (${POOL_FIELDS.join(', ')})` };
  }
  const path = issue?.path ?? [];
  const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  const problem = reason(error);
  return { field: field || 'pool', problem: /received undefined$/.test(problem) ? 'is required' : problem };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses the pool list (already decoded from JSON or YAML). `variable` is the name errors start with:
 * `RUNNER_POOLS: pool "arm64" (index 1): labels: needs at least one label`.
 */
export function parsePools(list: unknown, variable: string, defaults: PoolDefaults): RunnerPool[] {
  if (!Array.isArray(list)) throw new ConfigError(variable, 'must be a list (JSON array) of pools');
  if (list.length === 0) throw new ConfigError(variable, 'needs at least one pool');

  const pools: RunnerPool[] = [];
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

/** The first line of a parser's message (YAML's add a code frame below it). */
const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]?.replace(/:$/, '') ?? '';

/** Decodes `RUNNER_POOLS` (JSON text). */
export function decodePoolsJson(text: string, variable: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(variable, `is not valid JSON (${firstLine(error)})`);
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
