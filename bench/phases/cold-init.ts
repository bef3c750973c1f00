import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient, ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { runnerName } from '../../functions/domain/runner-name.ts';
import { startAwsStub } from '../aws-stub.ts';
import { BENCH_OWNER, type BenchServices, SERVED_LABELS } from '../bench-env.ts';
import { DeliveryFactory, DeliveryKind } from '../deliveries.ts';
import type { PhaseResult } from '../phase.ts';
import { median, round } from '../stats.ts';
import type { Bundle } from './bundles.ts';

export interface ColdInitSettings {
  /** Fresh processes per function; the figure is their median. */
  runs: number;
  firstJobId: number;
}

interface RunResult {
  bootMs: number;
  importMs: number;
  totalMs: number;
  result?: unknown;
  error?: string;
}

const RUNNER = fileURLToPath(new URL('../cold-start/run-bundle.mjs', import.meta.url));

function runOnce(bundle: string, eventFile: string, resultFile: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // A fresh `node` with only the Lambda-like environment: no tsx, no inherited NODE_OPTIONS.
    const child = spawn(process.execPath, [RUNNER, bundle, eventFile, resultFile], { env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', async (code) => {
      try {
        resolve(JSON.parse(await readFile(resultFile, 'utf8')) as RunResult);
      } catch {
        reject(new Error(`cold start of ${bundle} exited ${code} without a result`));
      }
    });
  });
}

/** Did the handler answer the event the way a working deployment would? */
function answered(fn: string, run: RunResult): string | undefined {
  if (run.error) return run.error;
  const r = run.result as Record<string, unknown> | undefined;
  if (fn === 'webhook' && r?.statusCode !== 202) return `answered ${String(r?.statusCode)}: ${String(r?.body)}`;
  if (fn === 'provisioner' && r?.outcome !== 'launched') return `outcome ${String(r?.outcome)}`;
  return undefined;
}

/**
 * `cold_init_ms.<bundle>`: a fresh `node` process imports the bundle and answers one sample event
 * (import + first invocation, what Lambda reports as Init Duration plus the first Duration). Each bundle
 * runs with the `LAUNCHER` it was built for (`provisioner` CodeBuild, `provisioner_ec2` EC2). The store is
 * the embedded dynalite, GitHub the simulator (no added latency here), and the other AWS APIs a local
 * stub; the handlers reach them through their ordinary configuration (`DYNAMODB_ENDPOINT`,
 * `GITHUB_API_URL`, `AWS_ENDPOINT_URL_<SERVICE>`).
 */
export async function runColdInit(
  services: BenchServices,
  bundles: readonly Bundle[],
  settings: ColdInitSettings,
): Promise<PhaseResult> {
  // Loaded here, not at the top: aws-cdk-lib is heavy and the other phases do not need it.
  const { HANDLER_NODE_OPTIONS } = await import('../../cdk/constructs/handler-function.ts');
  const dir = await mkdtemp(join(tmpdir(), 'jit-runners-cold-'));
  const stub = await startAwsStub();
  const gh = services.github.ready;
  const tableName = `bench-cold-${Date.now()}`;
  const client = createLocalDynamoClient(services.dynamo.ready.endpoint);
  await ensureTable(client, tableName);
  const store = createDynamoStore({ client, tableName });
  const secret = 'bench-cold-start-webhook-secret';
  const factory = new DeliveryFactory({
    secret,
    installationId: gh.installationId,
    owner: BENCH_OWNER,
    repos: ['cold-repo'],
    servedLabels: SERVED_LABELS,
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_ENDPOINT_URL_LAMBDA: stub.url,
    AWS_ENDPOINT_URL_CODEBUILD: stub.url,
    AWS_ENDPOINT_URL_EC2: stub.url,
    AWS_ENDPOINT_URL_SSM: stub.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.url,
    [EnvName.tableName]: tableName,
    [EnvName.dynamodbEndpoint]: services.dynamo.ready.endpoint,
    [EnvName.githubAppId]: String(gh.appId),
    [EnvName.githubAppPrivateKey]: gh.privateKey,
    [EnvName.githubWebhookSecret]: secret,
    [EnvName.githubApiUrl]: gh.apiUrl,
    [EnvName.githubServerUrl]: gh.apiUrl,
    [EnvName.runnerLabels]: SERVED_LABELS.join(','),
    [EnvName.codebuildProjectName]: 'bench',
    [EnvName.ec2LaunchTemplateId]: 'lt-0bench0000000000',
    [EnvName.ec2SubnetIds]: 'subnet-0bench000000000',
    [EnvName.provisionerFunctionName]: 'bench-provisioner',
    [EnvName.logLevel]: 'INFO',
    // What the stack sets on every function (source-map support costs cold start: measured here too).
    ...(HANDLER_NODE_OPTIONS ? { NODE_OPTIONS: HANDLER_NODE_OPTIONS } : {}),
  };

  const figures: Record<string, number> = {};
  const importMs: Record<string, number> = {};
  const bootMs: Record<string, number> = {};
  const failures: string[] = [];
  let nextJobId = settings.firstJobId;
  const eventFor = async (bundle: Bundle): Promise<unknown> => {
    const jobId = nextJobId++;
    switch (bundle.fn) {
      case 'webhook': {
        const d = factory.delivery(DeliveryKind.served, jobId);
        return {
          version: '2.0',
          routeKey: '$default',
          rawPath: '/',
          rawQueryString: '',
          headers: d.headers,
          requestContext: {
            http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '140.82.115.1', userAgent: 'GitHub' },
            requestId: `bench-${jobId}`,
            timeEpoch: Date.now(),
          },
          body: d.body,
          isBase64Encoded: false,
        };
      }
      case 'provisioner':
        await store.jobs.create(
          {
            jobId,
            runId: jobId * 10,
            owner: BENCH_OWNER,
            repo: 'cold-repo',
            scopeKey: `${BENCH_OWNER}/cold-repo`,
            installationId: gh.installationId,
            labels: [...SERVED_LABELS],
          },
          `bench-${jobId}`,
          Date.now(),
        );
        return { jobId };
      case 'runner-events':
        if (bundle.launcher === 'ec2') {
          return {
            source: 'aws.ec2',
            'detail-type': 'EC2 Instance State-change Notification',
            time: new Date().toISOString(),
            detail: { 'instance-id': `i-0bench${jobId.toString(16).padStart(12, '0')}`, state: 'running' },
          };
        }
        return {
          source: 'aws.codebuild',
          'detail-type': 'CodeBuild Build State Change',
          time: new Date().toISOString(),
          detail: {
            'build-status': 'IN_PROGRESS',
            'project-name': 'bench',
            'build-id': `arn:aws:codebuild:us-east-1:123456789012:build/bench:${jobId}`,
            'additional-information': {
              environment: {
                'environment-variables': [{ name: 'JR_RUNNER_NAME', value: runnerName('jr', jobId, 1) }],
              },
            },
          },
        };
      default:
        return { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} };
    }
  };

  await services.github.call('latency', 0);
  try {
    for (const bundle of bundles) {
      const totals: number[] = [];
      const imports: number[] = [];
      const boots: number[] = [];
      for (let i = 0; i < settings.runs; i++) {
        const eventFile = join(dir, `${bundle.name}-${i}.event.json`);
        const resultFile = join(dir, `${bundle.name}-${i}.result.json`);
        await writeFile(eventFile, JSON.stringify(await eventFor(bundle)));
        const run = await runOnce(bundle.file, eventFile, resultFile, { ...env, [EnvName.launcher]: bundle.launcher });
        const problem = answered(bundle.fn, run);
        if (problem) failures.push(`cold init ${bundle.name}: ${problem.slice(0, 300)}`);
        totals.push(run.totalMs);
        imports.push(run.importMs);
        boots.push(run.bootMs);
      }
      figures[bundle.name] = round(median(totals));
      importMs[bundle.name] = round(median(imports));
      bootMs[bundle.name] = round(median(boots));
    }
  } finally {
    await services.github.call('latency', services.github.ready.latencyMs);
    client.destroy();
    await stub.close();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    figures: { cold_init_ms: figures },
    details: {
      runs_per_function: settings.runs,
      import_ms_median: importMs,
      node_boot_ms_median: bootMs,
      aws_stub_calls: stub.calls,
    },
    failures,
  };
}
