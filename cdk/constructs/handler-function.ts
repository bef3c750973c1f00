import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeGuard, acknowledgeLogGroup, GuardRule } from './acknowledge-guard.ts';

/**
 * The launchers one set of bundles carries (`globalThis.JR_BUNDLED_LAUNCHER`): the set the deployment's
 * pools use, `codebuild,ec2` for a deployment with pools of both kinds.
 */
export type LauncherSet = 'codebuild' | 'ec2' | 'codebuild,ec2';
export const LAUNCHER_SETS: readonly LauncherSet[] = ['codebuild', 'ec2', 'codebuild,ec2'];

/** The functions and their handler files under functions/handlers/. */
export const HANDLER_ENTRIES = ['webhook.ts', 'provisioner.ts', 'runner-events.ts', 'reconciler.ts'] as const;
export type HandlerEntry = (typeof HANDLER_ENTRIES)[number];

/**
 * Where the installed package keeps the bundles its build made (`npm run build`: dist/lambda/, next to
 * the compiled construct). From the repository's sources the folder does not exist and each function is
 * bundled at synth by NodejsFunction with the local esbuild (docs/decisions.md "Packaging and CLI").
 */
export const PREBUILT_DIR = fileURLToPath(new URL('../../lambda/', import.meta.url));

/** The folder of one function's prebuilt bundle for one launcher set: `<root><set>/<function>/`. */
export function prebuiltBundleDir(root: string, launcher: LauncherSet, entry: HandlerEntry): string {
  return `${root}${launcher.replace(',', '+')}/${entry.replace(/\.ts$/, '')}/`;
}

/** The folder of a function whose bundle is the same for every launcher set (the webhook's): kept once. */
export function sharedBundleDir(root: string, entry: HandlerEntry): string {
  return `${root}shared/${entry.replace(/\.ts$/, '')}/`;
}

/** The prebuilt bundle folder of a function for a launcher set under `root`, if the build made one. */
export function prebuiltBundle(root: string, launcher: LauncherSet, entry: HandlerEntry): string | undefined {
  return [prebuiltBundleDir(root, launcher, entry), sharedBundleDir(root, entry)].find((dir) =>
    existsSync(`${dir}index.mjs`),
  );
}

/** The repository root (functions/, package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The newest Node.js runtime this aws-cdk-lib knows. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * ESM bundles need `require` for the CommonJS dependencies that call it (Node built-ins); this banner
 * gives them one. Shared with the bundle tests so they load exactly what Lambda loads.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __jrCreateRequire } from 'node:module'; const require = __jrCreateRequire(import.meta.url);";

/**
 * Packages left out of the bundles and loaded from the Lambda runtime instead. None: the AWS SDK is
 * bundled. Measured on the bench machine (docs/performance.md, median import of 12 fresh processes):
 * with `['@aws-sdk/*']` the webhook bundle shrinks 502 → 83 KB but its import takes 172 ms instead of
 * 70 ms (the provisioner 573 instead of 162 ms), because the SDK then loads as hundreds of small ES
 * modules. Cold start is what a delivery waits on, and the bundled SDK is the version the tests ran.
 */
export const HANDLER_EXTERNAL_MODULES: readonly string[] = [];

/**
 * NODE_OPTIONS of every function; the cold-start bench starts its processes with the same value.
 * Not `--enable-source-maps`: it parses the source map of the whole bundle at import, measured +20 ms
 * (webhook, 70 → 91 ms) and +25 ms (provisioner) of cold start. The maps are still emitted next to
 * each bundle (sourcemap: true) for decoding a stack trace offline, or set the flag while debugging.
 */
export const HANDLER_NODE_OPTIONS = '';

/**
 * Packages replaced in the bundles (esbuild `alias`). `@aws-sdk/credential-provider-node`, the SDK's
 * default credential chain, becomes functions/handlers/lambda-credentials.ts: the environment
 * variables only, which is where Lambda puts the role's credentials (reasons and figures there and in
 * docs/performance.md).
 */
export const HANDLER_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': fileURLToPath(
    new URL('../../functions/handlers/lambda-credentials.ts', import.meta.url),
  ),
};

/** esbuild settings of every handler, in esbuild's own terms (the tests bundle with these). */
export const HANDLER_ESBUILD = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  external: HANDLER_EXTERNAL_MODULES,
  alias: HANDLER_ALIASES,
} as const;

/**
 * The esbuild `define` that builds a bundle for one launcher: `globalThis.JR_BUNDLED_LAUNCHER` becomes
 * a constant, so functions/composition/lambda-launcher.ts keeps only that launcher's `import()` and a
 * CodeBuild deployment ships no EC2 client code (and the reverse). The stack, the bench and the bundle
 * tests all build with it.
 */
export function launcherDefine(launcher: LauncherSet): Record<string, string> {
  return { 'globalThis.JR_BUNDLED_LAUNCHER': JSON.stringify(launcher) };
}

const APPLICATION_LOG_LEVEL: Record<HandlerFunctionProps['logLevel'], lambda.ApplicationLogLevel> = {
  DEBUG: lambda.ApplicationLogLevel.DEBUG,
  INFO: lambda.ApplicationLogLevel.INFO,
  WARN: lambda.ApplicationLogLevel.WARN,
  ERROR: lambda.ApplicationLogLevel.ERROR,
};

export interface HandlerFunctionProps {
  /** File under functions/handlers/, e.g. `webhook.ts`. */
  entry: HandlerEntry;
  /** The deployment's launchers: the only ones the bundle carries (`launcherDefine`). */
  launcher: LauncherSet;
  /** Physical function name (the stack prefixes its own name). */
  functionName: string;
  description: string;
  environment: Record<string, string>;
  /**
   * LOG_LEVEL of the deployment. Lambda's own application log filter is set to it too: a filter above
   * it would drop the lines the setting asks for (Powertools also defers to that filter).
   */
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  timeout: Duration;
  /** Default 512 MB. */
  memorySize?: number;
  logRetention: logs.RetentionDays;
  reservedConcurrentExecutions?: number;
}

/**
 * One Lambda function of the stack: NodejsFunction bundled by the local esbuild (never Docker),
 * minified with source maps, ARM64 on the newest Node runtime, JSON logs into its own log group with
 * retention, and its own role that may write only that log group (no AWS managed policy).
 */
export class HandlerFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    acknowledgeGuard(
      this,
      GuardRule.lambdaInVpc,
      'The functions call only GitHub and public AWS APIs and serve no private network; in a VPC they would need a NAT gateway (or one endpoint per AWS API) to reach the same endpoints, adding cost and a failure point without narrowing what they can reach.',
    );
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeLogGroup(this.logGroup, props.logRetention);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName}: ${props.description}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const common = {
      functionName: props.functionName,
      description: props.description,
      handler: 'index.handler',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: APPLICATION_LOG_LEVEL[props.logLevel],
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: {
        ...props.environment,
        ...(HANDLER_NODE_OPTIONS ? { NODE_OPTIONS: HANDLER_NODE_OPTIONS } : {}),
      },
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    } satisfies lambda.FunctionProps | Omit<lambda.FunctionProps, 'code'>;
    const prebuilt = prebuiltBundle(PREBUILT_DIR, props.launcher, props.entry);
    if (prebuilt !== undefined) {
      // Installed package: the bundle its build made with the same esbuild settings (no esbuild at synth).
      this.fn = new lambda.Function(this, 'Function', { ...common, code: lambda.Code.fromAsset(prebuilt) });
      return;
    }
    const entry = fileURLToPath(new URL(`../../functions/handlers/${props.entry}`, import.meta.url));
    if (!existsSync(entry)) {
      // The compiled construct without its bundles: a package whose build did not run.
      throw new Error(
        `jit-runners: no bundle of ${props.entry} for the ${props.launcher} launchers in ${PREBUILT_DIR} and no source at ${entry}; install a package made by npm pack (its prepack runs npm run build)`,
      );
    }
    this.fn = new NodejsFunction(this, 'Function', {
      ...common,
      entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: fileURLToPath(new URL('../../package-lock.json', import.meta.url)),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: HANDLER_ESBUILD.target,
        minify: HANDLER_ESBUILD.minify,
        sourceMap: HANDLER_ESBUILD.sourcemap,
        mainFields: [...HANDLER_ESBUILD.mainFields],
        banner: ESM_REQUIRE_BANNER,
        define: launcherDefine(props.launcher),
        // Bundle the SDK too: the versions tested here are the versions that run, and the cold start
        // is shorter (see HANDLER_EXTERNAL_MODULES).
        bundleAwsSDK: HANDLER_EXTERNAL_MODULES.length === 0,
        externalModules: [...HANDLER_EXTERNAL_MODULES],
        esbuildArgs: { '--alias': Object.entries(HANDLER_ALIASES).map(([from, to]) => `${from}=${to}`) },
      },
    });
  }

  /** ARN of this function built from its name, usable in its own policy without a dependency cycle. */
  static arnOf(scope: Construct, functionName: string): string {
    return Stack.of(scope).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}
