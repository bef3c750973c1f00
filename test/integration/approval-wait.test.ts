import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Job } from '../../functions/domain/job.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

/**
 * Environment approvals (docs/design.md "Approval waits") through the local server: embedded store,
 * GitHub simulator, sample runner, reconciler on. The wait lasts several start timeouts: a runner left
 * idle through it would be read as "not picked" and healed for nothing.
 */
const START_TIMEOUT_SECONDS = 2;
const WAIT_MS = 5 * START_TIMEOUT_SECONDS * 1000;
const REGISTRATION_TOKEN = 'POST /repos/{owner}/{repo}/actions/runners/registration-token';
const ENV = { RUNNER_START_TIMEOUT_SECONDS: String(START_TIMEOUT_SECONDS), RECONCILE_INTERVAL_SECONDS: '1' };

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Payload = Record<string, unknown> & { action: string; workflow_job: { id: number; status: string } };

describe('approval waits through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  /**
   * Samples, for `ms`, that the scope has no runner registration or process of ours and the job stays
   * `waiting`; returns the samples' count (the spec asserts on it so a sampler that never ran fails).
   */
  async function holdsNoRunner(h: Harness, sim: GitHubSimulator, jobId: number, scope: string, ms: number) {
    const until = Date.now() + ms;
    let samples = 0;
    while (Date.now() < until) {
      expect(sim.runners(scope).map((r) => r.name)).toEqual([]);
      expect((await h.app.store.jobs.get(jobId))?.status).toBe('waiting');
      samples += 1;
      await new Promise((r) => setTimeout(r, 200));
    }
    return samples;
  }

  function expectNoHealing(h: Harness, sim: GitHubSimulator, job: Job) {
    expect(sim.requests.filter((r) => r.endpoint === REGISTRATION_TOKEN)).toEqual([]);
    expect(job.history.map((e) => e.status)).not.toContain('healing');
    expect(job.failureClass).toBeUndefined();
    expect(h.logger.text()).not.toContain('regular-runner workaround started');
  }

  it('retires the idle runner of a job that went waiting, holds none through the wait, and completes it once approved', async () => {
    const h = await startHarness({ env: ENV, reconcile: true });
    harness = h;
    const sim = h.app.simulator as GitHubSimulator;
    const scope = 'octo-org/gated';
    // GitHub's `queued` first; the `waiting` is held back until the job's runner is up and idle, the
    // order in which the runner sits idle for the whole approval wait when the wait is not handled.
    const webhook = { url: `${h.app.url}/webhook`, secret: h.secret };
    sim.configureWebhook(undefined);
    const queued = sim.queueJob({
      owner: 'octo-org',
      repo: 'gated',
      labels: ['self-hosted', 'linux', 'x64'],
      environment: true,
    }) as Payload;
    const jobId = queued.workflow_job.id;
    expect((await h.post(queued)).status).toBe(202);
    const launched = await h.waitForStatus(jobId, 'launched');
    await waitUntil('the runner to be online and idle', () =>
      sim.runners(scope).some((r) => r.name === launched.runnerName && r.status === 'online' && !r.busy),
    );

    const waiting: Payload = {
      ...queued,
      action: 'waiting',
      workflow_job: { ...queued.workflow_job, status: 'waiting' },
    };
    expect((await h.post(waiting)).status).toBe(202);
    sim.configureWebhook(webhook);
    await waitUntil('the idle runner to be retired', () => sim.runners(scope).length === 0);
    expect(await holdsNoRunner(h, sim, jobId, scope, WAIT_MS)).toBeGreaterThan(10);

    expect(sim.approveJob(jobId)).toBe(true);
    const job = await h.waitForStatus(jobId, 'completed', 30_000);
    expect(job.conclusion).toBe('success');
    expect(job).toMatchObject({ attempt: 2, waits: 1, ranOn: `jr-${jobId}-2` });
    expect(job.assignableAt).toBeGreaterThan(job.waitingSince ?? Number.POSITIVE_INFINITY);
    expectNoHealing(h, sim, job);
    // The scope's baseline was never marked missing: the job's run only showed it present.
    expect(await h.app.store.baselines.get(scope)).toMatchObject({ state: 'present', method: 'observed' });
    await waitUntil('no registration to be left', () => sim.runners(scope).length === 0);
  }, 60_000);

  it('learns a wait whose delivery was missed from the Actions API and retires the idle runner', async () => {
    const h = await startHarness({ env: ENV, reconcile: true });
    harness = h;
    const sim = h.app.simulator as GitHubSimulator;
    const scope = 'octo-org/missed';
    // Only the first `queued` reaches us: the `waiting` delivery is lost. The approval's is delivered.
    sim.configureWebhook(undefined);
    const queued = sim.queueJob({
      owner: 'octo-org',
      repo: 'missed',
      labels: ['self-hosted', 'linux', 'x64'],
      environment: true,
    }) as Payload;
    const jobId = queued.workflow_job.id;
    await h.post(queued);
    sim.configureWebhook({ url: `${h.app.url}/webhook`, secret: h.secret });

    await h.waitForStatus(jobId, 'waiting', 20_000);
    await waitUntil('the idle runner to be retired', () => sim.runners(scope).length === 0);
    expect(await holdsNoRunner(h, sim, jobId, scope, WAIT_MS)).toBeGreaterThan(10);

    sim.approveJob(jobId);
    const job = await h.waitForStatus(jobId, 'completed', 30_000);
    expect(job.conclusion).toBe('success');
    expect(
      job.history.some((e) => e.note.includes('waiting for an environment approval (seen in the Actions API)')),
    ).toBe(true);
    expectNoHealing(h, sim, job);
  }, 60_000);
});
