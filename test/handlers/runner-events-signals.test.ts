import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import type { Store } from '../../functions/ports/store.ts';
import { startFakeAws } from './fake-aws.ts';
import { type FakeGitHubApi, startFakeGitHubApi } from './fake-github-api.ts';

const PROJECT = 'JR-x64';
const TABLE = 'jit-runners-runner-events-signals';
const FORGED_BUILD = '2c0a6e5f-3f4c-4e5d-9a0b-9c8d7e6f5a4b';
const GENUINE_BUILD = '3d1b7f60-4a5d-4f6e-8b1c-0d9e8f7a6b5c';
const BAD_REQUEST =
  '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.';

/** A CloudWatch Logs subscription batch of one build's stream. */
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

/**
 * The forged-line finding of issue 11 through the runner-events handler (the real composition root over
 * the embedded store, the Octokit adapter against a loopback GitHub, the CodeBuild and Lambda clients
 * against a loopback AWS): a metadata-missing line written into the log stream of a runner that GitHub
 * shows busy with its job spends nothing and stops nothing; the same line from a runner that GitHub
 * cannot describe (500) while its job waits heals as before.
 */
describe('runner-events handler: log lines are hints until GitHub confirms them', () => {
  const saved = { ...process.env };
  let dynamo: EmbeddedDynamo;
  let store: Store;
  let github: FakeGitHubApi;
  let aws: Awaited<ReturnType<typeof startFakeAws>>;
  type Result = { signals: number; acted: number; unknown: number };
  let handler: (event: unknown) => Promise<Result>;

  /** A job the provisioner launched: runner `jr-<id>-1` registered on GitHub, build `build` running it. */
  async function launched(jobId: number, build: string) {
    const now = Date.now();
    await store.jobs.create(
      {
        jobId,
        runId: jobId * 10,
        owner: 'octo',
        repo: 'app',
        scopeKey: 'octo/app',
        installationId: 5,
        labels: ['x64'],
      },
      `delivery-${jobId}`,
      now,
    );
    await store.jobs.update(jobId, {}, { set: { status: 'provisioning' } }, now);
    const runnerId = 9_000 + jobId;
    await store.jobs.update(
      jobId,
      {},
      {
        set: {
          status: 'launched',
          runnerName: `jr-${jobId}-1`,
          runnerId,
          launchId: `${PROJECT}:${build}`,
          launchedAt: now - 1_000,
        },
      },
      now,
    );
    return runnerId;
  }

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    store = createDynamoStore({ client, tableName: TABLE });
    github = await startFakeGitHubApi();
    aws = await startFakeAws(PROJECT);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIATESTSIGNALS',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      GITHUB_API_URL: github.url,
      GITHUB_WEBHOOK_SECRET: 'runner-events-signals-secret',
      LAUNCHER: 'codebuild',
      CODEBUILD_PROJECT_NAME: PROJECT,
      PROVISIONER_FUNCTION_NAME: 'JR-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JR/jit-config',
    });
    ({ handler } = (await import('../../functions/handlers/runner-events.ts')) as unknown as {
      handler: typeof handler;
    });
  }, 60_000);

  afterAll(async () => {
    process.env = saved;
    await github?.close();
    await aws?.close();
    await dynamo?.close();
  });

  it('spends no budget and stops nothing for a forged metadata line of a runner GitHub shows busy with its job', async () => {
    const runnerId = await launched(11, FORGED_BUILD);
    github.runners.set(runnerId, { id: runnerId, name: 'jr-11-1', status: 'online', busy: true });
    github.jobs.set(11, { id: 11, status: 'in_progress', runnerName: 'jr-11-1' });

    expect(await handler(logs(FORGED_BUILD, BAD_REQUEST))).toMatchObject({ signals: 1, acted: 0, unknown: 0 });

    expect(await store.jobs.get(11)).toMatchObject({ status: 'launched', attempt: 1, heals: 0 });
    expect(await store.baselines.get('octo/app')).toBeUndefined();
    expect(await store.breakers.get('octo/app')).toBeUndefined();
    expect(github.runners.has(runnerId)).toBe(true);
    expect(github.calls.filter((c) => c.startsWith('DELETE') || c.includes('registration-token'))).toEqual([]);
    expect(aws.calls.map((c) => c.operation)).not.toContain('CodeBuild_20161006.StopBuild');
    expect(aws.calls.map((c) => c.operation)).not.toContain('Lambda.Invoke');
    // It asked GitHub about the runner, and stopped there: busy refutes on its own.
    expect(github.calls).toContain(`GET /repos/octo/app/actions/runners/${runnerId}`);
    expect(github.calls).not.toContain('GET /repos/octo/app/actions/jobs/11');
  });

  it('still heals a genuine metadata line: GitHub cannot describe the runner (500) and shows the job queued', async () => {
    const runnerId = await launched(12, GENUINE_BUILD);
    github.runners.set(runnerId, { id: runnerId, name: 'jr-12-1', status: 'online', busy: false, failWith: 500 });
    github.jobs.set(12, { id: 12, status: 'queued', runnerName: null });
    aws.calls.length = 0;

    expect(await handler(logs(GENUINE_BUILD, BAD_REQUEST))).toMatchObject({ signals: 1, acted: 1, unknown: 0 });

    expect(await store.jobs.get(12)).toMatchObject({ status: 'healing', attempt: 2, heals: 1 });
    expect(await store.baselines.get('octo/app')).toMatchObject({ state: 'missing' });
    expect(github.calls).toContain('GET /repos/octo/app/actions/jobs/12');
    expect(github.calls).toContain(`DELETE /repos/octo/app/actions/runners/${runnerId}`);
    const operations = aws.calls.map((c) => c.operation);
    expect(operations).toContain('CodeBuild_20161006.StopBuild');
    expect(operations).toContain('Lambda.Invoke');
    expect(aws.calls.find((c) => c.operation === 'CodeBuild_20161006.StopBuild')?.body).toContain(GENUINE_BUILD);
  }, 30_000);
});
