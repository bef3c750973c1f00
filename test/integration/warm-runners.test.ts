import { afterEach, describe, expect, it } from 'vitest';
import { RunnerKind, RunnerState } from '../../functions/domain/runner-record.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const X64 = ['self-hosted', 'linux', 'x64'];

/** Warm runners through the local server: the sandbox simulator, dynalite and the sample runner. */
describe('warm runners through the local server (sandbox, dynalite, sample runners)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  const readyWarm = async (h: Harness) =>
    (await h.app.store.runners.listActive()).filter((r) => r.kind === RunnerKind.warm && r.state === RunnerState.ready);
  const waitForWarm = async (h: Harness, count: number) => {
    const deadline = Date.now() + 20_000;
    while ((await readyWarm(h)).length < count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} warm runners ready after 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it("runs a job's steps within a few seconds of the webhook on a warm runner of a pool with warm: 2", async () => {
    harness = await startHarness({ env: { RUNNER_POOLS: JSON.stringify([{ name: 'hot', labels: X64, warm: 2 }]) } });
    await waitForWarm(harness, 2);

    const sent = Date.now();
    const { jobId, status } = await harness.queue({ labels: X64 });
    expect(status).toBe(202);
    const running = await harness.waitForJob(jobId, (j) => j.status === 'running' || j.status === 'completed', 10_000);
    const tookMs = Date.now() - sent;
    const done = await harness.waitForStatus(jobId, 'completed', 20_000);

    expect(tookMs).toBeLessThan(5_000);
    expect(running.status === 'running' || running.status === 'completed').toBe(true);
    expect(done.conclusion).toBe('success');
    expect(done.ranOn).toBe(`jr-${jobId}-1`);
    expect(done.history.map((e) => e.note).join('\n')).toMatch(/served warm by jr-warm-hot-[0-9a-f]+/);
    // The pool refilled: two warm runners wait again.
    await waitForWarm(harness, 2);
  }, 60_000);

  it('still launches cold when the warm pool is empty: three jobs at once on warm: 2, all completed once', async () => {
    harness = await startHarness({ env: { RUNNER_POOLS: JSON.stringify([{ name: 'hot', labels: X64, warm: 2 }]) } });
    await waitForWarm(harness, 2);
    const h = harness;
    const jobs = await Promise.all([1, 2, 3].map(() => h.queue({ labels: X64 })));
    const done = await Promise.all(jobs.map((j) => h.waitForStatus(j.jobId, 'completed', 40_000)));

    expect(done.map((j) => j.conclusion)).toEqual(['success', 'success', 'success']);
    // JIT runners take any job of their labels (GitHub decides), so a job may run on another's runner: each
    // runner ran exactly one of them.
    expect(new Set(done.map((j) => j.ranOn))).toEqual(new Set(jobs.map((j) => `jr-${j.jobId}-1`)));
    const warm = done.filter((j) => j.history.some((e) => e.note.includes('served warm by')));
    expect(warm).toHaveLength(2);
    expect(new Set(done.map((j) => j.launchId)).size).toBe(3);
    expect(harness.logger.text()).not.toMatch(/"encodedJitConfig"/);
  }, 90_000);
});
