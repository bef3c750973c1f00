import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { signedDelivery, workflowJobPayload } from '../support/webhook-fixtures.ts';
import { buildHandlers } from './build-handlers.ts';
import { startFakeAws } from './fake-aws.ts';

const HANDLERS = ['webhook', 'provisioner', 'runner-events', 'reconciler'] as const;
type HandlerName = (typeof HANDLERS)[number];
type Handler = (event: unknown) => Promise<Record<string, unknown>>;

const WEBHOOK_SECRET = 'bundle-test-webhook-secret';
const PROJECT = 'JitRunners-runner';
const TABLE = 'jit-runners-bundles';

let outdir: string;
let dynamo: EmbeddedDynamo;
let github: GitHubSimulator;
let aws: Awaited<ReturnType<typeof startFakeAws>>;
const handlers = {} as Record<HandlerName, Handler>;
const bundleSizes: Record<string, number> = {};
const savedEnv = { ...process.env };

function functionUrlEvent(headers: Record<string, string>, body: string) {
  return {
    version: '2.0',
    rawPath: '/',
    rawQueryString: '',
    headers,
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'GitHub-Hookshot/x' },
    },
  };
}

describe('bundled Lambda handlers', () => {
  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'jr-bundles-'));
    // Exactly the esbuild settings the CDK NodejsFunction uses (ESM, minified, source maps, SDK bundled,
    // the credential alias) for a CodeBuild deployment.
    await buildHandlers(HANDLERS, outdir, 'codebuild');
    for (const h of HANDLERS) bundleSizes[h] = statSync(join(outdir, `${h}.mjs`)).size;

    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    client.destroy();
    github = await startGitHubSimulator();
    aws = await startFakeAws(PROJECT);

    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIATESTTESTTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: String(github.appId),
      GITHUB_APP_PRIVATE_KEY: github.privateKey,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      RUNNER_LABELS: 'self-hosted,linux,x64',
      LAUNCHER: 'codebuild',
      CODEBUILD_PROJECT_NAME: PROJECT,
      PROVISIONER_FUNCTION_NAME: 'JitRunners-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JitRunners/jit-config',
      POWERTOOLS_METRICS_NAMESPACE: 'JitRunners/Test',
      POWERTOOLS_DEV: 'false',
      // What Lambda sets for on-demand environments (Powertools reports cold starts only there).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    });
    for (const h of HANDLERS) {
      const mod = (await import(pathToFileURL(join(outdir, `${h}.mjs`)).href)) as { handler: Handler };
      handlers[h] = mod.handler;
    }
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.close();
    await github?.close();
    await dynamo?.close();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('builds one self-contained ESM bundle per function', () => {
    for (const h of HANDLERS) {
      expect(bundleSizes[h]).toBeGreaterThan(10_000);
      expect(typeof handlers[h]).toBe('function');
    }
    console.info(`bundle sizes (bytes): ${JSON.stringify(bundleSizes)}`);
  });

  it('webhook: rejects an unsigned delivery with 401', async () => {
    const res = await handlers.webhook(functionUrlEvent({ 'x-github-event': 'ping' }, '{"zen":"x"}'));
    expect(res.statusCode).toBe(401);
  });

  let jobId = 0;
  it('webhook: records a signed queued job and dispatches it to the provisioner with Lambda Invoke (Event)', async () => {
    const payload = github.queueJob({ owner: 'octo-org', repo: 'octo-repo', labels: ['self-hosted', 'linux', 'x64'] });
    jobId = (payload.workflow_job as { id: number }).id;
    const delivery = await signedDelivery(WEBHOOK_SECRET, payload);
    const res = await handlers.webhook(functionUrlEvent(delivery.headers, delivery.body));
    expect(res.statusCode).toBe(202);
    const invokes = aws.calls.filter((c) => c.operation === 'Lambda.Invoke');
    // The job is recorded already leased to this dispatch: the provisioner needs no lease write.
    expect(invokes.map((c) => JSON.parse(c.body))).toEqual([
      {
        jobId,
        handoff: {
          job: expect.objectContaining({ jobId, status: 'provisioning', leaseOwner: expect.any(String), attempt: 1 }),
        },
      },
    ]);
    provisionEvent = JSON.parse(invokes[0]?.body ?? '{}');
  });

  let provisionEvent: unknown;
  it('provisioner: leaves a job leased to a hand-off alone when the event does not carry it', async () => {
    expect(await handlers.provisioner({ jobId })).toEqual({ jobId, outcome: 'skipped' });
    expect(aws.calls.some((c) => c.operation === 'CodeBuild_20161006.StartBuild')).toBe(false);
  });

  it('provisioner: mints a JIT config, starts one CodeBuild build, then hands the config over in SSM for that build', async () => {
    const result = await handlers.provisioner(provisionEvent);
    expect(result).toEqual({ jobId, outcome: 'launched' });
    const operations = aws.calls.map((c) => c.operation);
    expect(operations.indexOf('CodeBuild_20161006.StartBuild')).toBeLessThan(
      operations.indexOf('AmazonSSM.PutParameter'),
    );
    const put = aws.calls.find((c) => c.operation === 'AmazonSSM.PutParameter');
    const putBody = JSON.parse(put?.body ?? '{}') as {
      Name: string;
      Type: string;
      Value: string;
      Tags: { Key: string; Value: string }[];
    };
    expect(putBody.Type).toBe('SecureString');
    expect(putBody.Name).toMatch(/^\/JitRunners\/jit-config\/jr-\d+-1-[0-9a-f]{32}$/);
    expect(putBody.Tags[0]).toEqual({
      Key: 'jit-runners:reader',
      Value: expect.stringMatching(/^arn:aws:codebuild:eu-west-1:111122223333:build\//),
    });
    const start = aws.calls.find((c) => c.operation === 'CodeBuild_20161006.StartBuild');
    expect(start?.body).toContain(putBody.Name);
    expect(start?.body).not.toContain(putBody.Value);
    expect(JSON.parse(start?.body ?? '{}')).toMatchObject({
      projectName: PROJECT,
      idempotencyToken: expect.any(String),
    });
  });

  it('provisioner: lets a malformed event go without a retry storm', async () => {
    expect(await handlers.provisioner({ nope: true })).toEqual({ jobId: 0, outcome: 'invalid-event' });
  });

  it('webhook: bundles neither Octokit nor a launcher client (ingress only)', () => {
    const webhook = readFileSync(join(outdir, 'webhook.mjs'), 'utf8');
    const provisioner = readFileSync(join(outdir, 'provisioner.mjs'), 'utf8');
    for (const marker of ['StartBuild', 'generate-jitconfig', 'PutParameter']) {
      expect(provisioner).toContain(marker);
      expect(webhook).not.toContain(marker);
    }
  });

  it('provisioner: a CodeBuild deployment carries no EC2 client code', () => {
    for (const h of ['provisioner', 'runner-events', 'reconciler'] as const) {
      expect(readFileSync(join(outdir, `${h}.mjs`), 'utf8')).not.toContain('RunInstances');
    }
  });

  it('signs every AWS request with the credentials Lambda puts in the environment', () => {
    expect(aws.calls.length).toBeGreaterThan(0);
    expect(new Set(aws.calls.map((c) => c.accessKeyId))).toEqual(new Set(['AKIATESTTESTTEST']));
  });

  it('runner-events: maps a subscription log batch of a runner build to its runner', async () => {
    const start = aws.calls.find((c) => c.operation === 'CodeBuild_20161006.StartBuild');
    expect(start).toBeDefined();
    // The build id the fake answered is in the job (launchId); its log stream is codebuild/<uuid>.
    const ids = await import('../../functions/adapters/dynamodb/dynamo-store.ts').then(({ createDynamoStore }) =>
      createDynamoStore({ client: createLocalDynamoClient(dynamo.endpoint), tableName: TABLE }).jobs.get(jobId),
    );
    const launchId = ids?.launchId ?? '';
    expect(launchId.startsWith(`${PROJECT}:`)).toBe(true);
    const data = gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logGroup: '/jit-runners/JitRunners/runners',
        logStream: `codebuild/${launchId.slice(PROJECT.length + 1)}`,
        logEvents: [{ id: '1', timestamp: Date.now(), message: 'A session for this runner already exists.' }],
      }),
    ).toString('base64');
    const result = await handlers['runner-events']({ awslogs: { data } });
    expect(result).toMatchObject({ signals: 1, unknown: 0 });
  });

  it('runner-events: ignores state changes of instances that are not runners of this fleet', async () => {
    const result = await handlers['runner-events']({
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      time: new Date().toISOString(),
      detail: { 'instance-id': 'i-0123456789abcdef0', state: 'terminated' },
    });
    expect(result).toEqual({ signals: 0, acted: 0, unknown: 1 });
  });

  it('runner-events: drops a malformed event with a log line that has the request id and cold start, not the payload', async () => {
    const context = (awsRequestId: string) => ({
      awsRequestId,
      functionName: 'JitRunners-runner-events',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:JitRunners-runner-events',
      memoryLimitInMB: '256',
    });
    const lines: Record<string, unknown>[] = [];
    const capture = (chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    };
    const spies = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
    for (const spy of spies) spy.mockImplementation(capture);
    const runnerEvents = handlers['runner-events'] as (event: unknown, context: unknown) => Promise<unknown>;
    try {
      const secret = 'ghs_A_TOKEN_IN_A_LOG_LINE';
      expect(
        await runnerEvents({ awslogs: { data: Buffer.from(secret).toString('base64') } }, context('req-a')),
      ).toEqual({ signals: 0, acted: 0, unknown: 0, dropped: 1 });
      expect(
        await runnerEvents(
          { source: 'aws.codebuild', 'detail-type': 'CodeBuild Build State Change', time: 'x', detail: {} },
          context('req-b'),
        ),
      ).toMatchObject({ dropped: 1 });
      const drops = lines.filter((l) => l.message === 'runner event dropped: malformed');
      expect(drops.map((l) => [l.function_request_id, l.cold_start, l.shape])).toEqual([
        ['req-a', true, 'cloudwatch-logs'],
        ['req-b', false, 'codebuild-state'],
      ]);
      expect(drops[0]).toMatchObject({ level: 'WARN', function: 'runner-events', reason: 'awslogs.data is not gzip' });
      expect(JSON.stringify(lines)).not.toContain(Buffer.from(secret).toString('base64'));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('reconciler: runs a reconcile pass and sweeps stale hand-offs', async () => {
    const result = await handlers.reconciler({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
    expect(result).toMatchObject({ ran: true, sweptHandOffs: 0 });
    expect(aws.calls.some((c) => c.operation === 'AmazonSSM.DescribeParameters')).toBe(true);
  });

  it('webhook: records completed and hands the progress to the provisioner function, calling no GitHub API', async () => {
    const githubBefore = github.requests.length;
    const invokesBefore = aws.calls.filter((c) => c.operation === 'Lambda.Invoke').length;
    const payload = workflowJobPayload({
      action: 'completed',
      jobId,
      owner: 'octo-org',
      repo: 'octo-repo',
      installationId: 1,
      runnerName: 'someone-elses-runner',
      conclusion: 'success',
    });
    const delivery = await signedDelivery(WEBHOOK_SECRET, payload);
    const res = await handlers.webhook(functionUrlEvent(delivery.headers, delivery.body));
    expect(res.statusCode).toBe(202);
    const invokes = aws.calls.filter((c) => c.operation === 'Lambda.Invoke').slice(invokesBefore);
    expect(invokes.map((c) => JSON.parse(c.body))).toEqual([
      {
        progress: expect.objectContaining({
          action: 'completed',
          jobId,
          owner: 'octo-org',
          repo: 'octo-repo',
          installationId: 1,
          runnerName: 'someone-elses-runner',
        }),
      },
    ]);
    expect(github.requests.length).toBe(githubBefore);
    progressEvent = JSON.parse(invokes[0]?.body ?? '{}');
  });

  let progressEvent: unknown;
  it('provisioner: runs the progress listeners for a handed-over progress event (spare runner retired)', async () => {
    const stopsBefore = aws.calls.filter((c) => c.operation === 'CodeBuild_20161006.StopBuild').length;
    expect(await handlers.provisioner(progressEvent)).toEqual({ jobId, outcome: 'progress-handled' });
    // The job ran on another runner: its own runner is a spare, retired by the provisioner function.
    expect(aws.calls.filter((c) => c.operation === 'CodeBuild_20161006.StopBuild').length).toBe(stopsBefore + 1);
    expect(await handlers.provisioner({ progress: { action: 'in_progress' } })).toEqual({
      jobId: 0,
      outcome: 'invalid-event',
    });
  });
});
