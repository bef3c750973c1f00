import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Job } from '../../functions/domain/job.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The package the local app caches: this machine's. */
const PLATFORM = process.arch === 'arm64' ? 'linux-arm64' : 'linux-x64';
const cached = (stateDir: string, version: string) =>
  join(stateDir, 'runner-cache', `actions-runner-${PLATFORM}-${version}.tar.gz`);
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
  afterEach(async (context) => {
    if (harness && context.task.result?.state === 'fail') {
      // The whole log of a failed run, with times, to follow what happened after the fact.
      const file = join(tmpdir(), `jit-runners-version-rollout-${Date.now()}.log`);
      await writeFile(file, harness.logger.timed());
      console.log(`log of the failed run: ${file}`);
    }
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
    // GitHub's published_at has whole seconds: the soak runs from the second the release was published in.
    expect(adopted.record.canary?.since ?? 0).toBeGreaterThanOrEqual(Math.floor(published / 1000) * 1000 + 3_000);
    // Fetched and verified before the record named it.
    expect(existsSync(cached(stateDir, '2.331.0'))).toBe(true);
    const releaseToAdoptionMs = adopted.at - Math.floor(published / 1000) * 1000;

    // Every job is a canary job: its runner is refused, the job goes on with the current version.
    const queued = await Promise.all([1, 2, 3].map(() => h.queue({ repo: 'canary' })));
    const jobs: Job[] = await Promise.all(queued.map(({ jobId }) => h.waitForStatus(jobId, 'completed', 60_000)));
    /** The version of each launch line of the job ("runner jr-… (id N, v2.330.0) launch …"), in order. */
    const launchedVersions = (job: Job) =>
      job.history.flatMap((e) => {
        const version = /^runner \S+ \(id \d+, v(\d+\.\d+\.\d+)\)/.exec(e.note)?.[1];
        return version ? [version] : [];
      });
    for (const job of jobs) {
      const story = JSON.stringify(job.history, null, 1);
      expect(job.conclusion).toBe('success');
      // The canary takes every job's first launch (share 100), and GitHub refuses its runners: a job ran on
      // a later attempt's runner (JIT runners take any job of their labels, so not always its own).
      const [first, ...later] = launchedVersions(job);
      expect(first, story).toBe('2.331.0');
      expect(job.ranOn, story).toMatch(/^jr-\d+-([2-9]|\d\d+)$/);
      // Once refused, a job never goes back to the canary: a theft or a lost runner keeps the current version.
      expect(
        later.every((v) => v === '2.330.0'),
        story,
      ).toBe(true);
    }
    // GitHub refused the canary's runners. A job another runner took before its own runner's refusal was
    // seen has no such line, so at least one job has it, not necessarily all.
    expect(jobs.some((job) => job.history.some((e) => e.note.startsWith('version-deprecated')))).toBe(true);

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

  it('refuses a release whose tarball does not match its digest: never adopted, marked bad, never cached', async () => {
    sim = await startGitHubSimulator({});
    sim.publishRunnerRelease({ version: '2.331.0', publishedAt: Date.now() - 60_000, tamperedTarball: true });
    stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-version-'));
    const dir = stateDir;
    const env = { RUNNER_VERSION: 'auto', RUNNER_VERSION_SOAK_DAYS: SOAK_DAYS, RUNNER_VERSION_CANARY_PERCENT: '100' };
    const started = Date.now();
    const h = await startHarness({ stateDir, env, overrides: { simulator: sim }, reconcile: true });
    harness = h;

    const refused = await until('the refusal', async () => {
      const record = await h.app.store.versions.get();
      return record && record.bad.length > 0 ? record : undefined;
    });
    console.log(`start to tampered release refused and marked bad ${Date.now() - started} ms`);
    expect(refused.canary).toBeUndefined();
    expect(refused.current.version).toBe('2.330.0');
    expect(refused.bad).toEqual([
      expect.objectContaining({ version: '2.331.0', reason: expect.stringContaining('checksum mismatch') }),
    ]);
    expect(existsSync(cached(dir, '2.331.0'))).toBe(false);
    expect(await readdir(join(dir, 'runner-cache')).catch(() => [])).toEqual([]);

    // Jobs keep running on the current version.
    const { jobId } = await h.queue({ repo: 'tampered' });
    const job = await h.waitForStatus(jobId, 'completed', 60_000);
    expect(job.conclusion).toBe('success');
    expect(job.runnerVersion).toBe('2.330.0');
  }, 120_000);
});
