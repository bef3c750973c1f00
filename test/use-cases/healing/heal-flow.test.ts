/**
 * The whole healing story through `buildCore` (the wiring the Lambdas and the local server use): signed
 * webhooks in, the real provisioner, gate, workaround and signal handler, over the MemoryStore, the fake
 * GitHub and a launcher whose regular runners come online.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCore, type Core } from '../../../functions/composition/build-core.ts';
import type { Dispatcher } from '../../../functions/ports/runtime.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';
import { type HealWorld, healWorld, LINES } from './heal-fixtures.ts';

const SECRET = 'flow-webhook-secret';

/** Dispatches go to a queue the test drains; a job not due yet moves the fake clock to its `notBefore`. */
class QueueDispatcher implements Dispatcher {
  readonly queue: number[] = [];
  async dispatch(jobId: number) {
    this.queue.push(jobId);
  }
}

describe('healing through buildCore', () => {
  let w: HealWorld;
  let core: Core;
  let queue: QueueDispatcher;

  const deliver = async (payload: ReturnType<typeof workflowJobPayload>) => {
    // GitHub's own view of the job follows its deliveries (runner signals are confirmed against it).
    const { id, status, conclusion, runner_name: runnerName } = payload.workflow_job;
    w.github.jobs.set(id, { id, status, conclusion, runnerName } as never);
    const answer = await core.acceptWebhook(await signedDelivery(SECRET, payload));
    expect(answer.status).toBe(202);
  };

  async function drain(limit = 500): Promise<void> {
    for (let i = 0; i < limit && queue.queue.length > 0; i++) {
      const jobId = queue.queue.shift() as number;
      const job = await core.store.jobs.get(jobId);
      if (job?.notBefore !== undefined && job.notBefore > w.clock.now()) w.clock.t = job.notBefore;
      await core.provisionJob(jobId);
    }
  }

  beforeEach(() => {
    w = healWorld({ GITHUB_WEBHOOK_SECRET: SECRET });
    queue = new QueueDispatcher();
    core = buildCore({
      config: w.config,
      store: w.store,
      github: w.github,
      launcher: w.launcher,
      dispatcher: queue,
      clock: w.clock,
      logger: w.logger,
      metrics: w.metrics,
      owner: 'flow-test',
      webhookSecrets: () => [SECRET],
      random: () => 0.5,
    });
  });

  const queued = (jobId: number) =>
    workflowJobPayload({ action: 'queued', jobId, owner: 'octo', repo: 'app', installationId: 5 });

  it('takes a job in an uninitialised repository to completed after exactly one workaround', async () => {
    await deliver(queued(1));
    await drain();
    expect((await core.store.jobs.get(1))?.status).toBe('launched');
    const stuckId = (await core.store.jobs.get(1))?.runnerId as number;

    // The stuck JIT runner loops on the broker's BadRequest; the local launcher hands each line over.
    for (let i = 0; i < 20; i++) {
      await core.handleRunnerSignal({
        kind: 'log',
        runnerName: 'jr-1-1',
        line: LINES.badRequest,
        source: 'stderr',
        at: w.clock.now(),
      });
    }
    await drain();
    await vi.waitFor(async () => expect((await core.store.baselines.get('octo/app'))?.state).toBe('present'));
    await drain();

    const job = await core.store.jobs.get(1);
    expect(job).toMatchObject({ status: 'launched', attempt: 2, runnerName: 'jr-1-2' });
    expect(w.launcher.regular).toHaveLength(1);
    expect(w.launcher.stopped).toContain('rec-jr-1-1');
    expect(w.github.runners.has(stuckId)).toBe(false);
    expect(await core.store.baselines.get('octo/app')).toMatchObject({ method: 'workaround', workarounds: 1 });

    await deliver(
      workflowJobPayload({
        action: 'in_progress',
        jobId: 1,
        owner: 'octo',
        repo: 'app',
        installationId: 5,
        runnerName: 'jr-1-2',
      }),
    );
    await deliver(
      workflowJobPayload({
        action: 'completed',
        jobId: 1,
        owner: 'octo',
        repo: 'app',
        installationId: 5,
        runnerName: 'jr-1-2',
        conclusion: 'success',
      }),
    );
    const done = await core.store.jobs.get(1);
    expect(done?.status).toBe('completed');
    const story = done?.history.map((e) => e.status) ?? [];
    expect(story[0]).toBe('queued');
    expect(story).toContain('launched');
    expect(story).toContain('healing');
    expect(story.at(-1)).toBe('completed');
    expect(w.logger.text()).not.toMatch(/jit-secret-|REGTOKEN/);
  });

  it('runs one workaround for 20 stuck jobs of one repository, and gives each job one new runner', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
    for (const id of ids) await deliver(queued(id));
    await drain();
    await Promise.all(
      ids.map((id) =>
        core.handleRunnerSignal({
          kind: 'log',
          runnerName: `jr-${id}-1`,
          line: LINES.badRequest,
          source: 'stdout',
          at: w.clock.now(),
        }),
      ),
    );
    await drain();
    await vi.waitFor(async () => expect((await core.store.baselines.get('octo/app'))?.state).toBe('present'));
    await drain();

    expect(w.launcher.regular).toHaveLength(1);
    const jobs = await Promise.all(ids.map((id) => core.store.jobs.get(id)));
    expect(jobs.map((j) => [j?.status, j?.attempt])).toEqual(ids.map(() => ['launched', 2]));
    const names = w.launcher.launches.map((l) => l.runnerName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(40);
  });

  it('records an observed baseline when our JIT runner picks a job in a new scope', async () => {
    await deliver(queued(7));
    await drain();
    await deliver(
      workflowJobPayload({
        action: 'in_progress',
        jobId: 7,
        owner: 'octo',
        repo: 'app',
        installationId: 5,
        runnerName: 'jr-7-1',
      }),
    );
    expect(await core.store.baselines.get('octo/app')).toMatchObject({
      state: 'present',
      method: 'observed',
      runnerName: 'jr-7-1',
    });
  });

  it('exposes the start-timeout check: an overdue launched runner that never came online is replaced', async () => {
    await deliver(queued(9));
    await drain();
    const report = await core.checkStartTimeouts(w.clock.now() + w.config.timeouts.runnerStartSeconds * 1000);
    expect(report.results[0]).toMatchObject({ jobId: 9, acted: true });
    expect((await core.store.jobs.get(9))?.attempt).toBe(2);
  });
});
