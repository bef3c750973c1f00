import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RUNNER_DIR } from '../../functions/composition/local-app.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const MINT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';
const X64 = ['self-hosted', 'linux', 'x64'];
const ARM64 = ['self-hosted', 'linux', 'arm64'];

/**
 * A copy of the sample runner whose run.sh first notes which folder it was copied from (the `pool-folder`
 * file of that copy) and the runner it runs, in `started`, then runs the sample runner as usual.
 */
async function poolRunnerDir(root: string, name: string, started: string): Promise<string> {
  const dir = join(root, `runner-${name}`);
  await cp(SAMPLE_RUNNER_DIR, dir, { recursive: true });
  await writeFile(join(dir, 'pool-folder'), `${name}\n`);
  const run = await readFile(join(dir, 'run.sh'), 'utf8');
  const note = `echo "$(cat "$RUNNER_ROOT/pool-folder") $(basename "$RUNNER_ROOT")" >> ${JSON.stringify(started)}`;
  await writeFile(join(dir, 'run.sh'), run.replace('cd "$RUNNER_ROOT"\n', `cd "$RUNNER_ROOT"\n${note}\n`));
  return dir;
}

describe('runner pools through the local server (sandbox, dynalite, sample runners)', () => {
  let root: string;
  let started: string;
  let pools: string;
  let harness: Harness | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'jit-runners-pools-'));
    started = join(root, 'started.txt');
    pools = JSON.stringify([
      { name: 'x64', labels: X64, runnerDir: await poolRunnerDir(root, 'x64', started) },
      { name: 'arm64', labels: ARM64, runnerDir: await poolRunnerDir(root, 'arm64', started) },
    ]);
  });
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("mints each job with its pool's labels and starts its runner from a copy of its pool's folder", async () => {
    harness = await startHarness({ env: { RUNNER_POOLS: pools } });
    const sim = harness.app.simulator;
    if (!sim) throw new Error('sandbox expected');

    const x64 = await harness.queue({ repo: 'x64-repo', labels: ['self-hosted', 'x64'] });
    const arm64 = await harness.queue({ repo: 'arm64-repo', labels: ['self-hosted', 'ARM64'] });
    expect([x64.status, arm64.status]).toEqual([202, 202]);

    const jobs = await Promise.all([x64, arm64].map((j) => harness?.waitForStatus(j.jobId, 'completed', 30_000)));
    expect(jobs.map((j) => [j?.pool, j?.conclusion, j?.ranOn])).toEqual([
      ['x64', 'success', `jr-${x64.jobId}-1`],
      ['arm64', 'success', `jr-${arm64.jobId}-1`],
    ]);

    const mints = sim.requests
      .filter((r) => r.endpoint === MINT)
      .map((r) => r.body as { name: string; labels: string[] });
    expect(mints.map((m) => [m.name, m.labels]).sort()).toEqual(
      [
        [`jr-${arm64.jobId}-1`, ARM64],
        [`jr-${x64.jobId}-1`, X64],
      ].sort(),
    );
    const lines = (await readFile(started, 'utf8')).trim().split('\n').sort();
    expect(lines).toEqual([`arm64 jr-${arm64.jobId}-1`, `x64 jr-${x64.jobId}-1`].sort());
  });

  it('answers 200 to a job no pool covers and makes no request and no write for it', async () => {
    harness = await startHarness({ env: { RUNNER_POOLS: pools } });
    const sim = harness.app.simulator;
    if (!sim) throw new Error('sandbox expected');
    const payload = sim.queueJob({ owner: 'octo-org', repo: 'both', labels: ['self-hosted', 'x64', 'arm64'] }) as {
      workflow_job: { id: number };
    };
    const before = sim.requests.length;

    const answer = await harness.post(payload);
    await harness.app.dispatcher.idle();

    expect(answer).toEqual({
      status: 200,
      body: { message: 'ignored: labels not served', jobId: payload.workflow_job.id },
    });
    expect(sim.requests.slice(before)).toEqual([]);
    expect(await harness.app.store.jobs.get(payload.workflow_job.id)).toBeUndefined();
  });
});
