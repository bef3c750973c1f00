import {
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  Tags,
  Token,
  Tokenization,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { EnvName } from '../functions/config/env-names.ts';
import { runnerLogFilterPattern } from '../functions/domain/runner-log-filter.ts';
import { DEFAULT_POOL_NAME } from '../functions/domain/runner-pool.ts';
import { acknowledgeGuard, acknowledgeLogGroup, GuardRule } from './constructs/acknowledge-guard.ts';
import { AppSecrets } from './constructs/app-secrets.ts';
import { CodeBuildRunner, RUNNER_DIR } from './constructs/codebuild-runner.ts';
import { Ec2Runner } from './constructs/ec2-runner.ts';
import { HandlerFunction, type LauncherSet } from './constructs/handler-function.ts';
import { JitConfigParameters } from './constructs/jit-config-parameters.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { OperatorAccess } from './constructs/operator-access.ts';
import type { RunnerLauncherResources } from './constructs/runner-launcher.ts';
import { RunnerTarballBucket } from './constructs/runner-tarball-bucket.ts';
import { STORE_ACCESS, StateTable } from './constructs/state-table.ts';
import {
  checksummedTarballs,
  type DeploymentConfig,
  DeploymentConfigError,
  type DeploymentConfigInput,
  functionEnvironment,
  resolveDeploymentConfig,
} from './deployment-config.ts';
import { type JitRunnersPool, type PoolAlarmThresholds, type ResolvedPool, resolvePools } from './pool-props.ts';

/** Environment variable Powertools-style metric code reads for its namespace (not a setting of the table in functions/config/settings.ts). */
export const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';
/** The SSM parameter holding the pool list when it does not fit the environment (read once per cold start). */
export const RUNNER_POOLS_PARAMETER_ENV = 'RUNNER_POOLS_PARAMETER';
const MAX_NAME_PREFIX = 40;

/**
 * Lambda caps a function's environment at 4 KB (keys and values together). The pool list goes into
 * `RUNNER_POOLS` while the whole estimated environment stays under this budget; above it, into an SSM
 * parameter. The margin covers what the estimate cannot know exactly.
 */
export const ENVIRONMENT_BUDGET_BYTES = 3_584;
/** A token (ARN, id, name of a resource) counts as this many characters in the estimate: longer than any ARN here. */
export const TOKEN_ESTIMATE_CHARS = 128;
const STANDARD_PARAMETER_BYTES = 4_096;
const ADVANCED_PARAMETER_BYTES = 8_192;

/** Estimated length of a value once deployed: its literal text plus {@link TOKEN_ESTIMATE_CHARS} per token. */
export function estimatedLength(value: string): number {
  const placeholder = 'x'.repeat(TOKEN_ESTIMATE_CHARS);
  const text = Tokenization.reverseString(value)
    .mapTokens({ mapToken: () => placeholder })
    .join({ join: (left: unknown, right: unknown) => `${String(left)}${String(right)}` });
  return Buffer.byteLength(String(text), 'utf8');
}

/** Estimated size of an environment as Lambda counts it. */
export function estimatedEnvironmentBytes(env: Record<string, string>): number {
  return Object.entries(env).reduce((n, [k, v]) => n + k.length + estimatedLength(v), 0);
}

export interface JitRunnersProps {
  /**
   * Deploy-time settings: every deployable setting of the functions (README "Configuration") and the
   * shape of the single default pool (`launcher`, `architecture`, `instanceType`, `vpcId`, …). See
   * {@link DeploymentConfigInput} for each property and its default. With `pools`, the single pool's
   * shape properties are refused: each pool says its own.
   * @default {} (a CodeBuild x64 pool, the App id asked as a CloudFormation parameter)
   */
  readonly config?: DeploymentConfigInput;
  /**
   * The runner pools in matching order: a job goes to the first pool whose labels include all of its
   * labels. Each pool gets its own CodeBuild project or EC2 launch template, runner role and runner log
   * group.
   * @default one pool `default` from `config` (`labels`, `launcher` and the CodeBuild or EC2 properties), as before pools existed
   */
  readonly pools?: readonly JitRunnersPool[];
  /**
   * Prefix of every physical name (functions, project, launch template, log groups, SSM paths), so
   * several deployments can share an account. At most 40 characters.
   * @default the name of the enclosing stack
   */
  readonly namePrefix?: string;
  /**
   * The state table's listing-index projection; `all` only for tables deployed before keys-only.
   * @default 'keys-only'
   */
  readonly listIndexProjection?: 'keys-only' | 'all';
}

/** The resources of one pool: its runner platform and its runner log group. */
export interface PoolRunners {
  readonly name: string;
  readonly launcher: RunnerLauncherResources & (CodeBuildRunner | Ec2Runner);
  readonly logGroup: logs.LogGroup;
}

/** Config properties that shape the single default pool; with `pools` each pool sets its own. */
const SINGLE_POOL_PROPS = [
  'launcher',
  'labels',
  'architecture',
  'codebuildComputeType',
  'instanceType',
  'useSpot',
  'vpcId',
  'subnetIds',
  'rootVolumeGiB',
] as const satisfies ReadonlyArray<keyof DeploymentConfigInput>;

/**
 * The whole jit-runners deployment as one construct: state table, App secrets, the four functions
 * (webhook behind a Function URL, provisioner invoked asynchronously with a dead-letter queue,
 * runner-events fed by runner logs and state-change events, reconciler on a schedule), one runner
 * platform per pool (a CodeBuild project or an EC2 launch template), alarms and a dashboard.
 *
 * ```ts
 * new JitRunners(this, 'Runners', {
 *   config: { appId: 123456, scope: 'org' },
 *   pools: [
 *     { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], codebuild: {} },
 *     { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], ec2: { architecture: 'arm64', subnetIds: ['subnet-…'], vpcId: 'vpc-…' } },
 *   ],
 * });
 * ```
 */
export class JitRunners extends Construct {
  readonly config: DeploymentConfig;
  /** The pools as resolved (defaults applied); undefined without `pools` (the single default pool). */
  readonly pools: readonly ResolvedPool[] | undefined;
  readonly namePrefix: string;
  readonly table: StateTable;
  readonly secrets: AppSecrets;
  readonly handOff: JitConfigParameters;
  /** The runner platform and log group of each pool, in listed order. */
  readonly runners: readonly PoolRunners[];
  /** The first pool's runner log group (the only one without `pools`). */
  readonly runnerLogGroup: logs.LogGroup;
  /** The first pool's runner platform (the only one without `pools`). */
  readonly launcher: RunnerLauncherResources;
  readonly deadLetterQueue: sqs.Queue;
  readonly functions: Record<'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler', HandlerFunction>;
  readonly functionUrl: lambda.FunctionUrl;
  readonly monitoring: Monitoring;
  /** The runner tarball cache: the reconciler writes verified tarballs, the runners read them. */
  readonly tarballCache: RunnerTarballBucket;
  /** The SSM parameter with the pool list, when it did not fit the functions' environment. */
  readonly poolsParameter: ssm.StringParameter | undefined;
  /** What the operator CLI (`jit-runners … --stack`) needs, as one managed policy; see {@link grantOperator}. */
  readonly operatorPolicy: iam.ManagedPolicy;

  readonly #operator: OperatorAccess;

  constructor(scope: Construct, id: string, props: JitRunnersProps = {}) {
    super(scope, id);
    const input = props.config ?? {};
    if (props.pools !== undefined) {
      for (const key of SINGLE_POOL_PROPS) {
        if (input[key] !== undefined) {
          throw new DeploymentConfigError(
            key,
            `shapes the single default pool; with pools set it in each pool (labels, codebuild: {…} or ec2: {…}) and drop it from config`,
          );
        }
      }
    }
    const config = resolveDeploymentConfig(input);
    this.config = config;
    const tarballs = checksummedTarballs();
    const deploymentAlarms: PoolAlarmThresholds = {
      queuedToRunningP99Seconds: config.queuedToRunningP99AlarmSeconds,
      backlogJobs: config.backlogAlarmJobs,
      evaluationMinutes: config.poolAlarmEvaluationMinutes,
    };
    this.pools =
      props.pools === undefined
        ? undefined
        : resolvePools(props.pools, {
            runnerVersion: config.runnerVersion,
            runnerVersionFloor: config.runnerVersionFloor,
            runnerTimeoutMinutes: config.runnerTimeoutMinutes,
            tarballs,
            alarms: deploymentAlarms,
          });
    // A backlog alarm only capped pools can have: one that no pool could have is a mistake, not a no-op.
    const capped = this.pools?.some((pool) => pool.maxRunners !== undefined) ?? false;
    if (config.backlogAlarmJobs !== undefined && !capped) {
      throw new DeploymentConfigError(
        'backlogAlarmJobs',
        `no pool has maxRunners, so no job ever waits for room and the backlog alarm could never fire; give a pool maxRunners or drop backlogAlarmJobs`,
      );
    }
    const name = props.namePrefix ?? Stack.of(this).stackName;
    this.namePrefix = name;
    if (Token.isUnresolved(name) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) {
      throw new DeploymentConfigError(
        'namePrefix',
        `"${name}" must be a literal of letters, digits and hyphens starting with a letter (it prefixes physical names); set namePrefix`,
      );
    }
    if (name.length > MAX_NAME_PREFIX) {
      throw new Error(
        `stack name "${name}" is ${name.length} characters; use at most ${MAX_NAME_PREFIX} (function names are prefixed with it)`,
      );
    }

    // ── state and secrets ──
    this.table = new StateTable(
      this,
      'State',
      props.listIndexProjection === undefined ? {} : { listIndexProjection: props.listIndexProjection },
    );
    this.secrets = new AppSecrets(this, 'Secrets');
    this.handOff = new JitConfigParameters(this, 'JitConfigParameters', { prefix: `/${name}/jit-config` });

    this.tarballCache = new RunnerTarballBucket(this, 'RunnerTarballs');

    // ── the runners: one platform per pool ──
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    this.runners =
      this.pools === undefined
        ? [this.#defaultPool(config, name)]
        : this.pools.map((pool) => this.#pool(pool, name, logRetention));
    const first = this.runners[0] as PoolRunners;
    this.runnerLogGroup = first.logGroup;
    this.launcher = first.launcher;
    const codebuildRunners = this.runners.map((r) => r.launcher).filter((l) => l instanceof CodeBuildRunner);
    const ec2Runners = this.runners.map((r) => r.launcher).filter((l) => l instanceof Ec2Runner);
    const launcherSet: LauncherSet =
      codebuildRunners.length > 0 && ec2Runners.length > 0
        ? 'codebuild,ec2'
        : ec2Runners.length > 0
          ? 'ec2'
          : 'codebuild';

    // ── the functions ──
    const appId =
      config.appId === undefined
        ? new CfnParameter(this, 'GitHubAppId', {
            type: 'Number',
            minValue: 1,
            description: 'GitHub App id (or deploy with -c appId=...)',
          }).valueAsString
        : String(config.appId);
    const provisionerName = `${name}-provisioner`;
    const { environment, parameter } = this.#environment(config, appId, provisionerName, name);
    this.poolsParameter = parameter;

    const common = { launcher: launcherSet, environment, logLevel: config.logLevel, logRetention };
    const webhook = new HandlerFunction(this, 'Webhook', {
      ...common,
      entry: 'webhook.ts',
      functionName: `${name}-webhook`,
      description: 'GitHub workflow_job webhook: verify, record, dispatch, answer fast',
      // GitHub gives a delivery 10 s; the webhook must answer well before.
      timeout: Duration.seconds(8),
      memorySize: 512,
      ...(config.webhookReservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: config.webhookReservedConcurrency }),
    });
    const provisioner = new HandlerFunction(this, 'Provisioner', {
      ...common,
      entry: 'provisioner.ts',
      functionName: provisionerName,
      description: 'Provisions one job: baseline, JIT config, launch',
      timeout: Duration.minutes(5),
    });
    const runnerEvents = new HandlerFunction(this, 'RunnerEvents', {
      ...common,
      entry: 'runner-events.ts',
      functionName: `${name}-runner-events`,
      description: 'Classifies runner log signatures and platform state changes; heals',
      timeout: Duration.minutes(5),
    });
    const reconciler = new HandlerFunction(this, 'Reconciler', {
      ...common,
      entry: 'reconciler.ts',
      functionName: `${name}-reconciler`,
      // The reconciler alone writes the tarball cache (on adopt); the other functions never touch it.
      environment: { ...environment, [EnvName.runnerTarballBucket]: this.tarballCache.bucket.bucketName },
      description: 'Stuck jobs, orphans, missed deliveries, stale hand-offs',
      timeout: Duration.minutes(5),
      // Why 1 GB: on an adoption it holds one runner tarball (about 200 MB) in memory to hash it before the
      // upload; it runs once a minute, so the cost is small.
      memorySize: 1024,
    });
    this.functions = { webhook, provisioner, runnerEvents, reconciler };

    // Webhook: Function URL without IAM auth; the X-Hub-Signature-256 HMAC is the authentication.
    this.functionUrl = webhook.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    // Provisioner: asynchronous invokes, retried by Lambda, then parked in the dead-letter queue.
    this.deadLetterQueue = new sqs.Queue(this, 'ProvisionerDeadLetters', {
      queueName: `${name}-provisioner-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    provisioner.fn.configureAsyncInvoke({
      retryAttempts: config.provisionerRetryAttempts,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    // ── permissions: each function gets what it calls, nothing more ──
    const table = this.table.table;
    const provisionerArn = HandlerFunction.arnOf(this, provisionerName);
    this.table.grantStore(webhook.role, STORE_ACCESS.webhook);
    this.table.grantStore(provisioner.role, STORE_ACCESS.provisioner);
    this.table.grantStore(runnerEvents.role, STORE_ACCESS.runnerEvents);
    this.table.grantStore(reconciler.role, STORE_ACCESS.reconciler);
    for (const fn of [webhook, provisioner, runnerEvents, reconciler]) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DispatchToProvisioner',
          actions: ['lambda:InvokeFunction'],
          resources: [provisionerArn],
        }),
      );
      // Every function parses the whole configuration at its cold start, pools included.
      if (parameter !== undefined) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'ReadRunnerPools',
            actions: ['ssm:GetParameter'],
            resources: [parameter.parameterArn],
          }),
        );
      }
    }
    this.secrets.webhookSecret.grantRead(webhook.role);
    // Not the webhook: it records and dispatches only. `in_progress`/`completed` side effects (spare and
    // robbed runners, observed baselines: GitHub App calls and launcher stop) run in the provisioner
    // function, which the webhook hands them to (composition/webhook-app.ts).
    for (const fn of [provisioner, runnerEvents, reconciler]) {
      this.secrets.privateKey.grantRead(fn.role);
      // Exactly the pools' projects and launch templates, one statement per purpose for all pools.
      CodeBuildRunner.grantLaunchAll(fn.role, codebuildRunners);
      Ec2Runner.grantLaunchAll(fn.role, ec2Runners);
      this.handOff.grantHandOff(fn.role);
      this.handOff.acknowledgeFunctionWildcard(fn.role);
    }
    this.handOff.grantSweep(reconciler.role);
    this.tarballCache.grantCacheWrite(reconciler.role);

    // ── runner-events inputs ──
    for (const runner of this.runners) {
      const filterId = this.pools === undefined ? 'RunnerFailureSignatures' : `RunnerFailureSignatures-${runner.name}`;
      new logs.SubscriptionFilter(this, filterId, {
        logGroup: runner.logGroup,
        destination: new LambdaDestination(runnerEvents.fn),
        // The failure signatures and the warm runner's ready line (functions/domain/runner-log-filter.ts).
        filterPattern: logs.FilterPattern.literal(runnerLogFilterPattern()),
        filterName: 'jit-runners-failure-signatures',
      });
    }
    if (codebuildRunners.length > 0) {
      new events.Rule(this, 'CodeBuildStateChanges', {
        description: 'Runner builds of this fleet changed state',
        eventPattern: {
          source: ['aws.codebuild'],
          detailType: ['CodeBuild Build State Change'],
          detail: { 'project-name': codebuildRunners.map((r) => r.project.projectName) },
        },
        targets: [new targets.LambdaFunction(runnerEvents.fn, { retryAttempts: 2 })],
      });
    }
    if (ec2Runners.length > 0) {
      new events.Rule(this, 'Ec2StateChanges', {
        description: 'EC2 instances changed state (the handler ignores instances that are not runners of this fleet)',
        eventPattern: {
          source: ['aws.ec2'],
          detailType: ['EC2 Instance State-change Notification'],
          detail: { state: ['running', 'stopping', 'stopped', 'shutting-down', 'terminated'] },
        },
        targets: [new targets.LambdaFunction(runnerEvents.fn, { retryAttempts: 2 })],
      });
    }

    // ── reconciler schedule ──
    new events.Rule(this, 'ReconcileSchedule', {
      description: `Reconcile every ${config.reconcileIntervalSeconds} s`,
      schedule: events.Schedule.rate(Duration.seconds(config.reconcileIntervalSeconds)),
      targets: [new targets.LambdaFunction(reconciler.fn, { retryAttempts: 0 })],
    });

    // ── monitoring ──
    this.monitoring = new Monitoring(this, 'Monitoring', {
      namespace: `JitRunners/${name}`,
      dashboardName: `${name}-jit-runners`,
      deadLetterQueue: this.deadLetterQueue,
      runnerLogGroups: this.runners.map((r) => r.logGroup),
      // The single default pool has no cap, so no backlog alarm (refused above when asked for).
      pools: this.pools?.map((pool) => ({ name: pool.name, maxRunners: pool.maxRunners, alarms: pool.alarms })) ?? [
        { name: DEFAULT_POOL_NAME, alarms: { ...deploymentAlarms, backlogJobs: undefined } },
      ],
      gaugeIntervalSeconds: config.reconcileIntervalSeconds,
      functions: {
        webhook: webhook.fn,
        provisioner: provisioner.fn,
        'runner-events': runnerEvents.fn,
        reconciler: reconciler.fn,
      },
      jobsFailedThreshold: config.jobsFailedAlarmThreshold,
      metadataMissingThreshold: config.metadataMissingAlarmThreshold,
      alarmTopicArn: config.alarmTopicArn,
    });

    new CfnOutput(this, 'WebhookUrl', {
      value: this.functionUrl.url,
      description: 'Set this as the GitHub App webhook URL',
    });
    new CfnOutput(this, 'AppPrivateKeySecretArn', { value: this.secrets.privateKey.secretArn });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.secrets.webhookSecret.secretArn });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ProvisionerFunctionName', { value: provisionerName });

    // ── the operator CLI: `jit-runners … --stack NAME` (docs/deploy.md "Operator access") ──
    const adminName = `${name}-reconciler`;
    const operator = new OperatorAccess(this, 'OperatorAccess', {
      table,
      deadLetterQueue: this.deadLetterQueue,
      adminFunctionArn: HandlerFunction.arnOf(this, adminName),
      provisionerFunctionArn: provisionerArn,
    });
    this.#operator = operator;
    this.operatorPolicy = operator.policy;
    new CfnOutput(this, 'AdminFunctionName', {
      value: adminName,
      description: 'The function that answers the operator CLI (jit-runners ... --stack): the reconciler',
    });
    new CfnOutput(this, 'OperatorPolicyArn', {
      value: operator.policy.managedPolicyArn,
      description: 'Attach to the role, user or group of whoever runs jit-runners ... --stack',
    });

    this.#acknowledgeNagFindings(config.logRetentionDays);
  }

  /**
   * Lets an operator run `jit-runners … --stack NAME`: attaches {@link operatorPolicy} to a role, user or group
   * (else adds its statements to the principal's policy). Read-only on the table; the actions it allows are
   * the admin entry's and the dead-letter redrive's.
   */
  grantOperator(grantable: iam.IGrantable): void {
    this.#operator.grant(grantable);
  }

  /** The single pool of a deployment without `pools`: the resources and ids it always had. */
  #defaultPool(config: DeploymentConfig, name: string): PoolRunners {
    const logGroup = new logs.LogGroup(this, 'RunnerLogs', {
      logGroupName: `/jit-runners/${name}/runners`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const launcher =
      config.launcher === 'ec2'
        ? new Ec2Runner(this, 'Ec2Runner', {
            launchTemplateName: `${name}-runner`,
            architecture: config.architecture,
            instanceType: config.instanceType,
            vpcId: config.vpcId ?? '',
            subnetIds: config.subnetIds,
            useSpot: config.useSpot,
            rootVolumeGiB: config.rootVolumeGiB,
            logGroup,
            handOff: this.handOff,
            tarballCache: this.tarballCache,
            bootstrapPath: `${RUNNER_DIR}bootstrap.sh`,
            checksumsPath: `${RUNNER_DIR}checksums.json`,
          })
        : new CodeBuildRunner(this, 'CodeBuildRunner', {
            projectName: `${name}-runner`,
            architecture: config.architecture,
            computeType: config.codebuildComputeType,
            timeoutMinutes: config.runnerTimeoutMinutes,
            logGroup,
            handOff: this.handOff,
            tarballCache: this.tarballCache,
          });
    return { name: 'default', launcher, logGroup };
  }

  /** One pool of `pools`: its own log group, runner role and CodeBuild project or launch template. */
  #pool(pool: ResolvedPool, name: string, retention: logs.RetentionDays): PoolRunners {
    const scope = new Construct(this, `Pool-${pool.name}`);
    const logGroup = new logs.LogGroup(scope, 'RunnerLogs', {
      logGroupName: `/jit-runners/${name}/runners/${pool.name}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const physicalName = `${name}-${pool.name}`;
    const launcher =
      pool.kind === 'ec2'
        ? new Ec2Runner(scope, 'Ec2Runner', {
            launchTemplateName: physicalName,
            architecture: pool.architecture,
            instanceType: pool.instanceTypes[0] ?? '',
            vpcId: pool.vpcId,
            subnetIds: pool.subnetIds,
            securityGroupIds: pool.securityGroupIds,
            useSpot: pool.spot,
            rootVolumeGiB: pool.rootVolumeGiB,
            logGroup,
            handOff: this.handOff,
            tarballCache: this.tarballCache,
            bootstrapPath: `${RUNNER_DIR}bootstrap.sh`,
            checksumsPath: `${RUNNER_DIR}checksums.json`,
            ami: pool.ami,
            docker: pool.docker,
            runnerPolicies: pool.runnerPolicies,
            warm: pool.warm !== undefined,
          })
        : new CodeBuildRunner(scope, 'CodeBuildRunner', {
            projectName: physicalName,
            architecture: pool.architecture,
            computeType: pool.computeType,
            timeoutMinutes: pool.timeoutMinutes,
            logGroup,
            handOff: this.handOff,
            tarballCache: this.tarballCache,
            image: pool.image,
            docker: pool.docker,
            vpc: pool.vpc,
            runnerPolicies: pool.runnerPolicies,
            warmMaxIdleMinutes: pool.warm?.maxIdleMinutes,
          });
    // Tags on everything of the pool; the launch template passes them on to its instances and volumes.
    for (const [key, value] of Object.entries(pool.tags)) Tags.of(scope).add(key, value);
    Tags.of(scope).add('jit-runners:pool', pool.name);
    return { name: pool.name, launcher, logGroup };
  }

  /** The pool list as the functions read it (RUNNER_POOLS): common fields plus each pool's resource references. */
  #poolList(): unknown[] {
    return (this.pools ?? []).map((pool, index) => {
      const runner = this.runners[index]?.launcher;
      const common = {
        name: pool.name,
        labels: pool.labels,
        launcher: pool.kind,
        ...(pool.maxRunners === undefined ? {} : { maxRunners: pool.maxRunners }),
        ...(pool.runnerVersion === undefined ? {} : { runnerVersion: pool.runnerVersion }),
        // The functions' shape (functions/config/runner-pools.ts), always the object form.
        ...(pool.warm === undefined
          ? {}
          : {
              warm: {
                size: pool.warm.size,
                maxIdleMinutes: pool.warm.maxIdleMinutes,
                ...(pool.warm.schedule.length === 0 ? {} : { schedule: pool.warm.schedule }),
              },
            }),
      };
      if (runner instanceof CodeBuildRunner)
        return { ...common, codebuild: { projectName: runner.project.projectName } };
      const ec2 = runner as Ec2Runner;
      return {
        ...common,
        ec2: {
          launchTemplateId: ec2.launchTemplate.launchTemplateId,
          instanceTypes: pool.kind === 'ec2' ? pool.instanceTypes : [],
          subnetIds: [...ec2.subnetIds],
          spot: pool.kind === 'ec2' ? pool.spot : false,
        },
      };
    });
  }

  /**
   * The environment of every function: each deployable setting of the settings table
   * (`functionEnvironment`), then the wiring only the construct knows (names, ARNs, launcher resources
   * or the pool list). Every function gets every deployable setting, because each one parses and
   * validates the whole configuration at start (docs/decisions.md "AWS").
   */
  #environment(
    config: DeploymentConfig,
    appId: string,
    provisionerName: string,
    name: string,
  ): { environment: Record<string, string>; parameter: ssm.StringParameter | undefined } {
    const base: Record<string, string> = {
      ...functionEnvironment(config),
      [EnvName.githubAppId]: appId,
      [EnvName.githubAppPrivateKeySecretArn]: this.secrets.privateKey.secretArn,
      [EnvName.githubWebhookSecretArn]: this.secrets.webhookSecret.secretArn,
      [EnvName.tableName]: this.table.table.tableName,
      [EnvName.provisionerFunctionName]: provisionerName,
      [EnvName.jitConfigParameterPrefix]: this.handOff.prefix,
      ...this.handOff.environment,
      [METRICS_NAMESPACE_ENV]: `JitRunners/${name}`,
    };
    if (this.pools === undefined)
      return { environment: { ...base, ...this.launcher.environment }, parameter: undefined };

    // With pools: each pool names its launcher and resources; RUNNER_LABELS (the default pool's) is left
    // out, and LAUNCHER is the first pool's (the default of a pool that names none, which none does here).
    delete base[EnvName.runnerLabels];
    base[EnvName.launcher] = this.pools[0]?.kind ?? 'codebuild';
    const list = this.#poolList();
    const estimate = JSON.stringify(list);
    const inline = { ...base, [EnvName.runnerPools]: estimate };
    if (estimatedEnvironmentBytes(inline) <= ENVIRONMENT_BUDGET_BYTES) {
      return {
        environment: { ...base, [EnvName.runnerPools]: Stack.of(this).toJsonString(list) },
        parameter: undefined,
      };
    }
    const size = estimatedLength(estimate);
    if (size > ADVANCED_PARAMETER_BYTES) {
      throw new DeploymentConfigError(
        'pools',
        `the pool list is about ${size} bytes, above the 8 KB of an SSM parameter; use fewer pools or shorter labels, or split the fleet into two deployments`,
      );
    }
    const parameter = new ssm.StringParameter(this, 'RunnerPools', {
      parameterName: `/${name}/runner-pools`,
      description: 'jit-runners: the runner pools (RUNNER_POOLS), read by every function at its cold start',
      stringValue: Stack.of(this).toJsonString(list),
      tier: size > STANDARD_PARAMETER_BYTES ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
    });
    return { environment: { ...base, [RUNNER_POOLS_PARAMETER_ENV]: parameter.parameterName }, parameter };
  }

  /**
   * The acknowledged findings of the deployment's own resources, each on the one resource it is about
   * with its reason (cdk-nag, and the Control Tower rules of the second validator). Anything else fails
   * the synth.
   */
  #acknowledgeNagFindings(logRetentionDays: number): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    ack(
      this.secrets.privateKey,
      'AwsSolutions-SMG4',
      'GitHub generates App private keys only in the App settings (no API creates one), so no rotation function can make a new key; rotation is procedural: generate a key, put-secret-value, delete the old key in GitHub (docs/deploy.md).',
    );
    ack(
      this.secrets.webhookSecret,
      'AwsSolutions-SMG4',
      "The operator chooses the webhook secret and sets it in the GitHub App (App settings, or PATCH /app/hook/config); rotation is procedural, not a rotation function holding the App key: store old and new as a comma list (both verify), switch the App's secret, then store the new one alone (docs/deploy.md).",
    );
    // The public webhook: GitHub signs deliveries with the webhook secret (HMAC) and cannot sign SigV4.
    acknowledgeGuard(
      this.functionUrl,
      GuardRule.lambdaUrlIamAuth,
      'GitHub cannot sign its webhook deliveries with AWS credentials; the X-Hub-Signature-256 HMAC of the webhook secret is the authentication, checked before anything is read or written, and the function has reserved concurrency (webhookReservedConcurrency).',
    );
    for (const child of this.functions.webhook.fn.node.children) {
      if (child instanceof lambda.CfnPermission) {
        acknowledgeGuard(
          child,
          GuardRule.lambdaPublicAccess,
          'The permission CDK adds for a Function URL without IAM auth (lambda:InvokeFunctionUrl, and lambda:InvokeFunction only through the URL): GitHub must reach the webhook from the internet; deliveries are authenticated by their HMAC signature.',
        );
      }
    }
    this.runners.forEach((runner, index) => {
      acknowledgeLogGroup(runner.logGroup, logRetentionDays);
      const pool = this.pools?.[index];
      if (runner.launcher instanceof CodeBuildRunner && pool?.docker) {
        acknowledgeGuard(
          runner.launcher.project,
          'codebuild_project_environment_privileged_check',
          `Pool ${pool.name} asked for Docker (docker: true), which CodeBuild runs only in privileged mode; only this pool's project is privileged, its builds are ephemeral and hold no credentials beyond the pool's runner role.`,
        );
      }
      if (runner.launcher instanceof Ec2Runner) {
        acknowledgeGuard(
          runner.launcher.launchTemplate,
          GuardRule.launchTemplateMonitoring,
          "An instance runs one job and is gone: nothing reads per-instance one-minute metrics (the fleet is watched through the functions' metrics and the runner logs), and detailed monitoring is billed per instance.",
        );
      }
    });
    ack(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue IS the dead-letter queue (on-failure destination of the provisioner); it needs none of its own.',
    );
    // CT.SQS.PR.1 knows a dead-letter queue only by a RedriveAllowPolicy for source queues; this one is a
    // Lambda on-failure destination, which no queue redrives into, and allowing all queues would loosen it.
    acknowledgeGuard(
      this.deadLetterQueue,
      'sqs_dlq_check',
      'This queue IS the dead-letter queue (Lambda on-failure destination of the provisioner, redriven by hand, docs/deploy.md "Redrive"); nothing consumes it to fail again, so it needs no dead-letter queue of its own.',
    );
  }
}
