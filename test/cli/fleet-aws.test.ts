import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { createAwsFleetClient } from '../../functions/cli/aws-fleet-client.ts';
import type { FleetCommand } from '../../functions/cli/fleet-commands.ts';
import { runFleetCommand } from '../../functions/cli/fleet-commands.ts';
import { runCli } from '../../functions/cli/run-cli.ts';
import { runStackDoctor } from '../../functions/cli/stack-doctor.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import type { Store } from '../../functions/ports/store.ts';
import type { FleetStatus, JobView } from '../../functions/use-cases/admin/fleet-view.ts';
import { newJob } from '../use-cases/healing/heal-fixtures.ts';

/**
 * Every operator command against a deployed stack, stubbed where AWS cannot run here: CloudFormation, Lambda
 * and SQS with aws-sdk-client-mock (the exact requests asserted), the table on dynalite with the requests
 * the store sends recorded at the client (table, index, key condition). Errors are one line each.
 */

const STACK = 'JitRunners';
const REGION = 'eu-west-1';
const TABLE = 'JitRunners-State';
const QUEUE = `https://sqs.${REGION}.amazonaws.com/123456789012/JitRunners-provisioner-dlq`;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

const OUTPUTS = [
  { OutputKey: 'WebhookUrl', OutputValue: 'https://abc.lambda-url.eu-west-1.on.aws/' },
  { OutputKey: 'TableName', OutputValue: TABLE },
  { OutputKey: 'DeadLetterQueueUrl', OutputValue: QUEUE },
  { OutputKey: 'ProvisionerFunctionName', OutputValue: 'JitRunners-provisioner' },
  { OutputKey: 'AdminFunctionName', OutputValue: 'JitRunners-reconciler' },
  { OutputKey: 'OperatorPolicyArn', OutputValue: 'arn:aws:iam::123456789012:policy/JitRunners-Operator' },
];
const DESCRIBE = {
  schema: 1,
  scope: 'repo',
  runnerVersion: '2.330.0',
  versionMode: 'pinned',
  baselinePolicy: 'on-error',
  reconcileIntervalSeconds: 60,
  baselineOnlineTimeoutSeconds: 60,
  pools: [{ name: 'default', labels: ['self-hosted', 'linux', 'x64'], launcher: 'codebuild', maxRunners: 4 }],
};

/** An attribute value as the request carries it: plain (before the document client marshals) or `{ S }`. */
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : ((v as { S?: string } | undefined)?.S ?? undefined);
const keyOf = (input: Record<string, unknown>) => str((input.Key as { pk?: unknown } | undefined)?.pk);
/** A Lambda answer's payload (the SDK types it as its blob adapter; the client reads the bytes). */
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as NonNullable<InvokeCommandOutput['Payload']>;
const decode = (payload: unknown) => JSON.parse(new TextDecoder().decode(payload as Uint8Array));
const adminReply = (action: string, status: number, body: unknown) => ({
  StatusCode: 200,
  Payload: encode({ jitRunnersAdmin: { action, status, body } }),
});
/** A Lambda on-failure destination record, as the DLQ holds it. */
const record = (payload: unknown, error = 'provisioner failed: StoreUnavailableError') => ({
  version: '1.0',
  timestamp: '2026-01-05T09:58:00.000Z',
  requestContext: {
    requestId: 'e4b46cbf-b738-42f4-a0c1-2c3d4b5a6f70',
    functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:JitRunners-provisioner:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload: payload,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'HandlerFailure', errorMessage: error },
});

let dynamo: EmbeddedDynamo;
let dynamoClient: DynamoDBClient;
let store: Store;
const sent: { command: string; input: Record<string, unknown> }[] = [];
const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);

function client() {
  return createAwsFleetClient({
    stack: STACK,
    region: REGION,
    clients: {
      cloudFormation: new CloudFormationClient({ region: REGION }),
      dynamodb: dynamoClient,
      lambda: new LambdaClient({ region: REGION }),
      sqs: new SQSClient({ region: REGION }),
    },
    clock: { now: () => T0 + 60_000 },
  });
}

async function run(command: FleetCommand, json = false) {
  let out = '';
  let err = '';
  const code = await runFleetCommand(command, client(), { json }, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
  dynamoClient = createLocalDynamoClient(dynamo.endpoint);
  await ensureTable(dynamoClient, TABLE);
  store = createDynamoStore({ client: createLocalDynamoClient(dynamo.endpoint), tableName: TABLE });
  await store.jobs.create({ ...newJob(101), pool: 'default' }, 'd-101', T0);
  await store.jobs.create({ ...newJob(102, 'web'), pool: 'default' }, 'd-102', T0 + 1_000);
  await store.baselines.put(
    { scopeKey: 'octo/app', state: 'present', method: 'observed', runnerName: 'jr-7-1', workarounds: 0 },
    0,
    T0,
  );
  // What the store sends, as DynamoDB receives it (after the document client's marshalling).
  dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'serialize', priority: 'high', name: 'recordRequests' },
  );
}, 60_000);

afterAll(async () => {
  cfn.restore();
  lambda.restore();
  sqs.restore();
  dynamoClient?.destroy();
  await dynamo?.close();
});

beforeEach(() => {
  sent.length = 0;
  cfn.reset();
  lambda.reset();
  sqs.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: STACK, CreationTime: new Date(T0), StackStatus: 'UPDATE_COMPLETE', Outputs: OUTPUTS }],
  });
  lambda.on(InvokeCommand, { FunctionName: 'JitRunners-reconciler' }).callsFake((input: { Payload: Uint8Array }) => {
    const { action } = decode(input.Payload).jitRunnersAdmin as { action: string };
    if (action === 'describe') return adminReply(action, 200, DESCRIBE);
    if (action === 'version-status') return adminReply(action, 200, VERSION_STATUS);
    return adminReply(action, 200, {
      message: 'baseline recorded for octo/app',
      baseline: { scopeKey: 'octo/app', state: 'present', method: 'manual', workarounds: 0, updatedAt: T0, version: 2 },
    });
  });
});

const VERSION_STATUS = {
  schema: 1,
  at: '2026-01-05T10:01:00.000Z',
  mode: 'pinned',
  pin: '2.330.0',
  soakDays: 7,
  canaryPercent: 10,
  floor: '2.329.0',
  releasesUrl: 'https://api.github.com/repos/actions/runner/releases',
  releases: { read: true, count: 3 },
  current: { version: '2.330.0' },
  cutoffAlarm: false,
  bad: [],
  skipped: [],
  pools: [{ name: 'default', version: '2.330.0', tracked: false }],
};

const describeInputs = () => cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input);
const adminCalls = () =>
  lambda.commandCalls(InvokeCommand).map((c) => ({
    FunctionName: c.args[0].input.FunctionName,
    InvocationType: c.args[0].input.InvocationType,
    Payload: decode(c.args[0].input.Payload),
  }));

describe('jit-runners against a deployed stack (--stack)', () => {
  it('status: one DescribeStacks of the stack, describe through the admin function, the lists queried on gsi1', async () => {
    const r = await run({ command: 'status' });
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(describeInputs()).toEqual([{ StackName: STACK }]);
    expect(adminCalls()).toEqual([
      {
        FunctionName: 'JitRunners-reconciler',
        InvocationType: 'RequestResponse',
        Payload: { jitRunnersAdmin: { action: 'describe' } },
      },
    ]);
    const queries = sent.filter((s) => s.command === 'QueryCommand').map((s) => s.input);
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(q).toMatchObject({ TableName: TABLE, IndexName: 'gsi1' });
    const lists = queries.map((q) => str((q.ExpressionAttributeValues as Record<string, unknown>)[':list']));
    expect(lists).toEqual(
      expect.arrayContaining(['JOB_OPEN#0', 'JOB_ENDED#7', 'RUNNER_ACTIVE#3', 'BASELINE', 'BREAKER']),
    );
    expect(
      queries.find((q) => str((q.ExpressionAttributeValues as Record<string, unknown>)[':list']) === 'JOB_OPEN#0'),
    ).toMatchObject({ KeyConditionExpression: '#gpk = :list', ExpressionAttributeNames: { '#gpk': 'gsi1pk' } });
    // The listed keys are read back consistently, from the table; the pool slot and version record by key.
    const batch = sent.filter((s) => s.command === 'BatchGetItemCommand').map((s) => s.input.RequestItems);
    expect(batch).toContainEqual({
      [TABLE]: expect.objectContaining({
        ConsistentRead: true,
        Keys: expect.arrayContaining([{ pk: 'JOB#101', sk: 'META' }]),
      }),
    });
    expect(sent.filter((s) => s.command === 'GetItemCommand').map((s) => keyOf(s.input))).toEqual(
      expect.arrayContaining(['POOL#default', expect.stringMatching(/^VERSION#/)]),
    );
    expect(sent.filter((s) => !/^(Query|BatchGetItem|GetItem)Command$/.test(s.command))).toEqual([]);
    expect(r.out).toContain(`fleet of stack ${STACK} (${REGION}) at 2026-01-05T10:01:00.000Z`);
    expect(r.out).toMatch(/^default\s+codebuild\s+0\/4\s+0\s+2\s+self-hosted,linux,x64$/m);
    expect(r.out).toContain('jobs:      2 open (queued 2)');
    for (const line of r.out.split('\n')) expect(line.length).toBeLessThanOrEqual(100);

    const json = await run({ command: 'status' }, true);
    const status = JSON.parse(json.out) as FleetStatus;
    expect(status.pools).toEqual([
      {
        name: 'default',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'codebuild',
        maxRunners: 4,
        inUse: 0,
        backlog: 0,
        openJobs: 2,
      },
    ]);
    expect(status.version).toEqual({ current: '2.330.0', source: 'configured', bad: [] });
  });

  it('jobs list and job show: the same views as the local server, filtered by repository', async () => {
    const list = await run({ command: 'jobs list', filter: { repo: 'octo/web' }, limit: 50 }, true);
    expect((JSON.parse(list.out) as JobView[]).map((j) => j.jobId)).toEqual([102]);
    const text = await run({ command: 'jobs list', filter: {}, limit: 50 });
    expect(text.out.split('\n')[0]).toMatch(/^JOB\s+REPO\s+POOL\s+STATUS\s+ATT\s+UPDATED\s+NOTE$/);
    expect(text.out).toMatch(/^102\s+octo\/web\s+default\s+queued\s+1\s+2026-01-05 10:00:01Z/m);
    sent.length = 0;
    const job = await run({ command: 'job show', jobId: 101 });
    expect(job.out).toMatch(/^job 101 {2}octo\/app {2}status queued\n {2}pool: default\n/);
    expect(sent.map((s) => [s.command, s.input.TableName, keyOf(s.input)])).toEqual([
      ['GetItemCommand', TABLE, 'JOB#101'],
    ]);
    const missing = await run({ command: 'job show', jobId: 9 });
    expect(missing).toEqual({
      code: 1,
      out: '',
      err: `jit-runners: job 9 is not recorded in stack ${STACK} (${REGION}) (jit-runners jobs list shows the recent ones)\n`,
    });
  });

  it('runners list and baseline list read their lists; baseline ensure invokes the admin entry with the scope', async () => {
    expect((await run({ command: 'runners list' })).out).toBe('no runners alive\n');
    const baselines = await run({ command: 'baseline list' });
    expect(baselines.out).toMatch(/^octo\/app\s+present\s+observed\s+jr-7-1\s+-\s+0$/m);
    lambda.resetHistory();
    const ensure = await run({ command: 'baseline ensure', scope: 'octo/app' });
    expect(ensure.code).toBe(0);
    expect(ensure.out).toContain('ensuring a baseline for octo/app (up to 60 s)...\nbaseline recorded for octo/app\n');
    expect(adminCalls().map((c) => c.Payload)).toEqual([
      { jitRunnersAdmin: { action: 'describe' } },
      { jitRunnersAdmin: { action: 'baseline-ensure', scope: 'octo/app' } },
    ]);
    expect(adminCalls().every((c) => c.InvocationType === 'RequestResponse')).toBe(true);
  });

  it("runners list: a launched job's JIT runner comes from the open jobs' listing, with no read per job", async () => {
    await store.jobs.create({ ...newJob(103), pool: 'default' }, 'd-103', T0 + 2_000);
    await store.jobs.update(
      103,
      {},
      { set: { status: 'launched', runnerName: 'jr-103-1', runnerVersion: '2.330.0', launchedAt: T0 + 3_000 } },
      T0 + 3_000,
    );
    try {
      const json = await run({ command: 'runners list' }, true);
      expect(JSON.parse(json.out)).toEqual([
        {
          name: 'jr-103-1',
          kind: 'jit',
          state: 'launched',
          scope: 'octo/app',
          pool: 'default',
          version: '2.330.0',
          jobId: 103,
          createdAt: '2026-01-05T10:00:03.000Z',
          updatedAt: '2026-01-05T10:00:03.000Z',
        },
      ]);
      sent.length = 0;
      const r = await run({ command: 'runners list' });
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^jr-103-1\s+jit\s+default\s+launched\s+2\.330\.0\s+103\s+2026-01-05 10:00:03Z$/m);
      // Two listings (the runner records and the open jobs) on gsi1, the three open jobs read back in one batch.
      const lists = sent
        .filter((q) => q.command === 'QueryCommand')
        .map((q) => str((q.input.ExpressionAttributeValues as Record<string, unknown>)[':list'])?.split('#')[0]);
      expect([...new Set(lists)].sort()).toEqual(['JOB_OPEN', 'RUNNER_ACTIVE']);
      expect(sent.filter((q) => !/^(Query|BatchGetItem)Command$/.test(q.command))).toEqual([]);
      expect(sent.filter((q) => q.command === 'BatchGetItemCommand').length).toBe(1);
    } finally {
      await store.jobs.update(103, {}, { set: { status: 'completed' } }, T0 + 4_000);
    }
  });

  it("baseline ensure: the function's refusal (400) exits 2 with its message; a function error exits 1 naming its log", async () => {
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-reconciler' }).callsFake((input: { Payload: Uint8Array }) => {
      const { action } = decode(input.Payload).jitRunnersAdmin as { action: string };
      if (action === 'describe') return adminReply(action, 200, DESCRIBE);
      return adminReply(action, 400, { message: 'RUNNER_SCOPE is repo: give owner/repo, not octo' });
    });
    expect(await run({ command: 'baseline ensure', scope: 'octo' }, true)).toEqual({
      code: 2,
      out: '',
      err: 'jit-runners: RUNNER_SCOPE is repo: give owner/repo, not octo\n',
    });
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-reconciler' }).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'HandlerFailure',
        errorMessage: 'reconciler failed: ConfigError: GITHUB_APP_ID: …',
      }),
    });
    const failed = await run({ command: 'version status' });
    expect(failed.code).toBe(1);
    expect(failed.err.trimEnd().split('\n')).toEqual([
      'jit-runners: the admin function JitRunners-reconciler failed: HandlerFailure: reconciler failed: ConfigError: GITHUB_APP_ID: …; its log is in CloudWatch Logs (/aws/lambda/JitRunners-reconciler)',
    ]);
  });

  it('version status: answered by the admin entry, printed as the local command prints it', async () => {
    const r = await run({ command: 'version status' });
    expect(r.out).toMatch(/^runner version: pinned 2\.330\.0\n/);
    expect(adminCalls().map((c) => c.Payload)).toEqual([{ jitRunnersAdmin: { action: 'version-status' } }]);
  });

  it('dlq list: peeks with a short visibility and never deletes', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: 'm-1',
            ReceiptHandle: 'rh-1',
            Body: JSON.stringify(record({ jobId: 101 })),
            Attributes: { ApproximateReceiveCount: '2' },
          },
          {
            MessageId: 'm-2',
            ReceiptHandle: 'rh-2',
            Body: JSON.stringify(record({ progress: { jobId: 102, action: 'completed' } })),
          },
        ],
      })
      .resolves({ Messages: [] });
    const r = await run({ command: 'dlq list' });
    expect(r.code).toBe(0);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 5,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    });
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(r.out.split('\n')[0]).toMatch(/^JOB\s+KIND\s+FAILED AT\s+CONDITION\s+ATTEMPTS\s+ERROR$/);
    expect(r.out).toMatch(
      /^101\s+provision\s+2026-01-05 09:58:00Z\s+RetriesExhausted\s+3\s+HandlerFailure: provisioner faile…$/m,
    );
    expect(r.out).toMatch(/^102\s+progress\s+/m);
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [] });
    expect((await run({ command: 'dlq list' }, true)).out).toBe('{\n  "messages": []\n}\n');
  });

  it('dlq redrive: re-invokes the provisioner (Event) with the original payload, then deletes the message', async () => {
    const payload = { jobId: 101, handoff: { job: { jobId: 101 } } };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'm-1', ReceiptHandle: 'rh-1', Body: JSON.stringify(record(payload)) },
          { MessageId: 'm-2', ReceiptHandle: 'rh-2', Body: JSON.stringify(record({ jobId: 102 })) },
          { MessageId: 'm-3', ReceiptHandle: 'rh-3', Body: 'not a record' },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-provisioner' }).resolves({ StatusCode: 202 });
    const r = await run({ command: 'dlq redrive', selection: { jobIds: [101, 555] } });
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({ VisibilityTimeout: 60 });
    expect(adminCalls()).toEqual([
      { FunctionName: 'JitRunners-provisioner', InvocationType: 'Event', Payload: payload },
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE, ReceiptHandle: 'rh-1' },
    ]);
    expect(r).toEqual({ code: 1, out: 'redriven: 1 message (job 101)\nnot in the queue: job 555\n', err: '' });
  });

  it('dlq redrive --all: every record, and a body that is not one stays in the queue', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'm-2', ReceiptHandle: 'rh-2', Body: JSON.stringify(record({ jobId: 102 })) },
          { MessageId: 'm-3', ReceiptHandle: 'rh-3', Body: 'not a record' },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-provisioner' }).resolves({ StatusCode: 202 });
    const r = await run({ command: 'dlq redrive', selection: { all: true } }, true);
    expect(JSON.parse(r.out)).toEqual({
      redriven: [{ messageId: 'm-2', jobId: 102 }],
      skipped: [{ messageId: 'm-3', reason: 'not a Lambda on-failure record; left in the queue' }],
      notFound: [],
    });
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['rh-2']);
  });

  it('says in one line what to do when the stack is missing, credentials are missing, or access is denied', async () => {
    const oneLine = async (command: FleetCommand) => {
      const r = await run(command);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      const lines = r.err.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(r.err).not.toMatch(/\bat .*\.ts:\d+/);
      return lines[0];
    };
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error(`Stack with id ${STACK} does not exist`), {
        name: 'ValidationError',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    expect(await oneLine({ command: 'status' })).toBe(
      `jit-runners: stack ${STACK} does not exist in ${REGION}: check --stack and --region (aws cloudformation describe-stacks lists the stacks)`,
    );
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    expect(await oneLine({ command: 'jobs list', filter: {}, limit: 10 })).toBe(
      'jit-runners: no AWS credentials found: sign in (aws sso login, aws configure, or set AWS_PROFILE) and run it again',
    );
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(
        new Error(
          'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks',
        ),
        {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        },
      ),
    );
    expect(await oneLine({ command: 'dlq list' })).toBe(
      `jit-runners: access denied to cloudformation:DescribeStacks of ${STACK}: it needs the stack's operator policy (output OperatorPolicyArn; docs/deploy.md "Operator access")`,
    );
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' }),
      );
    expect(await oneLine({ command: 'status' })).toBe(
      `jit-runners: cannot reach AWS for cloudformation:DescribeStacks of ${STACK} (ENOTFOUND): check the network, proxy and --region`,
    );
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, CreationTime: new Date(T0), StackStatus: 'UPDATE_COMPLETE', Outputs: OUTPUTS }],
    });
    lambda.on(InvokeCommand).rejects(
      Object.assign(new Error('not authorized to perform: lambda:InvokeFunction'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    expect(await oneLine({ command: 'runners list' })).toBe(
      `jit-runners: access denied to lambda:InvokeFunction of JitRunners-reconciler (describe): it needs the stack's operator policy (output OperatorPolicyArn; docs/deploy.md "Operator access")`,
    );
  });

  it('tells an older stack without the new outputs to deploy this release', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: STACK,
          CreationTime: new Date(T0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: OUTPUTS.filter((o) => o.OutputKey !== 'AdminFunctionName'),
        },
      ],
    });
    expect((await run({ command: 'status' })).err).toBe(
      `jit-runners: stack ${STACK} lacks the output AdminFunctionName: deploy this release (npx cdk deploy) to add it\n`,
    );
  });

  it('finds the outputs of the construct inside another stack (logical ids with the construct id and a hash)', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Platform',
          CreationTime: new Date(T0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: OUTPUTS.map((o) => ({ ...o, OutputKey: `Runners${o.OutputKey}1A2B3C4D` })),
        },
      ],
    });
    expect((await run({ command: 'runners list' })).code).toBe(0);
  });
  it('doctor --stack: the reconciler runs the checks against the WebhookUrl output; a failed check exits 1', async () => {
    const report = {
      schema: 1,
      at: '2026-01-05T10:01:00.000Z',
      ranIn: 'lambda',
      checks: [
        { id: 'app', status: 'ok', summary: 'App 7 (jit-runners) accepts the JWT', details: [] },
        {
          id: 'webhook',
          status: 'fail',
          summary: "the App delivers to https://old.example/webhook, not this deployment's URL",
          fix: 'set the App’s webhook URL to https://abc.lambda-url.eu-west-1.on.aws/',
          details: [],
        },
      ],
      counts: { ok: 1, warn: 0, fail: 1 },
    };
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-reconciler' }).resolves(adminReply('doctor', 200, report));
    let out = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (out += t) };
    expect(await runStackDoctor({ stack: STACK }, { json: false }, io, client())).toBe(1);
    expect(adminCalls()).toEqual([
      {
        FunctionName: 'JitRunners-reconciler',
        InvocationType: 'RequestResponse',
        Payload: { jitRunnersAdmin: { action: 'doctor', webhookUrl: 'https://abc.lambda-url.eu-west-1.on.aws/' } },
      },
    ]);
    expect(out).toContain(`jit-runners doctor  (checked by the reconciler of stack ${STACK} (${REGION}))`);
    expect(out).toMatch(/^fail {2}webhook/m);
    expect(out).toContain('1 failed, 0 warnings, 1 ok: fix the failed checks above');
  });
});

describe('jit-runners --stack and the local configuration', () => {
  // Settings zod refuses: any parse of this machine's configuration throws a ConfigError naming LOG_LEVEL.
  const BAD = { LOG_LEVEL: 'LOUD', RUNNER_POOLS: '[not json' };
  const REPORT = {
    schema: 1,
    at: '2026-01-05T10:01:00.000Z',
    ranIn: 'lambda',
    checks: [{ id: 'app', status: 'ok', summary: 'App 7 (jit-runners) accepts the JWT', details: [] }],
    counts: { ok: 1, warn: 0, fail: 0 },
  };

  beforeEach(() => {
    // In process.env too, so a module that read it on its own (not through runCli's env) would fail the spec.
    for (const [name, value] of Object.entries(BAD)) vi.stubEnv(name, value);
    lambda.on(InvokeCommand, { FunctionName: 'JitRunners-reconciler' }).callsFake((input: { Payload: Uint8Array }) => {
      const { action } = decode(input.Payload).jitRunnersAdmin as { action: string };
      if (action === 'doctor') return adminReply(action, 200, REPORT);
      if (action === 'version-status') return adminReply(action, 200, VERSION_STATUS);
      return adminReply(action, 200, DESCRIBE);
    });
  });
  afterEach(() => vi.unstubAllEnvs());

  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), env: { ...process.env, ...BAD } };
    const code = await runCli(argv, io);
    return { code, out, err };
  }

  it('doctor --stack never parses it: an invalid local setting changes nothing, while it stops the local doctor', async () => {
    const r = await cli('doctor', '--stack', STACK, '--region', REGION);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`jit-runners doctor  (checked by the reconciler of stack ${STACK} (${REGION}))`);
    expect(r.out).toContain('0 failed, 0 warnings, 1 ok');
    expect(adminCalls().map((c) => c.Payload)).toEqual([
      { jitRunnersAdmin: { action: 'doctor', webhookUrl: 'https://abc.lambda-url.eu-west-1.on.aws/' } },
    ]);
    const json = await cli('doctor', '--json', '--stack', STACK, '--region', REGION);
    expect(JSON.parse(json.out)).toEqual(REPORT);
    // The same settings do stop a command that needs this machine's configuration: they really are invalid.
    await expect(cli('doctor')).rejects.toThrow(ConfigError);
    await expect(cli('doctor')).rejects.toThrow(/LOG_LEVEL/);
  });

  it('the operator commands with --stack never parse it either (version status through the admin entry)', async () => {
    const r = await cli('version', 'status', '--stack', STACK, '--region', REGION);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^runner version: pinned 2\.330\.0\n/);
    expect(adminCalls().map((c) => c.Payload)).toEqual([{ jitRunnersAdmin: { action: 'version-status' } }]);
    await expect(cli('version', 'status')).rejects.toThrow(ConfigError);
  });
});
