import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { startFakeAws } from '../handlers/fake-aws.ts';
import { templateIam } from '../support/iam-simulation.ts';
import { signedDelivery, workflowJobPayload } from '../support/webhook-fixtures.ts';
import { synthesize } from './synth-helpers.ts';

/**
 * The other half of the per-function DynamoDB claim: not only does each role deny what it should
 * (function-roles.test.ts), it allows every request its handler really sends. The four handlers run
 * (from source) against the embedded DynamoDB through a recording proxy, the GitHub simulator and the
 * loopback AWS fake; every DynamoDB request each one sent is then evaluated against that function's
 * role in the synthesized stack with @cloud-copilot/iam-simulate.
 */

type FunctionKey = 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler';
interface StoreCall {
  fn: FunctionKey;
  action: string;
  index: string | undefined;
  keys: string[];
}

const WEBHOOK_SECRET = 'store-calls-webhook-secret';
const PROJECT = 'JitRunners-runner';
const TABLE = 'jit-runners-store-calls';

let dynamo: EmbeddedDynamo;
let proxy: Server;
let github: GitHubSimulator;
let aws: Awaited<ReturnType<typeof startFakeAws>>;
let current: FunctionKey = 'webhook';
const calls: StoreCall[] = [];
const savedEnv = { ...process.env };

/** The partition keys a DynamoDB JSON request names (marshalled `{ pk: { S: … } }`). */
function keysOf(operation: string, body: Record<string, unknown>): string[] {
  const pk = (item: unknown) => ((item as { pk?: { S?: string } } | undefined)?.pk?.S ?? '') as string;
  switch (operation) {
    case 'PutItem':
      return [pk(body.Item)];
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [pk(body.Key)];
    case 'BatchGetItem':
      return Object.values(body.RequestItems as Record<string, { Keys: unknown[] }>).flatMap((r) => r.Keys.map(pk));
    default:
      return [];
  }
}

/** A proxy in front of the embedded DynamoDB that records each request's operation, index and keys. */
async function startRecordingProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      calls.push({
        fn: current,
        action: `dynamodb:${operation}`,
        index: typeof body.IndexName === 'string' ? body.IndexName : undefined,
        keys: keysOf(operation, body),
      });
      const forward = request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        },
      );
      forward.end(raw);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

type Handler = (event: unknown) => Promise<Record<string, unknown>>;
const handlers = {} as Record<FunctionKey, Handler>;
const run = async (fn: FunctionKey, event: unknown) => {
  current = fn;
  return handlers[fn](event);
};
const urlEvent = (headers: Record<string, string>, body: string) => ({
  version: '2.0',
  rawPath: '/',
  headers,
  body,
  isBase64Encoded: false,
  requestContext: { http: { method: 'POST', path: '/' } },
});

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
  const client = createLocalDynamoClient(dynamo.endpoint);
  await ensureTable(client, TABLE);
  client.destroy();
  const endpoint = await startRecordingProxy(dynamo.endpoint);
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
    DYNAMODB_ENDPOINT: endpoint,
    JIT_CONFIG_PARAMETER_PREFIX: '/JitRunners/jit-config',
    POWERTOOLS_METRICS_NAMESPACE: 'JitRunners/Test',
    POWERTOOLS_DEV: 'false',
  });
  handlers.webhook = (await import('../../functions/handlers/webhook.ts')).handler as unknown as Handler;
  handlers.provisioner = (await import('../../functions/handlers/provisioner.ts')).handler as unknown as Handler;
  handlers.runnerEvents = (await import('../../functions/handlers/runner-events.ts')).handler as unknown as Handler;
  handlers.reconciler = (await import('../../functions/handlers/reconciler.ts')).handler as unknown as Handler;

  // A job's whole life through the four functions.
  const payload = github.queueJob({ owner: 'octo-org', repo: 'octo-repo', labels: ['self-hosted', 'linux', 'x64'] });
  const jobId = (payload.workflow_job as { id: number }).id;
  const queued = await signedDelivery(WEBHOOK_SECRET, payload);
  expect((await run('webhook', urlEvent(queued.headers, queued.body))).statusCode).toBe(202);
  // The same delivery again: a duplicate adds its delivery id.
  expect((await run('webhook', urlEvent(queued.headers, queued.body))).statusCode).toBe(202);
  const dispatch = aws.calls.find((c) => c.operation === 'Lambda.Invoke');
  expect(await run('provisioner', JSON.parse(dispatch?.body ?? '{}'))).toMatchObject({ outcome: 'launched' });
  await run('runnerEvents', {
    source: 'aws.codebuild',
    'detail-type': 'CodeBuild Build State Change',
    time: new Date().toISOString(),
    detail: {
      'build-id': `arn:aws:codebuild:eu-west-1:111122223333:build/${PROJECT}:00000000-0000-0000-0000-000000000000`,
      'project-name': PROJECT,
      'build-status': 'SUCCEEDED',
    },
  });
  for (const action of ['in_progress', 'completed'] as const) {
    const delivery = await signedDelivery(
      WEBHOOK_SECRET,
      workflowJobPayload({ action, jobId, runnerName: 'someone-elses-runner', conclusion: 'success' }),
    );
    expect((await run('webhook', urlEvent(delivery.headers, delivery.body))).statusCode).toBe(202);
  }
  const progress = aws.calls.filter((c) => c.operation === 'Lambda.Invoke').at(-1);
  expect(await run('provisioner', JSON.parse(progress?.body ?? '{}'))).toMatchObject({ outcome: 'progress-handled' });
  expect(await run('reconciler', { source: 'aws.events' })).toMatchObject({ ran: true });
}, 180_000);

afterAll(async () => {
  process.env = savedEnv;
  await aws?.close();
  await github?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await dynamo?.close();
});

describe('each function role allows every DynamoDB request its handler sends', () => {
  it('recorded requests of all four functions, deletes only from the reconciler', () => {
    for (const fn of ['webhook', 'provisioner', 'runnerEvents', 'reconciler'] as const) {
      expect(
        calls.some((c) => c.fn === fn),
        fn,
      ).toBe(true);
    }
    const deletes = calls.filter((c) => c.action === 'dynamodb:DeleteItem');
    // The reconciler's lease release, and nothing else deletes.
    expect(deletes.length).toBeGreaterThan(0);
    expect(new Set(deletes.map((c) => `${c.fn} ${c.keys.map((k) => k.split('#')[0]).join(',')}`))).toEqual(
      new Set(['reconciler LOCK']),
    );
    // The webhook created, updated and read job items only.
    const webhook = calls.filter((c) => c.fn === 'webhook');
    const webhookActions = new Set(webhook.map((c) => c.action));
    expect(
      [...webhookActions].filter((a) => !['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'].includes(a)),
    ).toEqual([]);
    expect(webhookActions.has('dynamodb:PutItem') && webhookActions.has('dynamodb:UpdateItem')).toBe(true);
    expect(webhook.every((c) => c.keys.every((k) => k.startsWith('JOB#')))).toBe(true);
  });

  it('the synthesized roles allow each of them', async () => {
    const s = synthesize({ appId: 7 });
    const iam = templateIam(s.json);
    const table = iam.arnOf(s.stack.getLogicalId(s.stack.table.table.node.defaultChild as CfnElement));
    const denied: string[] = [];
    const seen = new Set<string>();
    for (const fn of ['webhook', 'provisioner', 'runnerEvents', 'reconciler'] as const) {
      const role = iam.role(s.stack.getLogicalId(s.stack.functions[fn].role.node.defaultChild as CfnElement));
      for (const call of calls.filter((c) => c.fn === fn)) {
        const key = `${fn} ${call.action} ${call.index ?? ''} ${call.keys.join(',')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const resource = call.index === undefined ? table : `${table}/index/${call.index}`;
        const context = call.keys.length > 0 ? { 'dynamodb:LeadingKeys': call.keys } : undefined;
        if (!(await role.can(call.action, resource, context))) denied.push(key);
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    expect(denied).toEqual([]);
  });
});
