import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalApp, type LocalAppOptions, startLocalApp } from '../../functions/composition/local-app.ts';
import { parseConfig } from '../../functions/config/config.ts';
import type { Job } from '../../functions/domain/job.ts';
import type { JobStatus } from '../../functions/domain/job-status.ts';
import { CaptureLogger } from './capture-logger.ts';
import { signedDelivery, workflowJobPayload } from './webhook-fixtures.ts';

export interface Harness {
  app: LocalApp;
  stateDir: string;
  logger: CaptureLogger;
  secret: string;
  /** POSTs a payload to `/webhook` over real HTTP, signed with the sandbox secret. */
  post(
    payload: unknown,
    options?: { event?: string; deliveryId?: string; body?: string; secret?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Queues a job at the simulator and delivers its real `queued` payload. */
  queue(options: {
    owner?: string;
    repo?: string;
    labels?: string[];
    deliveryId?: string;
  }): Promise<{ jobId: number; status: number }>;
  waitForJob(jobId: number, predicate: (job: Job) => boolean, timeoutMs?: number): Promise<Job>;
  waitForStatus(jobId: number, status: JobStatus, timeoutMs?: number): Promise<Job>;
  /** Stops the app; keeps STATE_DIR unless `removeState`. */
  close(options?: { removeState?: boolean }): Promise<void>;
}

export async function startHarness(
  options: {
    env?: Record<string, string>;
    stateDir?: string;
    overrides?: LocalAppOptions['overrides'];
    leaseMs?: number;
    reconcile?: boolean;
  } = {},
): Promise<Harness> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'jit-runners-test-')));
  const config = parseConfig({
    env: { PORT: '0', STATE_DIR: stateDir, RECONCILE_INTERVAL_SECONDS: '1', LOG_LEVEL: 'DEBUG', ...options.env },
  });
  const logger = new CaptureLogger();
  const app = await startLocalApp({
    config,
    logger,
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    reconcile: options.reconcile ?? false,
  });
  const secret = app.sandbox?.webhookSecret ?? config.github.webhookSecrets[0] ?? '';

  const post: Harness['post'] = async (payload, o = {}) => {
    const d = await signedDelivery(o.secret ?? secret, payload, o);
    const res = await fetch(`${app.url}/webhook`, { method: 'POST', headers: d.headers, body: d.body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const waitForJob: Harness['waitForJob'] = async (jobId, predicate, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: Job | undefined;
    while (Date.now() < deadline) {
      last = await app.store.jobs.get(jobId);
      if (last && predicate(last)) return last;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`job ${jobId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  };

  return {
    app,
    stateDir,
    logger,
    secret,
    post,
    async queue(o) {
      if (!app.simulator) throw new Error('queue() needs the sandbox simulator');
      const payload = app.simulator.queueJob({
        owner: o.owner ?? 'octo-org',
        repo: o.repo ?? 'octo-repo',
        labels: o.labels ?? ['self-hosted', 'linux', 'x64'],
      }) as { workflow_job: { id: number } };
      const answer = await post(payload, o.deliveryId ? { deliveryId: o.deliveryId } : {});
      return { jobId: payload.workflow_job.id, status: answer.status };
    },
    waitForJob,
    waitForStatus: (jobId, status, timeoutMs) => waitForJob(jobId, (j) => j.status === status, timeoutMs),
    async close(o = {}) {
      await app.close();
      if (o.removeState) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** A real payload for a job the simulator does not know (bad-input and unserved tests). */
export const payloadFor = workflowJobPayload;
