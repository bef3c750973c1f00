import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { BundledLauncher } from '../../functions/composition/lambda-launcher.ts';
import { buildHandlers, stackBuildOptions } from './build-handlers.ts';
import { startFakeAws } from './fake-aws.ts';

const LAUNCHER_FUNCTIONS = ['provisioner', 'runner-events', 'reconciler'] as const;
const LAUNCHERS = ['codebuild', 'ec2'] as const;
/** A deployment whose pools use both launchers. */
const BOTH: BundledLauncher = 'codebuild,ec2';
/** The package each launcher's client comes from. */
const CLIENT_OF: Record<(typeof LAUNCHERS)[number], string> = {
  codebuild: '@aws-sdk/client-codebuild',
  ec2: '@aws-sdk/client-ec2',
};
/** The SDK's default credential chain and the clients only it uses (SSO, STS, ini files, web identity). */
const CREDENTIAL_CHAIN = [
  '@aws-sdk/credential-provider-node',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
];

/** Bytes of the bundle that come from each input file (an input tree-shaken away counts 0). */
async function bundleInputs(fn: string, launcher: BundledLauncher): Promise<Record<string, number>> {
  const result = await build({
    ...stackBuildOptions(launcher),
    entryPoints: [resolve(`functions/handlers/${fn}.ts`)],
    outfile: `${fn}.mjs`,
    write: false,
    metafile: true,
  });
  const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint);
  return Object.fromEntries(Object.entries(output?.inputs ?? {}).map(([path, input]) => [path, input.bytesInOutput]));
}

const bytesFrom = (inputs: Record<string, number>, pkg: string): number =>
  Object.entries(inputs)
    .filter(([path]) => path.includes(`node_modules/${pkg}/`))
    .reduce((sum, [, bytes]) => sum + bytes, 0);

describe('Lambda bundles per launcher (the stack builds each function for its deployment launcher)', () => {
  const inputs = {} as Record<string, Record<string, number>>;
  beforeAll(async () => {
    for (const launcher of [...LAUNCHERS, BOTH]) {
      for (const fn of [...LAUNCHER_FUNCTIONS, 'webhook'])
        inputs[`${fn}/${launcher}`] = await bundleInputs(fn, launcher);
    }
  }, 240_000);

  for (const launcher of LAUNCHERS) {
    const other = launcher === 'codebuild' ? 'ec2' : 'codebuild';
    it(`carries the ${launcher} client and no ${other} client code in a ${launcher} deployment`, () => {
      for (const fn of LAUNCHER_FUNCTIONS) {
        const bundle = inputs[`${fn}/${launcher}`] ?? {};
        expect(bytesFrom(bundle, CLIENT_OF[launcher]), `${fn}: ${CLIENT_OF[launcher]}`).toBeGreaterThan(1000);
        expect(bytesFrom(bundle, CLIENT_OF[other]), `${fn}: ${CLIENT_OF[other]}`).toBe(0);
      }
    });
  }

  it('carries both launcher clients in a deployment whose pools use CodeBuild and EC2', () => {
    for (const fn of LAUNCHER_FUNCTIONS) {
      for (const pkg of Object.values(CLIENT_OF)) {
        expect(bytesFrom(inputs[`${fn}/${BOTH}`] ?? {}, pkg), `${fn}: ${pkg}`).toBeGreaterThan(1000);
      }
    }
  });

  it('keeps both launcher clients out of the webhook bundle whatever the launcher', () => {
    for (const launcher of [...LAUNCHERS, BOTH]) {
      for (const pkg of Object.values(CLIENT_OF)) expect(bytesFrom(inputs[`webhook/${launcher}`] ?? {}, pkg)).toBe(0);
    }
  });

  it('replaces the default credential chain by the environment-variable provider in every bundle', () => {
    for (const [name, bundle] of Object.entries(inputs)) {
      for (const pkg of CREDENTIAL_CHAIN) expect(bytesFrom(bundle, pkg), `${name}: ${pkg}`).toBe(0);
      expect(bytesFrom(bundle, '@aws-sdk/credential-provider-env'), name).toBeGreaterThan(0);
    }
  });
});

describe('provisioner bundled for EC2', () => {
  const TABLE = 'jit-runners-ec2-bundle';
  const savedEnv = { ...process.env };
  let outdir: string;
  let dynamo: EmbeddedDynamo;
  let github: GitHubSimulator;
  let aws: Awaited<ReturnType<typeof startFakeAws>>;
  type Handler = (event: unknown) => Promise<Record<string, unknown>>;
  const load = async (fn: string): Promise<Handler> =>
    ((await import(pathToFileURL(join(outdir, `${fn}.mjs`)).href)) as { handler: Handler }).handler;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'jr-ec2-bundles-'));
    await buildHandlers(['provisioner', 'reconciler'], outdir, 'ec2');
    dynamo = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    client.destroy();
    github = await startGitHubSimulator();
    aws = await startFakeAws('unused');
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAEC2BUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
      AWS_SESSION_TOKEN: 'test-session-token',
      AWS_ENDPOINT_URL: aws.url,
      GITHUB_APP_ID: String(github.appId),
      GITHUB_APP_PRIVATE_KEY: github.privateKey,
      GITHUB_WEBHOOK_SECRET: 'ec2-bundle-webhook-secret',
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      RUNNER_LABELS: 'self-hosted,linux,x64',
      LAUNCHER: 'ec2',
      EC2_LAUNCH_TEMPLATE_ID: 'lt-0123456789abcdef0',
      EC2_SUBNET_IDS: 'subnet-0123456789abcdef0',
      PROVISIONER_FUNCTION_NAME: 'JitRunners-provisioner',
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      JIT_CONFIG_PARAMETER_PREFIX: '/JitRunners/jit-config',
      POWERTOOLS_METRICS_NAMESPACE: 'JitRunners/Test',
    });
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.close();
    await github?.close();
    await dynamo?.close();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('mints a JIT config and starts one instance from the launch template, signed with the environment credentials', async () => {
    const payload = github.queueJob({ owner: 'octo-org', repo: 'octo-repo', labels: ['self-hosted', 'linux', 'x64'] });
    const jobId = (payload.workflow_job as { id: number }).id;
    const store = createDynamoStore({ client: createLocalDynamoClient(dynamo.endpoint), tableName: TABLE });
    await store.jobs.create(
      {
        jobId,
        runId: jobId * 10,
        owner: 'octo-org',
        repo: 'octo-repo',
        scopeKey: 'octo-org/octo-repo',
        installationId: github.installationId,
        labels: ['self-hosted', 'linux', 'x64'],
      },
      'delivery-ec2-bundle',
      Date.now(),
    );

    const provisioner = await load('provisioner');
    expect(await provisioner({ jobId })).toEqual({ jobId, outcome: 'launched' });
    const run = aws.calls.filter((c) => c.operation === 'EC2.RunInstances');
    expect(run).toHaveLength(1);
    const params = new URLSearchParams(run[0]?.body ?? '');
    expect(params.get('LaunchTemplate.LaunchTemplateId')).toBe('lt-0123456789abcdef0');
    expect(params.get('SubnetId')).toBe('subnet-0123456789abcdef0');
    expect(aws.calls.some((c) => c.operation.startsWith('CodeBuild'))).toBe(false);
    const launchId = (await store.jobs.get(jobId))?.launchId;
    expect(launchId).toMatch(/^i-0[0-9a-f]{16}$/);
    // The hand-off is written after the launch, readable by that instance only.
    const operations = aws.calls.map((c) => c.operation);
    expect(operations.indexOf('EC2.RunInstances')).toBeLessThan(operations.indexOf('AmazonSSM.PutParameter'));
    const put = JSON.parse(aws.calls.find((c) => c.operation === 'AmazonSSM.PutParameter')?.body ?? '{}');
    expect(put.Tags?.[0]).toEqual({
      Key: 'jit-runners:reader',
      Value: `arn:aws:ec2:eu-west-1:111122223333:instance/${launchId}`,
    });
    // Every AWS request of the bundle was signed with the role credentials Lambda puts in the environment.
    expect(new Set(aws.calls.map((c) => c.accessKeyId))).toEqual(new Set(['AKIAEC2BUNDLETEST']));
  });

  it('refuses LAUNCHER=codebuild at cold start, naming the variable', async () => {
    process.env.LAUNCHER = 'codebuild';
    process.env.CODEBUILD_PROJECT_NAME = 'JitRunners-runner';
    const reconciler = await load('reconciler');
    await expect(reconciler({})).rejects.toThrow(/LAUNCHER.*bundled for ec2/);
  });
});
