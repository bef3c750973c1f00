import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { startFakeAws } from './fake-aws.ts';

/**
 * The reconciler's admin entry (`{ "jitRunnersAdmin": … }`, what `jit-runners … --stack` invokes), on the
 * handler module itself: the core on dynalite, the GitHub simulator and the fake AWS endpoint, as a deployed
 * reconciler would build it. The schedule event still reconciles.
 */

const TABLE = 'jit-runners-reconciler-admin';
const savedEnv = { ...process.env };
let dynamo: EmbeddedDynamo;
let github: GitHubSimulator;
let aws: Awaited<ReturnType<typeof startFakeAws>>;
type Handler = (event?: unknown) => Promise<Record<string, unknown>>;
let handler: Handler;

const admin = async (request: unknown) =>
  (await handler({ jitRunnersAdmin: request })).jitRunnersAdmin as {
    action: string;
    status: number;
    body: { message?: string; [key: string]: unknown };
  };

describe('reconciler admin entry', () => {
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    client.destroy();
    github = await startGitHubSimulator();
    aws = await startFakeAws('JR-x64');
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIATESTTESTTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: String(github.appId),
      GITHUB_APP_PRIVATE_KEY: github.privateKey,
      GITHUB_WEBHOOK_SECRET: 'reconciler-admin-webhook-secret',
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      RUNNER_POOLS: JSON.stringify([
        {
          name: 'x64',
          labels: ['self-hosted', 'linux', 'x64'],
          launcher: 'codebuild',
          codebuild: { projectName: 'JR-x64' },
          maxRunners: 5,
        },
      ]),
      LAUNCHER: 'codebuild',
      CODEBUILD_PROJECT_NAME: 'JR-x64',
      PROVISIONER_FUNCTION_NAME: 'JR-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JR/jit-config',
      RUNNER_RELEASES_URL: `${github.apiUrl}/repos/actions/runner/releases`,
      POWERTOOLS_DEV: 'false',
    });
    ({ handler } = (await import('../../functions/handlers/reconciler.ts')) as unknown as { handler: Handler });
  }, 60_000);

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.close();
    await github?.close();
    await dynamo?.close();
  });

  it('answers an unknown action with an error naming the known ones, without a crash', async () => {
    expect(await admin({ action: 'drop-table' })).toEqual({
      action: 'drop-table',
      status: 400,
      body: { message: "unknown admin action 'drop-table' (one of describe, baseline-ensure, version-status, doctor)" },
    });
    expect((await admin('describe')).status).toBe(400);
    expect((await admin(null)).body.message).toMatch(/unknown admin action \(none given\)/);
  });

  it('validates the fields of a known action with zod: a missing scope, an unknown field', async () => {
    expect(await admin({ action: 'baseline-ensure' })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^admin action baseline-ensure: scope: /) },
    });
    expect((await admin({ action: 'describe', extra: 1 })).status).toBe(400);
  });

  it('describe: the pools, scope and start version the function parsed from its own configuration', async () => {
    const answer = await admin({ action: 'describe' });
    expect(answer).toMatchObject({ action: 'describe', status: 200 });
    expect(answer.body).toMatchObject({
      schema: 1,
      scope: 'repo',
      versionMode: 'pinned',
      baselinePolicy: 'on-error',
      pools: [{ name: 'x64', labels: ['self-hosted', 'linux', 'x64'], launcher: 'codebuild', maxRunners: 5 }],
    });
    expect(answer.body.runnerVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('baseline-ensure: the use case refuses a scope of the wrong kind with its own message (400)', async () => {
    expect(await admin({ action: 'baseline-ensure', scope: 'octo-org' })).toEqual({
      action: 'baseline-ensure',
      status: 400,
      body: { message: 'RUNNER_SCOPE is repo: give owner/repo, not octo-org' },
    });
  });

  it('version-status: the status the local GET /admin/version gives, releases read through the App', async () => {
    const answer = await admin({ action: 'version-status' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ schema: 1, mode: 'pinned', releases: { read: true } });
  });

  it('doctor: runs the setup checks in the function, against the webhook URL the CLI passes (the stack output)', async () => {
    const answer = await admin({ action: 'doctor', webhookUrl: 'https://abc.lambda-url.eu-west-1.on.aws/' });
    expect(answer.status).toBe(200);
    const report = answer.body as unknown as {
      ranIn: string;
      checks: { id: string; status: string; details: string[] }[];
    };
    expect(report.ranIn).toBe('lambda');
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(['app', 'installations', 'webhook', 'secrets']),
    );
    expect(report.checks.find((c) => c.id === 'app')?.status).toBe('ok');
    // The reconciler may not read the webhook secret: the check says so instead of judging a value it lacks.
    expect(report.checks.find((c) => c.id === 'secrets')?.details.join(' ')).toContain('not judged here');
    expect((await admin({ action: 'doctor', webhookUrl: '' })).status).toBe(400);
  });

  it('still reconciles on the schedule event (EventBridge), which has no admin key', async () => {
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect(result).toHaveProperty('failedSteps');
    expect(result).toHaveProperty('sweptHandOffs');
    expect(result).not.toHaveProperty('jitRunnersAdmin');
    const store = createDynamoStore({ client: createLocalDynamoClient(dynamo.endpoint), tableName: TABLE });
    expect(await store.jobs.listOpen()).toEqual([]);
  });
});
