import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const REGISTRATION_TOKEN = 'POST /repos/{owner}/{repo}/actions/runners/registration-token';
const MINT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';

describe('BASELINE_POLICY through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  it('proactive: registers the baseline before the first mint, so the first job never sees the error', async () => {
    harness = await startHarness({ env: { BASELINE_POLICY: 'proactive' } });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setFault('octo-org/fresh', { metadataMissing: true });

    const { jobId } = await harness.queue({ repo: 'fresh' });
    const job = await harness.waitForStatus(jobId, 'completed', 60_000);

    expect(job).toMatchObject({ conclusion: 'success', attempt: 1, heals: 0 });
    expect(job.history.map((e) => e.status)).not.toContain('healing');
    expect(harness.logger.text()).not.toContain('broker-bad-request');
    // The regular runner came first, the one JIT mint after it.
    const calls = sim.requests.filter((r) => r.endpoint === REGISTRATION_TOKEN || r.endpoint === MINT);
    expect(calls.map((r) => r.endpoint)).toEqual([REGISTRATION_TOKEN, MINT]);
    expect(await harness.app.store.baselines.get('octo-org/fresh')).toMatchObject({
      state: 'present',
      method: 'workaround',
    });
  });

  it('off: never runs the workaround; the job fails with a clear reason after the bounded attempts', async () => {
    harness = await startHarness({ env: { BASELINE_POLICY: 'off', MAX_ATTEMPTS_PER_JOB: '2' } });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setFault('octo-org/never', { metadataMissing: true });

    const { jobId } = await harness.queue({ repo: 'never' });
    const job = await harness.waitForStatus(jobId, 'failed', 60_000);

    expect(job.failureClass).toBe('metadata-missing');
    expect(job.attempt).toBe(2);
    expect(job.reason).toContain('gave up after 2 attempts (limit 2 per job)');
    expect(job.reason).toContain('baseline policy off');
    expect(job.reason).toContain('jit-runners baseline ensure');
    expect(sim.requests.filter((r) => r.endpoint === REGISTRATION_TOKEN)).toEqual([]);
    // Both stuck runners are stopped and their registrations deleted (the last one right after the failure).
    const deadline = Date.now() + 10_000;
    const left = () => sim.runners('octo-org/never').filter((r) => r.name.startsWith(`jr-${jobId}-`));
    while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(left()).toEqual([]);
  });
});
