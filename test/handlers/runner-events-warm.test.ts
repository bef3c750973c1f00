import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { WARM_READY_PHRASE } from '../../functions/domain/warm-ready-line.ts';
import type { Store } from '../../functions/ports/store.ts';
import { startFakeAws } from './fake-aws.ts';

const PROJECT = 'JR-x64';
const TABLE = 'jit-runners-runner-events-warm';
const BUILD = '5e2c8a71-6b4d-4f3e-9c2a-1b0d9e8f7a6c';
const OTHER_BUILD = '6f3d9b82-7c5e-4a4f-8d3b-2c1e0f9a8b7d';

/** A CloudWatch Logs subscription batch of one build's stream, as the runner log filter forwards it. */
const logs = (build: string, message: string) => ({
  awslogs: {
    data: gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logGroup: '/jit-runners/JR/runners',
        logStream: `codebuild/${build}`,
        logEvents: [{ id: '1', timestamp: Date.now(), message }],
      }),
    ).toString('base64'),
  },
});
const readyLine = (name: string) =>
  `2026-12-04T03:20:00Z ${WARM_READY_PHRASE}: ${name} (runner 2.330.0, verified); waiting up to 900 s for its hand-off`;

/**
 * A warm CodeBuild runner's ready line through the runner-events handler (the real composition root over
 * the embedded store; every other AWS API answers on a loopback): the booting record of the build the
 * stream belongs to becomes `ready`; the same line from another build, or naming another runner, does not.
 */
describe('runner-events handler: a warm runner says it is ready', () => {
  const saved = { ...process.env };
  let dynamo: EmbeddedDynamo;
  let store: Store;
  let aws: Awaited<ReturnType<typeof startFakeAws>>;
  type Result = { signals: number; acted: number; unknown: number };
  let handler: (event: unknown) => Promise<Result>;

  const booting = (name: string, launchId: string) =>
    store.runners.put(
      {
        name,
        kind: 'warm',
        pool: 'x64',
        scopeKey: '',
        installationId: 0,
        launchId,
        version: '2.330.0',
        state: 'booting',
        createdAt: Date.now(),
      },
      Date.now(),
    );

  beforeAll(async () => {
    aws = await startFakeAws(PROJECT);
    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    store = createDynamoStore({ client, tableName: TABLE });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIATESTWARM',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      GITHUB_WEBHOOK_SECRET: 'runner-events-warm-secret',
      LAUNCHER: 'codebuild',
      PROVISIONER_FUNCTION_NAME: 'JR-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JR/jit-config',
      RUNNER_POOLS: JSON.stringify([
        { name: 'x64', labels: ['x64'], launcher: 'codebuild', warm: 1, codebuild: { projectName: PROJECT } },
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

  it('moves the booting warm runner of the build to ready when its ready line arrives', async () => {
    await booting('jr-warm-x64-1a2b', `${PROJECT}:${BUILD}`);
    expect(await handler(logs(BUILD, readyLine('jr-warm-x64-1a2b')))).toMatchObject({ signals: 1, acted: 1 });
    const record = await store.runners.get('jr-warm-x64-1a2b');
    expect(record?.state).toBe('ready');
    expect(record?.readyAt).toEqual(expect.any(Number));
  });

  it('leaves the record booting when the line names another runner than the build runs', async () => {
    await booting('jr-warm-x64-3c4d', `${PROJECT}:${OTHER_BUILD}`);
    expect(await handler(logs(OTHER_BUILD, readyLine('jr-warm-x64-9999')))).toMatchObject({ signals: 1, acted: 0 });
    expect((await store.runners.get('jr-warm-x64-3c4d'))?.state).toBe('booting');
  });

  it('counts a ready line from a build that is no launch of ours as unknown', async () => {
    const stray = '7a4e0c93-8d6f-4b5a-9e4c-3d2f1a0b9c8e';
    expect(await handler(logs(stray, readyLine('jr-warm-x64-1a2b')))).toMatchObject({ signals: 0, unknown: 1 });
  });
});
