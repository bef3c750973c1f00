import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { isRepositoryEntry, isValidAllowlistEntry } from '../domain/allowlist.ts';
import { DEFAULT_BREAKER_MAX_BACKOFF_MS, DEFAULT_BREAKER_THRESHOLD } from '../domain/breaker-policy.ts';
import { parseLabelList } from '../domain/labels.ts';
import { DEFAULT_RUNNER_NAME_PREFIX } from '../domain/runner-name.ts';
import { DEFAULT_RUNNER_VERSION, DEFAULT_RUNNER_VERSION_FLOOR, isExactVersion } from '../domain/runner-version.ts';
import { VersionMode } from '../domain/version-policy.ts';
import { EnvName } from './env-names.ts';

/**
 * The settings table: every environment variable of the configuration contract, once. `parseConfig`
 * (functions/config/config.ts), the CDK props and the function environment of the stack
 * (cdk/deployment-config.ts) and the README configuration table (functions/config/settings-doc.ts) are
 * all derived from it; see docs/design.md "Configuration".
 *
 * The table owns every default. Where the domain keeps a named default of its own (runner name
 * prefix, runner versions, breaker threshold and window), the row references that constant instead of
 * repeating the value; the job budgets (attempts, thefts, heals, workarounds) have no domain default:
 * the domain takes them from the configuration.
 */

// Why zod/mini: the full zod build is ~450 KB minified and not tree-shakeable, which every Lambda
// bundle paid at cold start; mini is the same engine with functional checks (~15 KB). It ships no
// messages by default, so the English locale is loaded to keep the messages users see unchanged.
z.config(en());

/** How a deployment passes a setting: the CDK prop (also its `-c` context key) and the prop's type. */
export interface DeployBinding {
  readonly prop: string;
  /** `list`: a string array prop (`-c key=a,b`), joined with commas into the variable. */
  readonly type: 'string' | 'number' | 'list';
  /**
   * The deployment's default where it differs from the functions' own (`{architecture}` is replaced
   * by the deployment's architecture).
   */
  readonly default?: string;
  /** The values a deployment may choose where fewer than the functions accept (LAUNCHER: no `local`). */
  readonly values?: readonly string[];
}

export interface SettingSpec<S extends z.ZodMiniType = z.ZodMiniType> {
  /** Parses the raw variable (a string, or undefined when unset); a blank value counts as unset. */
  readonly schema: S;
  /** The value applied when unset or blank, spelt as the variable would be; undefined: no default. */
  readonly default: string | undefined;
  /** README wording of the default where the raw value does not tell it. */
  readonly defaultDoc?: string;
  /** Accepted values, for people; the schema is what enforces them. */
  readonly range: string;
  /** Whole-number settings: the bounds (the deployment's messages quote them). */
  readonly bounds?: { readonly min: number; readonly max: number };
  /** One line: what it does. */
  readonly doc: string;
  /**
   * Who sets it beside local mode: `deployment` (a CDK prop, see {@link deploy}), `stack` (the stack,
   * from its own resources: names, ARNs, launcher wiring) or `local` (local mode and the CLI only).
   */
  readonly source: 'deployment' | 'stack' | 'local';
  /** Set exactly when `source` is `deployment`: the stack passes it to every function. */
  readonly deploy?: DeployBinding;
  /** AWS wiring: left out of the README table (docs/deploy.md lists it). */
  readonly wiring?: true;
}

// ── schema builders ──

const blank = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim() === '');
/** zod/mini has no `preprocess`: the same thing is a transform piped into the schema. */
const preprocess = <T extends z.ZodMiniType>(fn: (value: unknown) => unknown, schema: T) =>
  z.pipe(z.transform(fn), schema);
/** Blank or unset: the default (as the variable would spell it) is parsed instead. */
const withDefault = <T extends z.ZodMiniType>(inner: T, value: string) =>
  preprocess((v) => (blank(v) ? value : v), inner);
/** Blank or unset: undefined. */
const optional = <T extends z.ZodMiniType>(inner: T) =>
  preprocess((v) => (blank(v) ? undefined : v), z.optional(inner));

const int = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const intRange = (min: number, max: number) => ({
  range: max === Number.MAX_SAFE_INTEGER ? `whole number ≥ ${min}` : `${min}–${max}`,
  bounds: { min, max },
});
const enumRange = (values: readonly string[]) => values.map((v) => `\`${v}\``).join(', ');
const exactVersion = z.string().check(z.refine(isExactVersion, 'must be an exact version such as 2.330.0'));
/** `auto` (any case, spaces around allowed) or an exact version. */
const versionOrAuto = preprocess(
  (v) => (typeof v === 'string' && v.trim().toLowerCase() === VersionMode.auto ? VersionMode.auto : v),
  z
    .string()
    .check(
      z.refine(
        (v) => v === VersionMode.auto || isExactVersion(v),
        `must be an exact version such as 2.330.0, or ${VersionMode.auto}`,
      ),
    ),
);
/** A plain decimal number (`7`, `0.5`, `.0001`): no exponent, no sign, no hex, so a typo is not read as a number. */
const decimal = (min: number, max: number) =>
  preprocess(
    (v) => (typeof v === 'string' && /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : v),
    z
      .number('must be a number such as 7 or 0.5')
      .check(z.refine((n) => n >= min && n <= max, `must be a number from ${min} to ${max} (fractions allowed)`)),
  );
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
const seconds = (ms: number) => String(ms / 1000);

const SCOPES = ['repo', 'org'] as const;
const BASELINE_POLICIES = ['on-error', 'proactive', 'off'] as const;
const ON_OFF = ['off', 'on'] as const;
const LAUNCHERS = ['local', 'codebuild', 'ec2'] as const;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** Keyed like {@link EnvName}: `SETTINGS.runnerScope` is the row of `EnvName.runnerScope`. */
export const SETTINGS = {
  githubAppId: {
    schema: optional(int(1, Number.MAX_SAFE_INTEGER)),
    default: undefined,
    defaultDoc: 'unset: local mode runs the sandbox',
    ...intRange(1, Number.MAX_SAFE_INTEGER),
    doc: 'GitHub App id',
    source: 'deployment',
    // Unset in a deployment: the stack asks for the `GitHubAppId` CloudFormation parameter instead.
    deploy: { prop: 'appId', type: 'number' },
  },
  githubAppPrivateKey: {
    schema: optional(z.string()),
    default: undefined,
    defaultDoc: '—',
    range: 'PEM text',
    doc: 'App private key as PEM text (PKCS#1 as GitHub issues it, or PKCS#8; `\\n` escapes allowed)',
    source: 'local',
  },
  githubAppPrivateKeyFile: {
    schema: optional(z.string()),
    default: undefined,
    defaultDoc: '—',
    range: 'path',
    doc: 'the App private key as a path to a PEM file, instead of `GITHUB_APP_PRIVATE_KEY`',
    source: 'local',
  },
  githubWebhookSecret: {
    schema: withDefault(commaList, ''),
    default: '',
    defaultDoc: '— (generated in the sandbox)',
    range: 'comma list',
    doc: 'webhook secret; a comma list allows rotation (any one verifies)',
    source: 'local',
  },
  githubApiUrl: {
    schema: withDefault(httpUrl, 'https://api.github.com'),
    default: 'https://api.github.com',
    range: 'http(s) URL',
    doc: 'REST API base (GHES: `https://HOST/api/v3`)',
    source: 'deployment',
    deploy: { prop: 'githubApiUrl', type: 'string' },
  },
  githubServerUrl: {
    schema: withDefault(httpUrl, 'https://github.com'),
    default: 'https://github.com',
    range: 'http(s) URL',
    doc: 'web base for `config.sh --url`',
    source: 'deployment',
    deploy: { prop: 'githubServerUrl', type: 'string' },
  },
  runnerScope: {
    schema: withDefault(z.enum(SCOPES), 'repo'),
    default: 'repo',
    range: enumRange(SCOPES),
    doc: '`repo` or `org` registration',
    source: 'deployment',
    deploy: { prop: 'scope', type: 'string' },
  },
  runnerLabels: {
    schema: withDefault(
      z.pipe(z.string(), z.transform(parseLabelList)).check(z.refine((l) => l.length > 0, 'needs at least one label')),
      'self-hosted,linux,x64',
    ),
    default: 'self-hosted,linux,x64',
    range: 'comma list, at least one',
    doc: 'labels of the one pool `default` when RUNNER_POOLS is unset: a job is served when all of its labels are in this set',
    source: 'deployment',
    deploy: { prop: 'labels', type: 'list', default: 'self-hosted,linux,{architecture}' },
  },
  runnerGroupId: {
    schema: withDefault(int(1, Number.MAX_SAFE_INTEGER), '1'),
    default: '1',
    ...intRange(1, Number.MAX_SAFE_INTEGER),
    doc: 'runner group for JIT configs',
    source: 'deployment',
    deploy: { prop: 'runnerGroupId', type: 'number' },
  },
  runnerVersion: {
    schema: withDefault(versionOrAuto, DEFAULT_RUNNER_VERSION),
    default: DEFAULT_RUNNER_VERSION,
    range: 'exact version, ≥ the floor; or `auto`',
    doc: 'exact actions/runner version (wins; self-update asked off), or `auto`: follow releases (Runner version policy)',
    source: 'deployment',
    deploy: { prop: 'runnerVersion', type: 'string' },
  },
  runnerFallbackVersion: {
    schema: optional(exactVersion),
    default: undefined,
    range: 'exact version, ≥ the floor',
    doc: 'version used after a version-class failure',
    source: 'deployment',
    deploy: { prop: 'runnerFallbackVersion', type: 'string' },
  },
  runnerVersionFloor: {
    schema: withDefault(exactVersion, DEFAULT_RUNNER_VERSION_FLOOR),
    default: DEFAULT_RUNNER_VERSION_FLOOR,
    range: 'exact version',
    doc: "start-up refuses pins below this (GitHub's registration minimum)",
    source: 'deployment',
    deploy: { prop: 'runnerVersionFloor', type: 'string' },
  },
  runnerVersionSoakDays: {
    // Days, fractions allowed, so a test can soak for seconds (0.0001 days ≈ 9 s) with the same variable.
    // Up to 30: a longer soak could never be waited out, since a release is adopted before GitHub's 30-day
    // cut-off whatever the soak.
    schema: withDefault(decimal(0, 30), '7'),
    default: '7',
    range: '0–30, fractions (0.0001 ≈ 9 s)',
    doc: "`auto`: a release is adopted once this many days old, and in any case before GitHub's 30-day cut-off",
    source: 'deployment',
    deploy: { prop: 'runnerVersionSoakDays', type: 'number' },
  },
  runnerVersionCanaryPercent: {
    // At least 1: a canary that serves no job would be promoted untried when its period ends. 100 keeps the
    // comparison (against the version it replaces, over the same window) without a share.
    schema: withDefault(int(1, 100), '10'),
    default: '10',
    ...intRange(1, 100),
    doc: '`auto`: percent of jobs a newly adopted version serves first, until it is promoted or rolled back',
    source: 'deployment',
    deploy: { prop: 'runnerVersionCanaryPercent', type: 'number' },
  },
  runnerReleasesUrl: {
    schema: withDefault(httpUrl, 'https://api.github.com/repos/actions/runner/releases'),
    default: 'https://api.github.com/repos/actions/runner/releases',
    range: 'http(s) URL',
    doc: "`auto`: where actions/runner releases are listed (GitHub's response shape), for GHES or a mirror",
    source: 'deployment',
    deploy: { prop: 'runnerReleasesUrl', type: 'string' },
  },
  baselinePolicy: {
    schema: withDefault(z.enum(BASELINE_POLICIES), 'on-error'),
    default: 'on-error',
    range: enumRange(BASELINE_POLICIES),
    doc: 'when the regular-runner workaround runs: after a metadata failure, ahead of time, or never',
    source: 'deployment',
    deploy: { prop: 'baselinePolicy', type: 'string' },
  },
  repoAllowlist: {
    schema: withDefault(
      z.pipe(
        commaList,
        z.array(z.string().check(z.refine(isValidAllowlistEntry, 'entries must be owner/repo or owner/*'))),
      ),
      '',
    ),
    default: '',
    defaultDoc: 'empty',
    range: 'comma list of `owner/repo`, `owner/*`',
    doc: 'repositories served; empty = all',
    source: 'deployment',
    deploy: { prop: 'allowlist', type: 'list' },
  },
  launcher: {
    schema: optional(z.enum(LAUNCHERS)),
    default: undefined,
    defaultDoc: '`local` in local mode',
    range: enumRange(LAUNCHERS),
    doc: 'where runners run',
    source: 'deployment',
    deploy: { prop: 'launcher', type: 'string', default: 'codebuild', values: ['codebuild', 'ec2'] },
  },
  runnerDir: {
    schema: optional(z.string()),
    default: undefined,
    defaultDoc: 'the sample runner in the sandbox',
    range: 'path',
    doc: 'local launcher: an extracted actions runner (`config.sh`, `run.sh`), copied per runner',
    source: 'local',
  },
  runnerPools: {
    // Raw JSON text: functions/config/runner-pools.ts parses it pool by pool, so an error names the pool.
    schema: optional(z.string()),
    default: undefined,
    defaultDoc: 'unset: one pool `default`',
    range: 'JSON array of pools',
    doc: 'runner pools in matching order: a job goes to the first whose labels include all of its own',
    source: 'local',
  },
  runnerPoolsFile: {
    schema: optional(z.string()),
    default: undefined,
    range: 'path (`.json`; else read as YAML)',
    doc: 'local mode: the pool list in a JSON or YAML file, instead of `RUNNER_POOLS`',
    source: 'local',
  },
  runnerPoolsParameter: {
    // The stack sets it instead of RUNNER_POOLS when the list does not fit Lambda's 4 KB environment;
    // the Lambda composition reads the parameter once per cold start (functions/composition/lambda-config.ts).
    schema: optional(
      z.string().check(z.regex(/^(arn:\S+|[A-Za-z0-9_.\-/]{1,2048})$/, 'must be an SSM parameter name or ARN')),
    ),
    default: undefined,
    range: 'SSM parameter name or ARN',
    doc: 'AWS only: SSM String parameter holding the `RUNNER_POOLS` JSON (a long list), read once per cold start',
    source: 'stack',
  },
  port: {
    schema: withDefault(int(0, 65535), '8080'),
    default: '8080',
    ...intRange(0, 65535),
    doc: 'local HTTP port (bound to 127.0.0.1)',
    source: 'local',
  },
  stateDir: {
    schema: withDefault(z.string(), '.jit-runners'),
    default: '.jit-runners',
    range: 'path',
    doc: 'local state: embedded store, runner copies, sandbox info',
    source: 'local',
  },
  dynamodbEndpoint: {
    schema: optional(httpUrl),
    default: undefined,
    range: 'http(s) URL',
    doc: 'use this DynamoDB(-compatible) endpoint instead of the embedded store',
    source: 'local',
  },
  tableName: {
    schema: withDefault(
      z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -')),
      'jit-runners',
    ),
    default: 'jit-runners',
    range: '3-255 of `A-Za-z0-9_.-`',
    doc: 'table name',
    source: 'stack',
  },
  runnerStartTimeoutSeconds: {
    schema: withDefault(int(1, 86_400), '120'),
    default: '120',
    ...intRange(1, 86_400),
    doc: 'a launched runner not seen working by then is classified and replaced',
    source: 'deployment',
    deploy: { prop: 'runnerStartTimeoutSeconds', type: 'number' },
  },
  baselineOnlineTimeoutSeconds: {
    schema: withDefault(int(1, 3_600), '60'),
    default: '60',
    ...intRange(1, 3_600),
    doc: "the workaround's regular runner must show online by then",
    source: 'deployment',
    deploy: { prop: 'baselineOnlineTimeoutSeconds', type: 'number' },
  },
  reconcileIntervalSeconds: {
    schema: withDefault(int(1, 86_400), '60'),
    default: '60',
    ...intRange(1, 86_400),
    doc: 'reconciler period (local timer; a deployment schedules it, in whole minutes)',
    source: 'deployment',
    deploy: { prop: 'reconcileIntervalSeconds', type: 'number' },
  },
  maxAttemptsPerJob: {
    schema: withDefault(int(1, 20), '3'),
    default: '3',
    ...intRange(1, 20),
    doc: 'runners minted for one job after failures (the first counts) before it fails with the reason',
    source: 'deployment',
    deploy: { prop: 'maxAttemptsPerJob', type: 'number' },
  },
  maxTheftsPerJob: {
    schema: withDefault(int(0, 100), '10'),
    default: '10',
    ...intRange(0, 100),
    doc: 'replacements of stolen runners (runners that ran another job of ours) per job; not failures',
    source: 'deployment',
    deploy: { prop: 'maxTheftsPerJob', type: 'number' },
  },
  maxWorkaroundsPerScope: {
    schema: withDefault(int(0, 20), '3'),
    default: '3',
    ...intRange(0, 20),
    doc: 'regular-runner workarounds per scope before its jobs fail',
    source: 'deployment',
    deploy: { prop: 'maxWorkaroundsPerScope', type: 'number' },
  },
  maxHealsPerJob: {
    schema: withDefault(int(1, 100), '10'),
    default: '10',
    ...intRange(1, 100),
    doc: 'failure-handling steps (retries, heals, relaunches) per job before it fails with the reason',
    source: 'deployment',
    deploy: { prop: 'maxHealsPerJob', type: 'number' },
  },
  breakerFailureThreshold: {
    schema: withDefault(int(1, 100), String(DEFAULT_BREAKER_THRESHOLD)),
    default: String(DEFAULT_BREAKER_THRESHOLD),
    ...intRange(1, 100),
    doc: 'consecutive 5xx for one scope that open its breaker',
    source: 'deployment',
    deploy: { prop: 'breakerFailureThreshold', type: 'number' },
  },
  breakerMaxBackoffSeconds: {
    schema: withDefault(int(1, 3_600), seconds(DEFAULT_BREAKER_MAX_BACKOFF_MS)),
    default: seconds(DEFAULT_BREAKER_MAX_BACKOFF_MS),
    ...intRange(1, 3_600),
    doc: "cap of the breaker's exponential, jittered window",
    source: 'deployment',
    deploy: { prop: 'breakerMaxBackoffSeconds', type: 'number' },
  },
  runnerNamePrefix: {
    schema: withDefault(
      z
        .string()
        .check(z.regex(/^[a-z][a-z0-9]{0,15}$/, 'must be 1-16 lower-case letters/digits starting with a letter')),
      DEFAULT_RUNNER_NAME_PREFIX,
    ),
    default: DEFAULT_RUNNER_NAME_PREFIX,
    range: '1-16 of `a-z0-9`, a letter first',
    doc: 'prefix of runner names (`<prefix>-<job id>-<attempt>`)',
    source: 'deployment',
    deploy: { prop: 'runnerNamePrefix', type: 'string' },
  },
  discoverQueuedJobs: {
    schema: withDefault(
      z.pipe(
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
      '',
    ),
    default: '',
    defaultDoc: 'empty (off)',
    range: 'comma list of `owner/repo`',
    doc: 'repositories whose queued jobs the reconciler also finds in the Actions API (missed webhooks)',
    source: 'deployment',
    deploy: { prop: 'discoverQueuedJobs', type: 'list' },
  },
  failureCheckRuns: {
    schema: withDefault(
      preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(ON_OFF)),
      'off',
    ),
    default: 'off',
    range: enumRange(ON_OFF),
    doc: 'a job failed on our side gets a failed check run on its commit (why, what to do); needs `checks: write`',
    source: 'deployment',
    deploy: { prop: 'failureCheckRuns', type: 'string' },
  },
  logLevel: {
    schema: withDefault(
      preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(LOG_LEVELS)),
      'INFO',
    ),
    default: 'INFO',
    range: enumRange(LOG_LEVELS),
    doc: 'lowest level logged (case-insensitive)',
    source: 'deployment',
    deploy: { prop: 'logLevel', type: 'string' },
  },
  secretsCacheSeconds: {
    schema: withDefault(int(1, 86_400), '300'),
    default: '300',
    ...intRange(1, 86_400),
    doc: 'how long secrets read from Secrets Manager are kept before the next read: a rotation takes effect within it',
    source: 'deployment',
    deploy: { prop: 'secretsCacheSeconds', type: 'number' },
  },
  provisionerFunctionName: {
    schema: optional(z.string()),
    default: undefined,
    range: 'function name',
    doc: 'the provisioner function the others invoke',
    source: 'stack',
    wiring: true,
  },
  githubAppPrivateKeySecretArn: {
    schema: optional(z.string()),
    default: undefined,
    range: 'ARN',
    doc: 'Secrets Manager secret holding the App private key',
    source: 'stack',
    wiring: true,
  },
  githubWebhookSecretArn: {
    schema: optional(z.string()),
    default: undefined,
    range: 'ARN',
    doc: 'Secrets Manager secret holding the webhook secret',
    source: 'stack',
    wiring: true,
  },
  codebuildProjectName: {
    schema: optional(z.string()),
    default: undefined,
    range: 'project name',
    doc: 'CodeBuild project of the runners (codebuild launcher)',
    source: 'stack',
    wiring: true,
  },
  ec2LaunchTemplateId: {
    schema: optional(z.string()),
    default: undefined,
    range: 'launch template id',
    doc: 'launch template of the runners (ec2 launcher)',
    source: 'stack',
    wiring: true,
  },
  ec2SubnetIds: {
    schema: withDefault(commaList, ''),
    default: '',
    range: 'comma list',
    doc: 'subnets runner instances start in (ec2 launcher; from the subnetIds prop)',
    source: 'stack',
    wiring: true,
  },
  ec2InstanceType: {
    schema: optional(z.string()),
    default: undefined,
    range: 'instance type',
    doc: 'instance type of the runners (ec2 launcher; from the instanceType prop)',
    source: 'stack',
    wiring: true,
  },
  ec2UseSpot: {
    schema: withDefault(z.enum(['true', 'false']), 'false'),
    default: 'false',
    range: '`true`, `false`',
    doc: 'try spot first (ec2 launcher; from the useSpot prop)',
    source: 'stack',
    wiring: true,
  },
  jitConfigParameterPrefix: {
    schema: withDefault(z.string(), '/jit-runners/jit-config'),
    default: '/jit-runners/jit-config',
    range: 'SSM path',
    doc: 'SSM prefix of the JIT config hand-off parameters',
    source: 'stack',
    wiring: true,
  },
  jitConfigKmsKeyId: {
    schema: optional(z.string()),
    default: undefined,
    range: 'KMS key id or ARN',
    doc: "customer-managed KMS key of the hand-off SecureStrings (the stack's key; unset: alias/aws/ssm)",
    source: 'stack',
    wiring: true,
  },
  runnerTarballBucket: {
    schema: optional(z.string()),
    default: undefined,
    range: 'S3 bucket name',
    doc: "the fleet's runner tarball cache (runner-tarballs/ in it); set on the reconciler only",
    source: 'stack',
    wiring: true,
  },
} as const satisfies Record<keyof typeof EnvName, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
type Settings = typeof SETTINGS;

/** The settings a deployment can set (they have a CDK prop). */
export type DeployableKey = {
  [K in SettingKey]: Settings[K] extends { readonly deploy: DeployBinding } ? K : never;
}[SettingKey];

/** What a setting parses to. */
export type SettingValue<K extends SettingKey> = z.output<Settings[K]['schema']>;

/** The CDK prop of a deployable setting. */
export type DeployProp<K extends DeployableKey> = Settings[K]['deploy']['prop'];

/** The message of a schema failure, without zod's "Invalid input: " prefix. */
export function reason(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${(issue.values as unknown[]).map(String).join(', ')}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

/** Every row with its key and variable name, in table order. */
export function settingRows(): Array<SettingSpec & { key: SettingKey; env: EnvName }> {
  return (Object.keys(SETTINGS) as SettingKey[]).map((key) => ({ ...SETTINGS[key], key, env: EnvName[key] }));
}

/** The keys of the settings a deployment can set, in table order. */
export const DEPLOYABLE_KEYS: readonly DeployableKey[] = (Object.keys(SETTINGS) as SettingKey[]).filter(
  (key): key is DeployableKey => 'deploy' in SETTINGS[key],
);
