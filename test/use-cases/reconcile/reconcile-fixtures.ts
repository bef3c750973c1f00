/**
 * Shared set-up for the reconciler and stolen/spare specifications: the real core (`buildCore`) over the
 * MemoryStore, FakeGitHub and the RecordingLauncher, a dispatcher that only records, and a fake clock.
 * Time is always passed in: nothing here waits.
 */
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { buildCore, type Core } from '../../../functions/composition/build-core.ts';
import { type Config, parseConfig } from '../../../functions/config/config.ts';
import type { Job } from '../../../functions/domain/job.ts';
import type { WorkflowJobState } from '../../../functions/ports/github.ts';
import type { Dispatcher, Metrics } from '../../../functions/ports/runtime.ts';
import type { ReconcileSettings } from '../../../functions/use-cases/reconcile/reconcile.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';

export const T0 = 1_700_000_000_000;
export const SECRET = 'reconcile-test-secret';
export const OWNER = 'octo-org';
export const INSTALLATION = 1;

export class RecordingDispatcher implements Dispatcher {
  readonly calls: { jobId: number; delayMs: number }[] = [];
  async dispatch(jobId: number, options?: { delayMs?: number }): Promise<void> {
    this.calls.push({ jobId, delayMs: options?.delayMs ?? 0 });
  }
  jobs(): number[] {
    return this.calls.map((c) => c.jobId);
  }
  clear(): void {
    this.calls.length = 0;
  }
}

export const SWAP_GRACE_MS = 15_000;
/** Settings with round numbers, so each test can step over a deadline exactly. */
export const SETTINGS: ReconcileSettings = {
  leaseMs: 30_000,
  queuedGraceMs: 10_000,
  launchedCheckAfterMs: 120_000,
  runningCheckEveryMs: 60_000,
  orphanGraceMs: 5_000,
  swapGraceMs: SWAP_GRACE_MS,
  lostLaunchGraceMs: 15_000,
};

export interface World {
  config: Config;
  store: MemoryStore;
  github: FakeGitHub;
  launcher: RecordingLauncher;
  dispatcher: RecordingDispatcher;
  logger: CaptureLogger;
  core: Core;
  now: number;
  /** Records a queued job as the webhook would (delivery id `d-<jobId>`), and queues it on "GitHub". */
  queue(jobId: number, repo?: string): Promise<void>;
  /** Queues and provisions a job: `launched` with runner `jr-<jobId>-1` registered (offline) and launched. */
  launch(jobId: number, repo?: string): Promise<Job>;
  /** Sets what `GET /repos/{owner}/{repo}/actions/jobs/{id}` answers. */
  githubJob(
    jobId: number,
    status: WorkflowJobState['status'],
    runnerName?: string | null,
    conclusion?: string | null,
  ): void;
  /** A signed `workflow_job` delivery through the real webhook use case. */
  webhook(
    action: 'queued' | 'waiting' | 'in_progress' | 'completed',
    jobId: number,
    options?: { runnerName?: string | null; conclusion?: string | null; repo?: string; labels?: string[] },
  ): Promise<number>;
  job(jobId: number): Promise<Job>;
  reconcile(): ReturnType<Core['reconcile']>;
}

export function createWorld(
  options: { env?: Record<string, string>; owner?: string; store?: MemoryStore; metrics?: Metrics } = {},
): World {
  const config = parseConfig({ env: { GITHUB_WEBHOOK_SECRET: SECRET, ...options.env } }, 'local');
  const store = options.store ?? createMemoryStore();
  const github = new FakeGitHub();
  const launcher = new RecordingLauncher();
  const dispatcher = new RecordingDispatcher();
  const logger = new CaptureLogger();
  const world: World = {
    config,
    store,
    github,
    launcher,
    dispatcher,
    logger,
    now: T0,
    core: undefined as unknown as Core,
    async queue(jobId, repo = 'app') {
      await store.jobs.create(
        {
          jobId,
          runId: jobId * 10,
          owner: OWNER,
          repo,
          scopeKey: `${OWNER}/${repo}`,
          installationId: INSTALLATION,
          labels: ['self-hosted', 'linux', 'x64'],
        },
        `d-${jobId}`,
        world.now,
      );
      world.githubJob(jobId, 'queued');
    },
    async launch(jobId, repo = 'app') {
      await world.queue(jobId, repo);
      const outcome = await world.core.provisionJob(jobId);
      if (outcome !== 'launched') throw new Error(`job ${jobId} not launched: ${outcome}`);
      return world.job(jobId);
    },
    githubJob(jobId, status, runnerName = null, conclusion = null) {
      github.jobs.set(jobId, { id: jobId, status, runnerName, conclusion });
    },
    async webhook(action, jobId, o = {}) {
      const payload = workflowJobPayload({
        action,
        jobId,
        owner: OWNER,
        repo: o.repo ?? 'app',
        installationId: INSTALLATION,
        ...(o.runnerName !== undefined ? { runnerName: o.runnerName } : {}),
        ...(o.conclusion !== undefined ? { conclusion: o.conclusion } : {}),
        ...(o.labels !== undefined ? { labels: o.labels } : {}),
      });
      const d = await signedDelivery(SECRET, payload);
      const answer = await world.core.acceptWebhook({ headers: d.headers, body: d.body });
      return answer.status;
    },
    async job(jobId) {
      const job = await store.jobs.get(jobId);
      if (!job) throw new Error(`no job ${jobId}`);
      return job;
    },
    reconcile: () => world.core.reconcile(world.now),
  };
  world.core = buildCore({
    config,
    store,
    github,
    launcher,
    dispatcher,
    clock: { now: () => world.now },
    logger,
    metrics: options.metrics ?? { count() {}, measure() {} },
    owner: options.owner ?? 'reconcile-test',
    webhookSecrets: () => [SECRET],
    random: () => 0.5,
    reconcileSettings: SETTINGS,
  });
  return world;
}

/** GitHub calls other than listing the App's deliveries (docs/design.md "Flow" allows those). */
export function runnerApiCalls(github: FakeGitHub): string[] {
  return github.calls.filter((c) => c.op !== 'listHookDeliveries').map((c) => c.op);
}
