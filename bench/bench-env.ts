import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countStoreRequests, type StoreRequestCounter } from '../functions/adapters/dynamodb/count-store-requests.ts';
import { countWriteUnits, type WriteUnitCounter } from '../functions/adapters/dynamodb/count-write-units.ts';
import { createDynamoStore } from '../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient, ensureTable } from '../functions/adapters/dynamodb/ensure-table.ts';
import { createGitHubClient } from '../functions/adapters/github/github-client.ts';
import { createConsoleLogger } from '../functions/adapters/logging/console-logger.ts';
import { type LocalApp, startLocalApp } from '../functions/composition/local-app.ts';
import { type Config, parseConfig } from '../functions/config/config.ts';
import { EnvName } from '../functions/config/env-names.ts';
import type { GitHubPort } from '../functions/ports/github.ts';
import type { RunnerLauncher } from '../functions/ports/launcher.ts';
import { type ChildService, startChild } from './child-service.ts';
import type { DeliveryFactoryOptions } from './deliveries.ts';
import type { DynamoServiceReady } from './services/dynamo-service.ts';
import type { SimRequestCounts, SimulatorServiceReady } from './services/simulator-service.ts';
import { addStoreLatency } from './store-latency.ts';
import { TimedLauncher } from './timed-launcher.ts';

export interface Latencies {
  githubMs: number;
  storeMs: number;
  launchMs: number;
}

export const SERVED_LABELS = ['self-hosted', 'linux', 'x64'] as const;
export const BENCH_OWNER = 'bench-org';

/** The helper processes shared by every phase: the store, GitHub, and the load generator. */
export interface BenchServices {
  dynamo: ChildService<DynamoServiceReady>;
  github: ChildService<SimulatorServiceReady>;
  load: ChildService<Record<string, never>>;
  githubCounts(): Promise<SimRequestCounts>;
  resetGitHubCounts(): Promise<void>;
  close(): Promise<void>;
}

export async function startServices(
  latencies: Latencies,
  options: { cpuProfDir?: string } = {},
): Promise<BenchServices> {
  const url = (path: string) => new URL(path, import.meta.url);
  const childOptions = options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {};
  const [dynamo, github, load] = await Promise.all([
    startChild<DynamoServiceReady>(url('./services/dynamo-service.ts'), childOptions),
    startChild<SimulatorServiceReady>(url('./services/simulator-service.ts'), {
      ...childOptions,
      env: { BENCH_GITHUB_LATENCY_MS: String(latencies.githubMs) },
    }),
    startChild<Record<string, never>>(url('./services/load-service.ts'), childOptions),
  ]);
  return {
    dynamo,
    github,
    load,
    githubCounts: () => github.call<SimRequestCounts>('counts'),
    resetGitHubCounts: () => github.call<void>('reset'),
    async close() {
      await Promise.all([dynamo.close(), github.close(), load.close()]);
    },
  };
}

/** One server under test: the local app over a fresh table, with the counted, delayed store client. */
export interface BenchApp {
  app: LocalApp;
  config: Config;
  webhookUrl: string;
  launcher: TimedLauncher;
  /** Requests the server's store client sent (the hot path's DynamoDB requests). */
  storeRequests: StoreRequestCounter;
  /** Write units per partition key value of the table and its listing index, from the same client. */
  writeUnits: WriteUnitCounter;
  client: DynamoDBClient;
  tableName: string;
  deliveries: DeliveryFactoryOptions;
  close(): Promise<void>;
}

let tables = 0;

export async function startBenchApp(
  services: BenchServices,
  settings: {
    latencies: Latencies;
    repos: readonly string[];
    name: string;
    /** Experiments only: the GitHub client's in-flight limit instead of the app's default wiring. */
    githubMaxConcurrent?: number | undefined;
    /** More settings by env name (e.g. `RUNNER_POOLS`, `RECONCILE_INTERVAL_SECONDS`). */
    env?: Record<string, string>;
    /** Run the reconciler on its timer (`RECONCILE_INTERVAL_SECONDS`), as `npm start` does; default off. */
    reconcile?: boolean;
    /** Wraps the GitHub client the app uses (e.g. to time the JIT mints). */
    wrapGitHub?: (github: GitHubPort) => GitHubPort;
    /** Another launcher instead of the recording one (the boot phase's simulated platform). */
    launcher?: RunnerLauncher;
  },
): Promise<BenchApp> {
  const tableName = `bench-${settings.name}-${++tables}-${randomBytes(3).toString('hex')}`;
  const stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-bench-'));
  const gh = services.github.ready;
  const secret = randomBytes(24).toString('hex');
  const config = parseConfig(
    {
      env: {
        [EnvName.githubAppId]: String(gh.appId),
        [EnvName.githubAppPrivateKey]: gh.privateKey,
        [EnvName.githubWebhookSecret]: secret,
        [EnvName.githubApiUrl]: gh.apiUrl,
        [EnvName.githubServerUrl]: gh.apiUrl,
        [EnvName.runnerLabels]: SERVED_LABELS.join(','),
        // The recording launcher replaces the local one; the directory is never used.
        [EnvName.runnerDir]: stateDir,
        [EnvName.port]: '0',
        [EnvName.stateDir]: stateDir,
        [EnvName.tableName]: tableName,
        [EnvName.logLevel]: 'INFO',
        ...settings.env,
      },
    },
    'local',
  );

  const client = createLocalDynamoClient(services.dynamo.ready.endpoint);
  await ensureTable(client, tableName);
  addStoreLatency(client, settings.latencies.storeMs);
  const storeRequests = countStoreRequests(client);
  const writeUnits = countWriteUnits(client);
  const store = createDynamoStore({ client, tableName });
  const launcher = new TimedLauncher(settings.latencies.launchMs);

  // Logs are formatted as in production (JSON lines) and dropped: their cost stays in the figures.
  const logger = createConsoleLogger({ level: 'INFO', format: 'json', write: () => {} });
  const github =
    settings.githubMaxConcurrent === undefined && !settings.wrapGitHub
      ? undefined
      : createGitHubClient({
          appId: gh.appId,
          privateKey: gh.privateKey,
          apiUrl: gh.apiUrl,
          logger,
          ...(settings.githubMaxConcurrent === undefined ? {} : { maxConcurrent: settings.githubMaxConcurrent }),
        });
  const app = await startLocalApp({
    config,
    logger,
    host: '127.0.0.1',
    overrides: {
      launcher: settings.launcher ?? launcher,
      store,
      ...(github ? { github: settings.wrapGitHub ? settings.wrapGitHub(github) : github } : {}),
    },
    reconcile: settings.reconcile ?? false,
  });
  storeRequests.reset();
  writeUnits.reset();
  return {
    app,
    config,
    webhookUrl: `${app.url}/webhook`,
    launcher,
    storeRequests,
    writeUnits,
    client,
    tableName,
    deliveries: {
      secret,
      installationId: gh.installationId,
      owner: BENCH_OWNER,
      repos: settings.repos,
      servedLabels: SERVED_LABELS,
    },
    async close() {
      await app.close();
      client.destroy();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
