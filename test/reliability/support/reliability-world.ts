/**
 * The local app over real parts for the reliability runs: the GitHub simulator (REST, App auth, webhooks
 * it delivers itself, broker, fault modes), the real Octokit adapter, the embedded dynalite store through
 * the real DynamoStore, and either the RecordingLauncher (when a real runner is not the point) or the local
 * process launcher with the sample runner. A webhook proxy sits where GitHub's deliveries arrive, so a fault
 * switch can answer some of them 500, and a client middleware can throttle the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient, ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { createGitHubClient } from '../../../functions/adapters/github/github-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { createLocalLauncher, type LocalLauncher } from '../../../functions/adapters/local/local-launcher.ts';
import {
  type GitHubSimulator,
  type GitHubSimulatorOptions,
  startGitHubSimulator,
} from '../../../functions/adapters/sandbox/github-simulator.ts';
import { type LocalApp, SAMPLE_RUNNER_DIR, startLocalApp } from '../../../functions/composition/local-app.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import type { Job } from '../../../functions/domain/job.ts';
import { isTerminal } from '../../../functions/domain/job-status.ts';
import type { GitHubPort } from '../../../functions/ports/github.ts';
import { type LaunchRequest, LaunchTransientError, type RunnerLauncher } from '../../../functions/ports/launcher.ts';
import type { Store } from '../../../functions/ports/store.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { signedDelivery } from '../../support/webhook-fixtures.ts';
import { startWebhookProxy, type WebhookProxy } from './webhook-proxy.ts';

export const MINT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';
export const LABELS = ['self-hosted', 'linux', 'x64'];
export const OWNER = 'rel-org';

/** Small seeded PRNG (mulberry32): fault choices are reproducible from the seed printed on failure. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Launch faults: a share of `launch` calls fail with a transient launcher error before anything starts. */
export class FlakyLauncher implements RunnerLauncher {
  readonly kind: string;
  failRate = 0;
  failures = 0;
  /** Runner names of the launches that succeeded, in order. */
  readonly launched: string[] = [];
  constructor(
    private readonly inner: RunnerLauncher,
    private readonly random: () => number,
  ) {
    this.kind = inner.kind;
  }
  /** Awaited before each launch (tests hold a launch back to force an order of events). */
  beforeLaunch: ((request: LaunchRequest) => Promise<void>) | undefined;
  async launch(request: LaunchRequest) {
    await this.beforeLaunch?.(request);
    if (this.random() < this.failRate) {
      this.failures += 1;
      throw new LaunchTransientError(`injected launch failure for ${request.runnerName}`);
    }
    const launch = await this.inner.launch(request);
    this.launched.push(request.runnerName);
    return launch;
  }
  launchRegular: RunnerLauncher['launchRegular'] = (request) => this.inner.launchRegular(request);
  stop: RunnerLauncher['stop'] = (launchId) => this.inner.stop(launchId);
  listActive: RunnerLauncher['listActive'] = () => this.inner.listActive();
}

/** The embedded store behind a client that can be throttled, and a store that can be restarted in place. */
export interface FaultyDynamo {
  store: Store;
  throttleRate: number;
  throttled: number;
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultyDynamo(
  dir: string,
  random: () => number,
  logger?: CaptureLogger,
): Promise<FaultyDynamo> {
  let embedded: EmbeddedDynamo = await startEmbeddedDynamo({ dir });
  const port = Number(new URL(embedded.endpoint).port);
  const client = createLocalDynamoClient(embedded.endpoint);
  await ensureTable(client, 'jit-runners');
  const faulty: FaultyDynamo = {
    store: createDynamoStore({ client, tableName: 'jit-runners' }),
    throttleRate: 0,
    throttled: 0,
    async restart(downMs = 300) {
      // A crash: every connection drops at once, as a killed store's would.
      await embedded.close({ graceMs: 0 });
      await new Promise((resolve) => setTimeout(resolve, downMs));
      // dynalite releases the LevelDB lock a little after its server closed: try again for a while.
      for (let tries = 0; ; tries++) {
        try {
          embedded = await startEmbeddedDynamo({ dir, port });
          logger?.info('test: embedded store restarted', { tries, port });
          return;
        } catch (error) {
          logger?.info('test: embedded store restart try failed', { tries, error: String(error) });
          if (tries >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async close() {
      client.destroy();
      await embedded.close();
    },
  };
  // Before the SDK's own retries: what the store adapter sees is throttling the SDK could not hide.
  client.middlewareStack.add(
    (next) => async (args) => {
      if (random() < faulty.throttleRate) {
        faulty.throttled += 1;
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectThrottling' },
  );
  return faulty;
}

export interface WorldOptions {
  env?: Record<string, string>;
  /** `recording`: no runner runs (jobs stop at `launched`); `sample`: the local launcher and sample runner. */
  runners?: 'recording' | 'sample';
  simulator?: GitHubSimulatorOptions;
  /** Octokit adapter timeouts (short ones let simulator latency act as request timeouts). */
  github?: { timeoutMs?: number; retryBaseDelayMs?: number };
  /** Use a throttleable, restartable store (default: local-app's own embedded store). */
  faultyStore?: boolean;
  reconcile?: boolean;
  seed?: number;
}

export interface World {
  sim: GitHubSimulator;
  app: LocalApp;
  proxy: WebhookProxy;
  logger: CaptureLogger;
  secret: string;
  random: () => number;
  recording: RecordingLauncher | undefined;
  flaky: FlakyLauncher;
  dynamo: FaultyDynamo | undefined;
  /** `queued` payloads of the jobs queued so far, by job id (for duplicate deliveries). */
  payloads: Map<number, Record<string, unknown>>;
  /** Queues jobs at the simulator, which delivers their `queued` webhooks through the proxy. */
  queue(count: number, repos: readonly string[], options?: { durationMs?: number }): number[];
  /** POSTs a payload straight to the local server (duplicates, fuzz). */
  post(payload: unknown, deliveryId: string): Promise<number>;
  /** Resolves when every job is terminal in the store; rejects with the stragglers after `timeoutMs`. */
  settle(jobIds: readonly number[], timeoutMs: number): Promise<Job[]>;
  /** JIT registrations and runner processes of ours still around. */
  lingering(): Promise<{ registrations: string[]; processes: string[] }>;
  /** Waits until nothing lingers; resolves with what is left after `timeoutMs` (empty when clean). */
  waitNoLingering(timeoutMs: number): Promise<{ registrations: string[]; processes: string[] }>;
  /** Same, for any predicate. */
  settleOn(jobIds: readonly number[], holds: (job: Job) => boolean, timeoutMs: number): Promise<Job[]>;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const random = seeded(options.seed ?? 1);
  const stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-rel-'));
  const sim = await startGitHubSimulator({
    jobDurationMs: 300,
    pollMs: 300,
    offlineAfterMs: 1_500,
    ...options.simulator,
  });
  const logger = new CaptureLogger();
  const config = parseConfig({
    env: {
      PORT: '0',
      STATE_DIR: stateDir,
      RECONCILE_INTERVAL_SECONDS: '1',
      RUNNER_START_TIMEOUT_SECONDS: '20',
      LOG_LEVEL: 'INFO',
      ...options.env,
    },
  });
  let app: LocalApp | undefined;
  let local: LocalLauncher | undefined;
  let recording: RecordingLauncher | undefined;
  let inner: RunnerLauncher;
  if (options.runners === 'sample') {
    local = createLocalLauncher({
      runnerDir: SAMPLE_RUNNER_DIR,
      workRoot: join(stateDir, 'runners'),
      env: { RUNNER_VERSION: config.runner.version },
      logger,
      onLine: (event) => {
        void app?.core.handleRunnerSignal({ kind: 'log', ...event }).catch(() => undefined);
      },
      onExit: (event) => {
        void app?.core.handleRunnerSignal({ kind: 'exit', ...event }).catch(() => undefined);
      },
    });
    inner = local;
  } else {
    recording = new RecordingLauncher();
    inner = recording;
  }
  const flaky = new FlakyLauncher(inner, random);
  const dynamo = options.faultyStore ? await startFaultyDynamo(join(stateDir, 'dynamodb'), random, logger) : undefined;
  const github: GitHubPort | undefined = options.github
    ? createGitHubClient({
        appId: sim.appId,
        privateKey: sim.privateKey,
        apiUrl: sim.apiUrl,
        ...(options.github.timeoutMs !== undefined ? { timeoutMs: options.github.timeoutMs } : {}),
        ...(options.github.retryBaseDelayMs !== undefined ? { retryBaseDelayMs: options.github.retryBaseDelayMs } : {}),
      })
    : undefined;
  app = await startLocalApp({
    config,
    logger,
    overrides: {
      simulator: sim,
      launcher: flaky,
      ...(github ? { github } : {}),
      ...(dynamo ? { store: dynamo.store } : {}),
    },
    // The world runs the reconciler itself (same interval), so close() can wait for a run in flight.
    reconcile: false,
  });
  const theApp = app;
  const secret = theApp.sandbox?.webhookSecret ?? '';
  const proxy = await startWebhookProxy(() => theApp.url);
  sim.configureWebhook({ url: proxy.url, secret });

  const payloads = new Map<number, Record<string, unknown>>();
  let reconciling: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let inFlight = false;
  const timer =
    options.reconcile === false
      ? undefined
      : setInterval(() => {
          if (stopped || inFlight) return; // a slow run is not queued up behind
          inFlight = true;
          reconciling = theApp.core
            .reconcile()
            .catch((error: unknown) => logger.error('reconcile failed', { error: String(error) }))
            .finally(() => {
              inFlight = false;
            });
        }, config.timeouts.reconcileIntervalSeconds * 1000);

  async function settleOn(jobIds: readonly number[], holds: (job: Job) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let open: number[] = [...jobIds];
    const done = new Map<number, Job>();
    while (Date.now() < deadline) {
      const next: number[] = [];
      for (const id of open) {
        const job = await theApp.store.jobs.get(id).catch(() => undefined);
        if (job && holds(job)) done.set(id, job);
        else next.push(id);
      }
      open = next;
      if (open.length === 0) return jobIds.map((id) => done.get(id) as Job);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const sample = await Promise.all(open.slice(0, 5).map((id) => theApp.store.jobs.get(id).catch(() => undefined)));
    throw new Error(
      `${open.length} of ${jobIds.length} jobs not settled after ${timeoutMs} ms; e.g. ${JSON.stringify(
        sample.map((j) => j && { jobId: j.jobId, status: j.status, attempt: j.attempt, history: j.history.slice(-4) }),
      )}`,
    );
  }

  async function lingering() {
    const registrations = sim
      .runners()
      .filter((r) => /^jr-\d+-\d+$/.test(r.name))
      .map((r) => r.name)
      .sort();
    const processes = (await flaky.listActive()).map((l) => l.runnerName).sort();
    return { registrations, processes };
  }

  return {
    sim,
    app: theApp,
    payloads,
    proxy,
    logger,
    secret,
    random,
    recording,
    flaky,
    dynamo,
    queue(count, repos, o = {}) {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) {
        const repo = repos[i % repos.length] as string;
        const payload = sim.queueJob({
          owner: OWNER,
          repo,
          labels: LABELS,
          deliver: true,
          ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
        });
        const id = (payload.workflow_job as { id: number }).id;
        payloads.set(id, payload);
        ids.push(id);
      }
      return ids;
    },
    async post(payload, deliveryId) {
      const d = await signedDelivery(secret, payload, { deliveryId });
      const res = await fetch(`${theApp.url}/webhook`, { method: 'POST', headers: d.headers, body: d.body });
      await res.arrayBuffer();
      return res.status;
    },
    settle(jobIds, timeoutMs) {
      return settleOn(jobIds, (job) => isTerminal(job.status), timeoutMs);
    },
    settleOn,
    lingering,
    async waitNoLingering(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let left = await lingering();
      while (Date.now() < deadline && left.registrations.length + left.processes.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = await lingering();
      }
      return left;
    },
    async close() {
      stopped = true;
      if (timer) clearInterval(timer);
      await reconciling;
      await sim.settled();
      await theApp.dispatcher.idle();
      await proxy.close();
      await theApp.close();
      await local?.close();
      await dynamo?.close();
      await sim.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Jobs launched twice. Each attempt has its own runner name and gets one runner; the only times a name
 * is launched again are recorded on the job: a re-mint after a failed launch ("launch failed") and a
 * robbed job reusing its runner's name once that runner is gone ("reusing runner name"). A job whose
 * launches (or mints) exceed its attempts plus those recorded repeats was launched twice.
 */
export function doubledLaunches(launched: readonly string[], jobs: readonly Job[]): number[] {
  return jobs.filter((job) => countFor(launched, job.jobId) > allowedLaunches(job)).map((job) => job.jobId);
}

/** Attempts plus the repeats of a name the job's history explains. */
export function allowedLaunches(job: Job): number {
  const repeats = job.history.filter((h) => /reusing runner name|launch failed/.test(h.note)).length;
  return job.attempt + repeats;
}

function countFor(names: readonly string[], jobId: number): number {
  return names.filter((name) => name.startsWith(`jr-${jobId}-`)).length;
}

/** Mints per job name, from the simulator's request log. */
export function mintsByJob(sim: GitHubSimulator): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of sim.requests) {
    if (r.endpoint !== MINT || r.status !== 201) continue;
    const name = (r.body as { name?: string }).name ?? '';
    const jobId = Number(/^jr-(\d+)-\d+$/.exec(name)?.[1]);
    out.set(jobId, [...(out.get(jobId) ?? []), name]);
  }
  return out;
}
