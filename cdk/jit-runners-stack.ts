import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LIST_INDEX } from '../functions/adapters/dynamodb/table-schema.ts';
import { EnvName } from '../functions/config/env-names.ts';
import { cloudWatchFilterPattern } from '../functions/domain/failure-signatures.ts';
import { AppSecrets } from './constructs/app-secrets.ts';
import { CodeBuildRunner, RUNNER_DIR } from './constructs/codebuild-runner.ts';
import { Ec2Runner } from './constructs/ec2-runner.ts';
import { HandlerFunction } from './constructs/handler-function.ts';
import { JitConfigParameters } from './constructs/jit-config-parameters.ts';
import { Monitoring } from './constructs/monitoring.ts';
import type { RunnerLauncherResources } from './constructs/runner-launcher.ts';
import { StateTable } from './constructs/state-table.ts';
import {
  type DeploymentConfig,
  type DeploymentConfigInput,
  functionEnvironment,
  resolveDeploymentConfig,
} from './deployment-config.ts';

export interface JitRunnersStackProps extends StackProps {
  /** Deploy-time configuration; see {@link DeploymentConfigInput} for every property and its default. */
  config?: DeploymentConfigInput;
  /** The state table's listing-index projection; `all` only for stacks deployed before keys-only (see StateTable). */
  listIndexProjection?: 'keys-only' | 'all';
}

/** Environment variable Powertools-style metric code reads for its namespace (not a setting of the table in functions/config/settings.ts). */
export const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';
const MAX_STACK_NAME = 40;

/**
 * The whole deployment: state table, App secrets, the four functions (webhook behind a Function URL,
 * provisioner invoked asynchronously with a dead-letter queue, runner-events fed by runner logs and
 * state-change events, reconciler on a schedule), the runner platform (CodeBuild or EC2), alarms and
 * a dashboard. Physical names are prefixed with the stack name so several fleets can share an account.
 */
export class JitRunnersStack extends Stack {
  readonly config: DeploymentConfig;
  readonly table: StateTable;
  readonly secrets: AppSecrets;
  readonly handOff: JitConfigParameters;
  readonly runnerLogGroup: logs.LogGroup;
  readonly launcher: RunnerLauncherResources;
  readonly deadLetterQueue: sqs.Queue;
  readonly functions: Record<'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler', HandlerFunction>;
  readonly functionUrl: lambda.FunctionUrl;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: JitRunnersStackProps = {}) {
    super(scope, id, props);
    const config = resolveDeploymentConfig(props.config);
    this.config = config;
    const name = this.stackName;
    if (name.length > MAX_STACK_NAME) {
      throw new Error(
        `stack name "${name}" is ${name.length} characters; use at most ${MAX_STACK_NAME} (function names are prefixed with it)`,
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

    // ── the runners ──
    this.runnerLogGroup = new logs.LogGroup(this, 'RunnerLogs', {
      logGroupName: `/jit-runners/${name}/runners`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.launcher =
      config.launcher === 'ec2'
        ? new Ec2Runner(this, 'Ec2Runner', {
            launchTemplateName: `${name}-runner`,
            architecture: config.architecture,
            instanceType: config.instanceType,
            vpcId: config.vpcId ?? '',
            subnetIds: config.subnetIds,
            useSpot: config.useSpot,
            rootVolumeGiB: config.rootVolumeGiB,
            logGroup: this.runnerLogGroup,
            handOff: this.handOff,
            bootstrapPath: `${RUNNER_DIR}bootstrap.sh`,
            checksumsPath: `${RUNNER_DIR}checksums.json`,
          })
        : new CodeBuildRunner(this, 'CodeBuildRunner', {
            projectName: `${name}-runner`,
            architecture: config.architecture,
            computeType: config.codebuildComputeType,
            timeoutMinutes: config.runnerTimeoutMinutes,
            logGroup: this.runnerLogGroup,
            handOff: this.handOff,
          });

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
    const environment = this.#environment(config, appId, provisionerName);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const webhook = new HandlerFunction(this, 'Webhook', {
      entry: 'webhook.ts',
      launcher: config.launcher,
      functionName: `${name}-webhook`,
      description: 'GitHub workflow_job webhook: verify, record, dispatch, answer fast',
      environment,
      logLevel: config.logLevel,
      // GitHub gives a delivery 10 s; the webhook must answer well before.
      timeout: Duration.seconds(8),
      memorySize: 512,
      logRetention,
      ...(config.webhookReservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: config.webhookReservedConcurrency }),
    });
    const provisioner = new HandlerFunction(this, 'Provisioner', {
      entry: 'provisioner.ts',
      launcher: config.launcher,
      functionName: provisionerName,
      description: 'Provisions one job: baseline, JIT config, launch',
      environment,
      logLevel: config.logLevel,
      timeout: Duration.minutes(5),
      logRetention,
    });
    const runnerEvents = new HandlerFunction(this, 'RunnerEvents', {
      entry: 'runner-events.ts',
      launcher: config.launcher,
      functionName: `${name}-runner-events`,
      description: 'Classifies runner log signatures and platform state changes; heals',
      environment,
      logLevel: config.logLevel,
      timeout: Duration.minutes(5),
      logRetention,
    });
    const reconciler = new HandlerFunction(this, 'Reconciler', {
      entry: 'reconciler.ts',
      launcher: config.launcher,
      functionName: `${name}-reconciler`,
      description: 'Stuck jobs, orphans, missed deliveries, stale hand-offs',
      environment,
      logLevel: config.logLevel,
      timeout: Duration.minutes(5),
      logRetention,
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
    const invokeProvisioner = (fn: HandlerFunction) =>
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DispatchToProvisioner',
          actions: ['lambda:InvokeFunction'],
          resources: [provisionerArn],
        }),
      );
    for (const fn of [webhook, provisioner, runnerEvents, reconciler]) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'StateTable',
          actions: [
            'dynamodb:GetItem',
            // Listings read the listed items in batches (the index projects keys only).
            'dynamodb:BatchGetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:Query',
            'dynamodb:ConditionCheckItem',
          ],
          // The table and its one listing index by name: no `index/*` wildcard.
          resources: [table.tableArn, `${table.tableArn}/index/${LIST_INDEX.name}`],
        }),
      );
      invokeProvisioner(fn);
    }
    this.secrets.webhookSecret.grantRead(webhook.role);
    // Not the webhook: it records and dispatches only. `in_progress`/`completed` side effects (spare and
    // robbed runners, observed baselines: GitHub App calls and launcher stop) run in the provisioner
    // function, which the webhook hands them to (composition/webhook-app.ts).
    for (const fn of [provisioner, runnerEvents, reconciler]) {
      this.secrets.privateKey.grantRead(fn.role);
      this.launcher.grantLaunch(fn.role);
      this.handOff.grantHandOff(fn.role);
      this.handOff.acknowledgeFunctionWildcard(fn.role);
    }
    this.handOff.grantSweep(reconciler.role);

    // ── runner-events inputs ──
    new logs.SubscriptionFilter(this, 'RunnerFailureSignatures', {
      logGroup: this.runnerLogGroup,
      destination: new LambdaDestination(runnerEvents.fn),
      filterPattern: logs.FilterPattern.literal(cloudWatchFilterPattern()),
      filterName: 'jit-runners-failure-signatures',
    });
    if (this.launcher instanceof CodeBuildRunner) {
      new events.Rule(this, 'CodeBuildStateChanges', {
        description: 'Runner builds of this fleet changed state',
        eventPattern: {
          source: ['aws.codebuild'],
          detailType: ['CodeBuild Build State Change'],
          detail: { 'project-name': [this.launcher.project.projectName] },
        },
        targets: [new targets.LambdaFunction(runnerEvents.fn, { retryAttempts: 2 })],
      });
    } else {
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
      runnerLogGroup: this.runnerLogGroup,
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

    this.#acknowledgeNagFindings();
  }

  /**
   * The environment of every function: each deployable setting of the settings table
   * (`functionEnvironment`), then the wiring only the stack knows (names, ARNs, launcher resources).
   * Every function gets every deployable setting, because each one parses and validates the whole
   * configuration at start (docs/decisions.md "AWS").
   */
  #environment(config: DeploymentConfig, appId: string, provisionerName: string): Record<string, string> {
    return {
      ...functionEnvironment(config),
      [EnvName.githubAppId]: appId,
      [EnvName.githubAppPrivateKeySecretArn]: this.secrets.privateKey.secretArn,
      [EnvName.githubWebhookSecretArn]: this.secrets.webhookSecret.secretArn,
      [EnvName.tableName]: this.table.table.tableName,
      [EnvName.provisionerFunctionName]: provisionerName,
      [EnvName.jitConfigParameterPrefix]: this.handOff.prefix,
      [METRICS_NAMESPACE_ENV]: `JitRunners/${this.stackName}`,
      ...this.launcher.environment,
    };
  }

  /** Every acknowledged cdk-nag finding, each with its reason. Anything else fails the synth. */
  #acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    ack(
      this.secrets,
      'AwsSolutions-SMG4',
      'The App private key and webhook secret are issued by GitHub; Secrets Manager cannot rotate them. Rotation is manual (docs/deploy.md; the webhook secret accepts a comma list during rotation).',
    );
    ack(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue IS the dead-letter queue (on-failure destination of the provisioner); it needs none of its own.',
    );
  }
}
