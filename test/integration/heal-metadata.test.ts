import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Job } from '../../functions/domain/job.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const MINT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';
const REGISTRATION_TOKEN = 'POST /repos/{owner}/{repo}/actions/runners/registration-token';

/** Whether the local launcher reported the runner's process gone. */
const exited = (harness: Harness, runnerName: string) =>
  harness.logger.lines.some(
    (l) => l.includes('"message":"local runner exited"') && l.includes(`"runnerName":"${runnerName}"`),
  );

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('healing the missing runner metadata through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  let simulator: GitHubSimulator | undefined;
  afterEach(async (context) => {
    if (harness && context.task.result?.state === 'fail') {
      // The whole log of a failed run, with times, to follow what happened after the fact.
      const file = join(tmpdir(), `jit-runners-heal-${Date.now()}.log`);
      await writeFile(file, harness.logger.timed());
      console.log(`log of the failed run: ${file}`);
    }
    await harness?.close({ removeState: true });
    harness = undefined;
    await simulator?.close();
    simulator = undefined;
  });

  it('takes a job in an uninitialised repository to completed after exactly one workaround', async () => {
    harness = await startHarness();
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setFault('octo-org/uninit', { metadataMissing: true });

    const { jobId } = await harness.queue({ repo: 'uninit' });
    const job = await harness.waitForStatus(jobId, 'completed', 60_000);

    expect(job.conclusion).toBe('success');
    expect(job.attempt).toBe(2);
    expect(job.ranOn).toBe(`jr-${jobId}-2`);
    const notes = job.history.map((e) => `${e.status}: ${e.note}`);
    expect(notes.some((n) => n.startsWith('healing: metadata-missing (broker-bad-request) on runner'))).toBe(true);
    expect(sim.requests.filter((r) => r.endpoint === REGISTRATION_TOKEN)).toHaveLength(1);
    expect(sim.isMetadataInitialised('octo-org/uninit')).toBe(true);
    expect(await harness.app.store.baselines.get('octo-org/uninit')).toMatchObject({
      state: 'present',
      method: 'workaround',
      workarounds: 1,
    });
    // The stuck runner was killed and its registration deleted; the baseline runner is gone too.
    expect(exited(harness, `jr-${jobId}-1`)).toBe(true);
    expect(sim.runners('octo-org/uninit').map((r) => r.name)).not.toContain(`jr-${jobId}-1`);
    expect(sim.runners('octo-org/uninit').filter((r) => r.name.includes('baseline'))).toEqual([]);
    expect(harness.logger.text()).not.toMatch(/"(token|encodedJitConfig)":/);
  });

  it('heals 20 jobs of one uninitialised repository with one workaround and no duplicate runners', async () => {
    harness = await startHarness();
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setFault('octo-org/burst', { metadataMissing: true });

    const h = harness;
    const queued = await Promise.all(Array.from({ length: 20 }, () => h.queue({ repo: 'burst' })));
    const jobs: Job[] = await Promise.all(queued.map(({ jobId }) => h.waitForStatus(jobId, 'completed', 150_000)));

    const story = (j: Job) => `${j.jobId} ${j.status}/${j.conclusion}: ${j.history.map((e) => e.note).join(' | ')}`;
    expect(jobs.filter((j) => j.conclusion !== 'success').map(story)).toEqual([]);
    expect(sim.requests.filter((r) => r.endpoint === REGISTRATION_TOKEN)).toHaveLength(1);
    const minted = sim.requests.filter((r) => r.endpoint === MINT).map((r) => (r.body as { name: string }).name);
    // Every name was minted once.
    expect(new Set(minted).size).toBe(minted.length);
    // One stuck runner and one replacement per job, plus one mint per theft that found no free runner to
    // swap with (JIT runners take any job their labels match: a replacement may serve another job, and its
    // robbed job is then re-queued under a new name) and one per failing runner kept because it took a job
    // between its confirmation and its retire (GitHub's 422). Nothing else mints.
    const count = (message: string) => h.logger.lines.filter((l) => l.includes(`"message":"${message}"`)).length;
    const requeued = count('robbed job re-queued');
    const kept = count('runner kept: it is running a job');
    expect(minted.length).toBeLessThanOrEqual(2 * jobs.length + requeued + kept);
    // Thefts stay a small share of a burst, never a runaway.
    expect(requeued).toBeLessThanOrEqual(jobs.length / 2);
    for (const job of jobs) {
      // Always one of ours. A first attempt's runner that outlived the heal (confirming its failure takes a
      // GitHub call) may serve a job once the metadata exists: it then ran it, it was not stuck.
      expect(minted).toContain(job.ranOn);
    }
    // Ephemeral runners: 20 jobs ran on 20 different runners, and no registration is left behind.
    expect(new Set(jobs.map((j) => j.ranOn)).size).toBe(20);
    // The event paths retire nearly every spare; one launched while its job moved on and left untracked is
    // the reconciler's (its orphan sweep, once a minute in production), run here as the server would.
    let lastReconcile = Date.now();
    const noneLeft = async () => {
      if (sim.runners('octo-org/burst').length === 0) return true;
      if (Date.now() - lastReconcile > 2_000) {
        lastReconcile = Date.now();
        await h.app.core.reconcile();
      }
      return false;
    };
    await waitUntil('every spare runner to be retired', noneLeft, 30_000).catch(async (error: unknown) => {
      const left = sim.runners('octo-org/burst');
      const stories = await Promise.all(
        left.map(async (r) => {
          const job = await h.app.store.jobs.get(Number(/^jr-(\d+)-/.exec(r.name)?.[1]));
          return `${r.name} (${r.status}${r.busy ? ', busy' : ''}) of ${job ? story(job) : 'no job'}`;
        }),
      );
      throw new Error(`${String(error)}: ${stories.join('; ')}`);
    });
  }, 180_000);

  it('resumes the workaround from the store after the local server restarts in the middle of it', async () => {
    simulator = await startGitHubSimulator({});
    simulator.setFault('octo-org/restart', { metadataMissing: true });
    const stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-restart-'));
    const env = { BASELINE_ONLINE_TIMEOUT_SECONDS: '6' };
    try {
      const first = await startHarness({ stateDir, env, overrides: { simulator } });
      harness = first;
      const { jobId } = await first.queue({ repo: 'restart' });
      await waitUntil('the workaround to start', async () => {
        return (await first.app.store.baselines.get('octo-org/restart'))?.state === 'healing';
      });
      await first.close();
      harness = undefined;

      const second = await startHarness({ stateDir, env, overrides: { simulator }, leaseMs: 2_000 });
      harness = second;
      const job = await second.waitForStatus(jobId, 'completed', 90_000);

      expect(job.conclusion).toBe('success');
      const baseline = await second.app.store.baselines.get('octo-org/restart');
      expect(baseline).toMatchObject({ state: 'present', method: 'workaround' });
      // The restarted server took the dead holder's lease over instead of starting a new election.
      expect(
        second.logger.lines.some(
          (l) => l.includes('regular-runner workaround started') && l.includes('"takeover":true'),
        ),
      ).toBe(true);
      expect(baseline?.workarounds).toBe(1);
    } finally {
      await harness?.close();
      harness = undefined;
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
});
