import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Job } from '../../functions/domain/job.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';
import { mostAlive, readLives, recordingRunnerDir } from '../support/runner-lives.ts';

/** The pool record once it holds no slot (or as it stands after `timeoutMs`). */
async function settledPool(harness: Harness, pool: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await harness.app.store.pools.get(pool);
    if (Object.keys(record?.slots ?? {}).length === 0 || Date.now() > deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The first of `jobs` seen in `status` (or an error naming each one's last state after `timeoutMs`). */
async function waitForAny(harness: Harness, jobs: readonly { jobId: number }[], status: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await Promise.all(jobs.map(({ jobId }) => harness.app.store.jobs.get(jobId)));
    const found = seen.find((job) => job?.status === status);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `none of the jobs reached ${status} in ${timeoutMs} ms: ${seen.map((j) => j?.status).join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const LABELS = ['self-hosted', 'linux', 'x64'];
const CAP = 2;

describe('pool capacity through the local server (sandbox, dynalite, sample runners)', () => {
  let root: string;
  let lives: string;
  let pools: string;
  let harness: Harness | undefined;
  /** Every harness a spec started (the restart spec has two), for the dump of a failed run. */
  let started: Harness[] = [];
  const start = async (options: Parameters<typeof startHarness>[0]) => {
    const h = await startHarness(options);
    started.push(h);
    return h;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'jit-runners-capacity-'));
    lives = join(root, 'lives.txt');
    pools = JSON.stringify([
      { name: 'small', labels: LABELS, maxRunners: CAP, runnerDir: await recordingRunnerDir(root, lives) },
    ]);
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
      // Each server's whole log with times, and the runners' lives, to follow what happened after the fact.
      const file = join(tmpdir(), `jit-runners-capacity-${Date.now()}.log`);
      const servers = started.map((h, i) => `── server ${i + 1} ──\n${h.logger.timed()}`).join('\n');
      const seen = await readFile(lives, 'utf8').catch(() => '');
      const deliveries = (started.at(-1)?.app.simulator?.deliveries() ?? []).map((d) => JSON.stringify(d)).join('\n');
      await writeFile(file, `${servers}\n── runner lives ──\n${seen}\n── webhook deliveries ──\n${deliveries}`);
      console.log(`log of the failed run: ${file}`);
    }
    started = [];
    await harness?.close({ removeState: true });
    harness = undefined;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('never has more than maxRunners runners alive, runs every job once, and lets a lone repository in ahead of a busy one', async () => {
    harness = await start({ env: { RUNNER_POOLS: pools } });
    const queued: { jobId: number; repo: string }[] = [];
    for (const repo of ['busy', 'busy', 'busy', 'busy', 'busy', 'busy', 'other', 'other', 'lone']) {
      const answer = await harness.queue({ repo, labels: ['self-hosted', 'x64'] });
      expect(answer.status).toBe(202);
      queued.push({ jobId: answer.jobId, repo });
    }

    const done: Job[] = [];
    for (const { jobId } of queued) {
      const job = await harness.waitForStatus(jobId, 'completed', 90_000).catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}; pool record: ${JSON.stringify(await harness?.app.store.pools.get('small'))}`,
        );
      });
      done.push(job);
    }
    expect(done.map((j) => j.conclusion)).toEqual(done.map(() => 'success'));

    const seen = await readLives(lives);
    expect(mostAlive(seen)).toBeLessThanOrEqual(CAP);
    // Every job ran once, on a runner of ours (runners match jobs by labels, so not always its own), and
    // no runner ran twice: each started once and ran at most one job.
    const ranOn = done.map((j) => j.ranOn ?? '');
    expect(new Set(ranOn).size).toBe(done.length);
    const started = seen.map((l) => l.runner);
    expect(new Set(started).size).toBe(started.length);
    expect(ranOn.every((name) => started.includes(name))).toBe(true);

    // Jobs beyond the cap waited, visibly, and were launched by runners' ends, not by a timer.
    const waited = done.filter((j) => j.history.some((e) => e.status === 'waiting-capacity'));
    expect(waited.length).toBeGreaterThanOrEqual(queued.length - CAP);
    expect(waited.every((j) => j.turn !== undefined && j.backlogSince !== undefined)).toBe(true);

    // The lone repository's one job, queued last, is not served after all of busy's backlog: it joins the
    // turn being served and starts within the next few runners.
    const launchedAt = (jobId: number | undefined) => done.find((j) => j.jobId === jobId)?.launchedAt ?? 0;
    const lone = queued.find((q) => q.repo === 'lone');
    const lastBusy = queued.filter((q) => q.repo === 'busy').at(-1);
    expect(launchedAt(lone?.jobId)).toBeLessThan(launchedAt(lastBusy?.jobId));

    // The pool record ends with every slot back and no waiting repository. Why waited for: a job completes
    // on GitHub's event, its runner's slot comes back on the runner's end a moment later (the process exits,
    // or the spare runner a stolen job left is retired when that job completes).
    const record = await settledPool(harness, 'small', 20_000);
    const h = harness;
    const left = await Promise.all(
      Object.entries(record?.slots ?? {}).map(async ([name, slot]) => ({
        name,
        slot,
        runner: await h.app.store.runners.get(name),
        job: await h.app.store.jobs.get(slot.jobId),
      })),
    );
    expect(record?.slots, JSON.stringify(left, null, 1)).toEqual({});
    expect(record?.turns).toEqual({});
  }, 120_000);

  it('keeps waiting jobs and the runners alive across a restart, and launches the backlog after it', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'jit-runners-capacity-restart-'));
    // One GitHub (the simulator) outlives the restart, as github.com would.
    const simulator = await startGitHubSimulator({});
    const overrides = { simulator };
    harness = await start({ stateDir, env: { RUNNER_POOLS: pools }, overrides });
    const first = await harness.queue({ repo: 'r1', labels: ['self-hosted', 'x64'] });
    const second = await harness.queue({ repo: 'r2', labels: ['self-hosted', 'x64'] });
    const third = await harness.queue({ repo: 'r3', labels: ['self-hosted', 'x64'] });
    // One of the three waits for room (which one is the provisioners' race for the two slots).
    const waiting = await waitForAny(harness, [first, second, third], 'waiting-capacity', 20_000);
    expect(waiting.pool).toBe('small');
    await harness.close();

    harness = await start({ stateDir, env: { RUNNER_POOLS: pools }, overrides, reconcile: true });
    const done = [];
    for (const { jobId } of [first, second, third]) done.push(await harness.waitForStatus(jobId, 'completed', 60_000));
    expect(done.map((j) => j.conclusion)).toEqual(['success', 'success', 'success']);
    expect(mostAlive(await readLives(lives))).toBeLessThanOrEqual(CAP);
    await harness.close({ removeState: true });
    harness = undefined;
    await simulator.close();
  }, 120_000);
});
