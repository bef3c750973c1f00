import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readStackOutputs, StackNotFoundError, type StackOutputs } from '../adapters/aws/stack-outputs.ts';
import { createDynamoStore } from '../adapters/dynamodb/dynamo-store.ts';
import { AdminFunctionError, invokeAdmin, invokeEvent } from '../adapters/lambda/admin-invoker.ts';
import {
  type DeadLetterMessage,
  deleteDeadLetter,
  PEEK_VISIBILITY_SECONDS,
  REDRIVE_VISIBILITY_SECONDS,
  receiveDeadLetters,
} from '../adapters/sqs/dead-letter-queue.ts';
import type { Baseline } from '../domain/baseline.ts';
import type { DoctorReport } from '../domain/doctor-check.ts';
import type { LauncherKind } from '../domain/launcher-kind.ts';
import { type Clock, systemClock } from '../ports/runtime.ts';
import { AdminAction, type AdminRequest, type DeploymentDescription } from '../use-cases/admin/admin-request.ts';
import { baselineView, createFleetView, type FleetView } from '../use-cases/admin/fleet-view.ts';
import type { VersionStatus } from '../use-cases/admin/version-status.ts';
import {
  AccessError,
  type DeadLetter,
  type FleetClient,
  FleetClientError,
  type RedriveResult,
  RequestRefusedError,
  type StackFleetClient,
  TargetAnswerError,
  TargetUnavailableError,
} from './fleet-client.ts';

/** The AWS clients the CLI uses, all on the operator's credentials (the SDK's default provider chain). */
export interface AwsClients {
  cloudFormation: CloudFormationClient;
  dynamodb: DynamoDBClient;
  lambda: LambdaClient;
  sqs: SQSClient;
}

export interface AwsFleetClientOptions {
  stack: string;
  /** `--region`; absent: the SDK's own resolution (AWS_REGION, the profile's region). */
  region?: string;
  /** Specs pass clients stubbed with aws-sdk-client-mock (or a DynamoDB client on dynalite). */
  clients?: AwsClients;
  clock?: Clock;
}

export function defaultAwsClients(region: string | undefined): AwsClients {
  const config = region === undefined ? {} : { region };
  return {
    cloudFormation: new CloudFormationClient(config),
    dynamodb: new DynamoDBClient(config),
    lambda: new LambdaClient(config),
    sqs: new SQSClient(config),
  };
}

const OPERATOR_HINT =
  'it needs the stack\'s operator policy (output OperatorPolicyArn; docs/deploy.md "Operator access")';

/** Every error an AWS call can end in, as one line that says what to do. */
export function explainAwsError(error: unknown, what: string, where: { stack: string; region?: string }): Error {
  if (error instanceof FleetClientError) return error;
  const region = where.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (error instanceof StackNotFoundError) {
    return /does not exist/.test(error.message)
      ? new TargetUnavailableError(
          `${error.message}${region ? ` in ${region}` : ''}: check --stack and --region (aws cloudformation describe-stacks lists the stacks)`,
          { cause: error },
        )
      : new TargetUnavailableError(error.message, { cause: error });
  }
  if (error instanceof AdminFunctionError) {
    return new TargetAnswerError(
      `the admin function ${error.message}; its log is in CloudWatch Logs (/aws/lambda/${error.functionName})`,
      { cause: error },
    );
  }
  // The store wraps SDK errors (StoreUnavailableError with the SDK error as cause): judge the innermost.
  let inner: unknown = error;
  while (inner instanceof Error && inner.cause !== undefined && !('$metadata' in inner)) inner = inner.cause;
  const e = inner as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(inner);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AccessError(
      'no AWS credentials found: sign in (aws sso login, aws configure, or set AWS_PROFILE) and run it again',
      { cause: error },
    );
  }
  if (/^Region is missing|region.*missing/i.test(message)) {
    return new FleetClientError('no AWS region: pass --region REGION or set AWS_REGION', { cause: error });
  }
  if (/^(ExpiredToken|ExpiredTokenException|TokenRefreshRequired)$/.test(name) || /token.*expired/i.test(message)) {
    return new AccessError('your AWS credentials have expired: sign in again (aws sso login) and run it again', {
      cause: error,
    });
  }
  if (/^(UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException)$/.test(name)) {
    return new AccessError(
      `AWS did not accept your credentials for ${what} (${name}): check AWS_PROFILE and the account`,
      { cause: error },
    );
  }
  if (/AccessDenied|NotAuthorized|Forbidden/i.test(name) || e.$metadata?.httpStatusCode === 403) {
    return new AccessError(`access denied to ${what}: ${OPERATOR_HINT}`, { cause: error });
  }
  const code = (inner as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT)$/.test(code)) {
    return new TargetUnavailableError(`cannot reach AWS for ${what} (${code}): check the network, proxy and --region`, {
      cause: error,
    });
  }
  if (/ResourceNotFound|NonExistentQueue|QueueDoesNotExist/.test(name)) {
    return new TargetUnavailableError(
      `${what}: not found (${name}); is stack ${where.stack} fully deployed in this region?`,
      { cause: error },
    );
  }
  return new TargetAnswerError(`${what} failed: ${name}: ${message.split('\n')[0]}`, { cause: error });
}

/**
 * The {@link FleetClient} of a deployed stack. Reads go to the table directly (the same fleet view as the
 * local server, on the DynamoDB store adapter); actions go through the deployed functions: the reconciler's
 * admin entry (describe, baseline ensure, version status) and the provisioner (dead-letter redrive), so their
 * rules stay in one place.
 */
export function createAwsFleetClient(options: AwsFleetClientOptions): StackFleetClient {
  const where = { stack: options.stack, ...(options.region === undefined ? {} : { region: options.region }) };
  const clients = options.clients ?? defaultAwsClients(options.region);
  const clock = options.clock ?? systemClock;
  const target = `stack ${options.stack}${options.region ? ` (${options.region})` : ''}`;

  const guard = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw explainAwsError(error, what, where);
    }
  };

  let outputs: Promise<StackOutputs> | undefined;
  const stackOutputs = () => {
    outputs ??= guard(`cloudformation:DescribeStacks of ${options.stack}`, () =>
      readStackOutputs(clients.cloudFormation, options.stack),
    );
    return outputs;
  };

  const admin = async (request: AdminRequest) => {
    const { adminFunctionName } = await stackOutputs();
    return guard(`lambda:InvokeFunction of ${adminFunctionName} (${request.action})`, () =>
      invokeAdmin(clients.lambda, adminFunctionName, request),
    );
  };
  const messageOf = (body: unknown, fallback: string) => {
    const m = (body as { message?: unknown } | undefined)?.message;
    return typeof m === 'string' ? m : fallback;
  };

  let description: Promise<DeploymentDescription> | undefined;
  const describe = () => {
    description ??= admin({ action: AdminAction.describe }).then((answer) => {
      if (answer.status !== 200)
        throw new TargetAnswerError(`describe: ${messageOf(answer.body, `the admin entry answered ${answer.status}`)}`);
      return answer.body as DeploymentDescription;
    });
    return description;
  };

  let fleet: Promise<FleetView> | undefined;
  const view = () => {
    fleet ??= Promise.all([stackOutputs(), describe()]).then(([out, d]) =>
      createFleetView({
        config: {
          pools: d.pools.map((p) => ({ ...p, launcher: p.launcher as LauncherKind })),
          runner: { version: d.runnerVersion },
        },
        store: createDynamoStore({ client: clients.dynamodb, tableName: out.tableName }),
        clock,
      }),
    );
    return fleet;
  };
  const read = async <T>(what: string, work: (v: FleetView) => Promise<T>): Promise<T> => {
    const v = await view();
    const { tableName } = await stackOutputs();
    return guard(`dynamodb reads of table ${tableName} (${what})`, () => work(v));
  };

  const publicLetter = ({ receiptHandle: _r, requestPayload: _p, ...rest }: DeadLetterMessage): DeadLetter => rest;

  return {
    target,
    baselineOnlineSeconds: async () => (await describe()).baselineOnlineTimeoutSeconds,
    status: () => read('status', (v) => v.status()),
    jobs: (filter, limit) => read('jobs', (v) => v.jobs(filter, limit)),
    job: (jobId) => read(`job ${jobId}`, (v) => v.job(jobId)),
    runners: () => read('runners', (v) => v.runners()),
    baselines: () => read('baselines', (v) => v.baselines()),
    async ensureBaseline(scope) {
      const answer = await admin({ action: AdminAction.baselineEnsure, scope });
      const message = messageOf(answer.body, `the admin entry answered ${answer.status}`);
      if (answer.status === 400) throw new RequestRefusedError(message);
      if (answer.status < 200 || answer.status >= 300) throw new TargetAnswerError(message);
      const baseline = (answer.body as { baseline?: Baseline } | undefined)?.baseline;
      return { status: answer.status, message, ...(baseline ? { baseline: baselineView(baseline) } : {}) };
    },
    async versionStatus() {
      const answer = await admin({ action: AdminAction.versionStatus });
      if (answer.status !== 200)
        throw new TargetAnswerError(
          `the admin entry answered ${answer.status} to version-status: ${messageOf(answer.body, 'no message')}`,
        );
      return answer.body as VersionStatus;
    },
    async doctor(webhookUrl) {
      const url = webhookUrl ?? (await stackOutputs()).webhookUrl;
      const answer = await admin({ action: AdminAction.doctor, webhookUrl: url });
      if (answer.status !== 200 || !(answer.body as { checks?: unknown } | undefined)?.checks)
        throw new TargetAnswerError(
          `the admin entry answered ${answer.status} to doctor: ${messageOf(answer.body, 'no report')}`,
        );
      return answer.body as DoctorReport;
    },
    async deadLetters() {
      const { deadLetterQueueUrl } = await stackOutputs();
      const letters = await guard(`sqs:ReceiveMessage on ${deadLetterQueueUrl}`, () =>
        receiveDeadLetters(clients.sqs, deadLetterQueueUrl, PEEK_VISIBILITY_SECONDS),
      );
      return { messages: letters.map(publicLetter) };
    },
    async redrive(selection) {
      const { deadLetterQueueUrl, provisionerFunctionName } = await stackOutputs();
      const letters = await guard(`sqs:ReceiveMessage on ${deadLetterQueueUrl}`, () =>
        receiveDeadLetters(clients.sqs, deadLetterQueueUrl, REDRIVE_VISIBILITY_SECONDS),
      );
      const wanted = 'all' in selection ? undefined : new Set(selection.jobIds);
      const result: RedriveResult = { redriven: [], skipped: [], notFound: [] };
      const ids = (l: DeadLetterMessage) => ({
        messageId: l.messageId,
        ...(l.jobId === undefined ? {} : { jobId: l.jobId }),
      });
      for (const letter of letters) {
        if (wanted && (letter.jobId === undefined || !wanted.has(letter.jobId))) continue;
        if (letter.requestPayload === undefined) {
          result.skipped.push({ ...ids(letter), reason: 'not a Lambda on-failure record; left in the queue' });
          continue;
        }
        try {
          await invokeEvent(clients.lambda, provisionerFunctionName, letter.requestPayload);
        } catch (error) {
          const explained = explainAwsError(error, `lambda:InvokeFunction of ${provisionerFunctionName}`, where);
          if (explained instanceof AccessError) throw explained;
          result.skipped.push({ ...ids(letter), reason: `${explained.message}; left in the queue` });
          continue;
        }
        await guard(`sqs:DeleteMessage on ${deadLetterQueueUrl}`, () =>
          deleteDeadLetter(clients.sqs, deadLetterQueueUrl, letter.receiptHandle),
        );
        result.redriven.push(ids(letter));
      }
      if (wanted) {
        const found = new Set(letters.map((l) => l.jobId));
        result.notFound = [...wanted].filter((id) => !found.has(id));
      }
      return result;
    },
  };
}
