import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { decodeRunnerEvent, type PendingSignal } from '../../functions/handlers/runner-events-input.ts';
import { startFakeAws } from './fake-aws.ts';

const UUID = '0b8f5c3e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const OTHER = '1c9f6d4f-2e3b-4d4c-8f9a-8b7c6d5e4f3a';
const PROJECTS = ['JR-x64', 'JR-docker'];
const TABLE = 'jit-runners-runner-events-pools';

const logs = (logStream: string, message = 'a line of the runner') => ({
  awslogs: {
    data: gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logGroup: '/jit-runners/JR/runners/docker',
        logStream,
        logEvents: [{ id: '1', timestamp: 1000, message }],
      }),
    ).toString('base64'),
  },
});
const codebuildState = (project: string, uuid: string) => ({
  source: 'aws.codebuild',
  'detail-type': 'CodeBuild Build State Change',
  time: '2026-01-01T00:00:00Z',
  detail: {
    'build-status': 'FAILED',
    'project-name': project,
    'build-id': `arn:aws:codebuild:eu-west-1:123456789012:build/${project}:${uuid}`,
  },
});
const ec2State = (instance: string) => ({
  source: 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  time: '2026-01-01T00:00:00Z',
  detail: { 'instance-id': instance, state: 'terminated' },
});
const pendingOf = (event: unknown, projects: readonly string[]): PendingSignal[] => {
  const decoded = decodeRunnerEvent(event, projects);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.pending;
};

describe('runner events of a deployment with several pools', () => {
  it("offers a CodeBuild log stream's build under every pool's project, and signals with the one found", () => {
    const [p] = pendingOf(logs(`codebuild/${UUID}`), PROJECTS);
    if (!p || !('toSignal' in p)) throw new Error('expected a pending lookup');
    expect(p.candidates).toEqual([`JR-x64:${UUID}`, `JR-docker:${UUID}`]);
    expect(p.toSignal('jr-7-1', `JR-docker:${UUID}`)).toMatchObject({
      kind: 'log',
      runnerName: 'jr-7-1',
      launchId: `JR-docker:${UUID}`,
    });
  });

  it('keeps one launch id for one project and for EC2 log streams', () => {
    const [single] = pendingOf(logs(`codebuild/${UUID}`), ['JR-x64']);
    expect(single && 'toSignal' in single && [single.launchId, single.candidates]).toEqual([
      `JR-x64:${UUID}`,
      undefined,
    ]);
    const [instance] = pendingOf(logs('ec2/i-0123456789abcdef0'), PROJECTS);
    expect(instance && 'toSignal' in instance && [instance.launchId, instance.candidates]).toEqual([
      'i-0123456789abcdef0',
      undefined,
    ]);
  });

  it("keys a state change of any pool's build by its build id, and an instance's by its id", () => {
    const [build] = pendingOf(codebuildState('JR-docker', UUID), PROJECTS);
    expect(build?.launchId).toBe(`JR-docker:${UUID}`);
    const [instance] = pendingOf(ec2State('i-0aaa'), PROJECTS);
    expect(instance?.launchId).toBe('i-0aaa');
  });
});

describe('runner-events handler with pools', () => {
  const saved = { ...process.env };
  let dynamo: EmbeddedDynamo;
  type Result = { signals: number; acted: number; unknown: number };
  let handler: (event: unknown) => Promise<Result>;
  // Every AWS API but DynamoDB (the hand-off deletes of ended runners, the launchers' lookups) answers
  // locally: no request leaves the machine.
  let aws: Awaited<ReturnType<typeof startFakeAws>>;

  beforeAll(async () => {
    aws = await startFakeAws('JR-x64');
    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    const store = createDynamoStore({ client, tableName: TABLE });
    // Baseline runner records (the handler looks launches up in open jobs and active runners).
    const runner = (name: string, launchId: string) =>
      store.runners.put(
        {
          name,
          kind: 'baseline',
          scopeKey: 'octo/repo',
          installationId: 1,
          launchId,
          version: '2.330.0',
          state: 'launched',
          createdAt: Date.now(),
        },
        Date.now(),
      );
    await runner('jr-baseline-octo-repo-d0c4', `JR-docker:${UUID}`);
    await runner('jr-baseline-octo-repo-a64e', 'i-0aaaaaaaaaaaaaaa1');

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIATESTPOOLS',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      GITHUB_WEBHOOK_SECRET: 'runner-events-pools-secret',
      LAUNCHER: 'codebuild',
      PROVISIONER_FUNCTION_NAME: 'JR-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JR/jit-config',
      RUNNER_POOLS: JSON.stringify([
        { name: 'x64', labels: ['x64'], launcher: 'codebuild', codebuild: { projectName: 'JR-x64' } },
        { name: 'docker', labels: ['docker'], launcher: 'codebuild', codebuild: { projectName: 'JR-docker' } },
        { name: 'arm64', labels: ['arm64'], launcher: 'ec2', ec2: { launchTemplateId: 'lt-0aaaaaaaaaaaaaaa1' } },
      ]),
    });
    ({ handler } = (await import('../../functions/handlers/runner-events.ts')) as unknown as {
      handler: typeof handler;
    });
  }, 60_000);

  afterAll(async () => {
    process.env = saved;
    await dynamo?.close();
    await aws?.close();
  });

  it("finds the runner of a log line from the second pool's project", async () => {
    expect(await handler(logs(`codebuild/${UUID}`))).toMatchObject({ signals: 1, unknown: 0 });
  });

  it("finds the runners of a build state change and an instance state change of the pools' projects and templates", async () => {
    expect(await handler(codebuildState('JR-docker', UUID))).toMatchObject({ signals: 1, unknown: 0 });
    expect(await handler(ec2State('i-0aaaaaaaaaaaaaaa1'))).toMatchObject({ signals: 1, unknown: 0 });
  });

  it('counts a build or instance that is no launch of ours as unknown', async () => {
    expect(await handler(logs(`codebuild/${OTHER}`))).toMatchObject({ signals: 0, unknown: 1 });
    expect(await handler(ec2State('i-0fffffffffffffff0'))).toMatchObject({ signals: 0, unknown: 1 });
  });
});
