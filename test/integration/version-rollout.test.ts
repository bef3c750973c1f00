import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Job } from '../../functions/domain/job.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Three seconds of soak, in the variable's own unit. */
const SOAK_DAYS = String(3_000 / DAY_MS);

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('runner version rollout through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  let sim: GitHubSimulator | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await sim?.close();
    sim = undefined;
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    stateDir = undefined;
  });

  it('adopts a release after its soak, canaries it, rolls a failing canary back and marks it bad, losing no job; a restart keeps the record', async () => {
    sim = await startGitHubSimulator({});
    const published = Date.now();
    // GitHub refuses runners of this release (the deprecated-version line), as a bad release would be.
    sim.publishRunnerRelease({ version: '2.331.0', publishedAt: published, deprecatedRunners: true });
    stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-version-'));
    const env = { RUNNER_VERSION: 'auto', RUNNER_VERSION_SOAK_DAYS: SOAK_DAYS, RUNNER_VERSION_CANARY_PERCENT: '100' };
    const h = await startHarness({ stateDir, env, overrides: { simulator: sim }, reconcile: true });
    harness = h;

    // Not before the soak: the first passes keep the start version.
    const adopted = await until('the adoption', async () => {
      const record = await h.app.store.versions.get();
      return record?.canary ? { record, at: Date.now() } : undefined;
    });
    expect(adopted.record.canary).toMatchObject({ version: '2.331.0', share: 100 });
    expect(adopted.record.canary?.since ?? 0).toBeGreaterThanOrEqual(published + 3_000);
    const releaseToAdoptionMs = adopted.at - published;

    // Every job is a canary job: its runner is refused, the job goes on with the current version.
    const queued = await Promise.all([1, 2, 3].map(() => h.queue({ repo: 'canary' })));
    const jobs: Job[] = await Promise.all(queued.map(({ jobId }) => h.waitForStatus(jobId, 'completed', 60_000)));
    for (const job of jobs) {
      expect(job.conclusion).toBe('success');
      expect(job.runnerVersion).toBe('2.330.0');
      expect(job.history.some((e) => e.note.startsWith('version-deprecated'))).toBe(true);
    }

    const rolledBack = await until('the rollback', async () => {
      const record = await h.app.store.versions.get();
      return record && !record.canary && record.bad.length > 0 ? { record, at: Date.now() } : undefined;
    });
    expect(rolledBack.record.current.version).toBe('2.330.0');
    expect(rolledBack.record.bad).toEqual([
      expect.objectContaining({ version: '2.331.0', reason: expect.any(String) }),
    ]);
    console.log(
      `release to adoption ${releaseToAdoptionMs} ms (soak 3000 ms); adoption to rollback ${rolledBack.at - adopted.at} ms`,
    );

    // A restart (a redeploy, a cold start) keeps the record as it is, and a bad release stays bad.
    await h.close();
    harness = await startHarness({ stateDir, env, overrides: { simulator: sim }, reconcile: true });
    await new Promise((r) => setTimeout(r, 2_500));
    const after = await harness.app.store.versions.get();
    expect(after?.revision).toBe(rolledBack.record.revision);
    expect(after?.canary).toBeUndefined();
  }, 120_000);
});
