import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../functions/adapters/github/github-client.ts';
import { startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { SAMPLE_RUNNER_DIR } from '../../functions/composition/local-app.ts';
import type { LaunchRequest } from '../../functions/ports/launcher.ts';
import { type Harness, payloadFor, startHarness } from '../support/local-harness.ts';
import { requestBodyErrors } from '../support/openapi.ts';
import { RecordingLauncher } from '../support/recording-launcher.ts';

const MINT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';

describe('core pipeline through the local server (sandbox, dynalite, sample runner)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  it('takes a served queued job to completed with one OpenAPI-valid mint and one runner process', async () => {
    harness = await startHarness();
    const sim = harness.app.simulator;
    if (!sim) throw new Error('sandbox expected');
    const { jobId, status } = await harness.queue({});
    expect(status).toBe(202);

    const job = await harness.waitForStatus(jobId, 'completed', 30_000);
    expect(job.conclusion).toBe('success');
    expect(job.runnerName).toBe(`jr-${jobId}-1`);
    expect(job.ranOn).toBe(job.runnerName);
    expect(job.history.map((e) => e.status)).toEqual(
      expect.arrayContaining(['queued', 'launched', 'running', 'completed']),
    );

    const mints = sim.requests.filter((r) => r.endpoint === MINT);
    expect(mints).toHaveLength(1);
    expect(
      requestBodyErrors('POST', '/repos/{owner}/{repo}/actions/runners/generate-jitconfig', mints[0]?.body),
    ).toEqual([]);
    expect(mints[0]?.body).toMatchObject({
      name: `jr-${jobId}-1`,
      labels: ['self-hosted', 'linux', 'x64'],
      runner_group_id: 1,
    });
    // The one runner that ran the job is the one minted for it (the simulator saw it take the job).
    expect(sim.job(jobId)).toMatchObject({ status: 'completed', runnerName: `jr-${jobId}-1` });
  });

  it('makes no mint and starts no runner for labels it does not serve', async () => {
    harness = await startHarness();
    const sim = harness.app.simulator;
    if (!sim) throw new Error('sandbox expected');
    const payload = sim.queueJob({ owner: 'octo-org', repo: 'octo-repo', labels: ['ubuntu-latest'] }) as {
      workflow_job: { id: number };
    };
    const answer = await harness.post(payload);
    expect(answer.status).toBe(200);
    await harness.app.dispatcher.idle();
    expect(sim.requests.filter((r) => r.endpoint === MINT)).toEqual([]);
    expect(await harness.app.store.jobs.get(payload.workflow_job.id)).toBeUndefined();
  });

  describe('duplicates', () => {
    it('mints once and launches once for the same delivery sent 5 times at once', async () => {
      const launcher = new RecordingLauncher();
      harness = await startHarness({ overrides: { launcher } });
      const sim = harness.app.simulator;
      if (!sim) throw new Error('sandbox expected');
      const payload = sim.queueJob({ owner: 'octo-org', repo: 'dup', labels: ['self-hosted', 'linux'] }) as {
        workflow_job: { id: number };
      };
      const h = harness;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => h.post(payload, { deliveryId: 'same-delivery' })),
      );
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
      await harness.waitForStatus(payload.workflow_job.id, 'launched');
      await harness.app.dispatcher.idle();
      expect(sim.requests.filter((r) => r.endpoint === MINT)).toHaveLength(1);
      expect(launcher.launches).toHaveLength(1);
    });

    it('mints once and launches once for one job under 3 delivery ids', async () => {
      const launcher = new RecordingLauncher();
      harness = await startHarness({ overrides: { launcher } });
      const sim = harness.app.simulator;
      if (!sim) throw new Error('sandbox expected');
      const payload = sim.queueJob({ owner: 'octo-org', repo: 'dup', labels: ['self-hosted'] }) as {
        workflow_job: { id: number };
      };
      const h = harness;
      await Promise.all(['d-1', 'd-2', 'd-3'].map((deliveryId) => h.post(payload, { deliveryId })));
      const job = await harness.waitForStatus(payload.workflow_job.id, 'launched');
      await harness.app.dispatcher.idle();
      expect(job.deliveryIds.sort()).toEqual(['d-1', 'd-2', 'd-3']);
      expect(sim.requests.filter((r) => r.endpoint === MINT)).toHaveLength(1);
      expect(launcher.launches).toHaveLength(1);
    });
  });

  it('answers bad input with the right status over HTTP and changes nothing', async () => {
    const launcher = new RecordingLauncher();
    harness = await startHarness({ overrides: { launcher } });
    const valid = payloadFor({ action: 'queued', jobId: 555 });
    const url = `${harness.app.url}/webhook`;
    const raw = async (headers: Record<string, string>, body: string) =>
      (await fetch(url, { method: 'POST', headers, body })).status;

    expect(await raw({ 'x-github-event': 'workflow_job' }, JSON.stringify(valid))).toBe(401);
    expect((await harness.post(valid, { secret: 'not-the-secret' })).status).toBe(401);
    expect((await harness.post(null, { body: JSON.stringify(valid).slice(0, 40) })).status).toBe(400);
    expect((await harness.post({ ...valid, workflow_job: { ...valid.workflow_job, id: 'x' } })).status).toBe(400);
    expect((await harness.post({ ...valid, workflow_job: undefined })).status).toBe(400);
    expect((await harness.post({ ...valid, action: 'teleported' })).status).toBe(200);
    expect((await harness.post({ zen: 'hi' }, { event: 'ping' })).status).toBe(200);
    expect((await harness.post({ ref: 'main' }, { event: 'push' })).status).toBe(200);
    const huge = await fetch(url, {
      method: 'POST',
      headers: { 'x-github-event': 'workflow_job' },
      body: 'x'.repeat(1024 * 1024 + 10),
    });
    expect(huge.status).toBe(413);

    await harness.app.dispatcher.idle();
    expect(await harness.app.store.jobs.listOpen()).toEqual([]);
    expect(launcher.launches).toEqual([]);
  });

  it('answers /healthz on localhost', async () => {
    harness = await startHarness({ overrides: { launcher: new RecordingLauncher() } });
    const res = await fetch(`${harness.app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', mode: 'sandbox' });
  });

  describe('restart', () => {
    it('resumes a job recorded before the provisioner ran, without losing or doubling it', async () => {
      const simulator = await startGitHubSimulator();
      try {
        // First process: records the job, then dies before provisioning (its dispatcher never runs).
        const first = new RecordingLauncher();
        harness = await startHarness({ overrides: { launcher: first, simulator } });
        harness.app.dispatcher.stop();
        const { jobId } = await harness.queue({ repo: 'restart' });
        expect((await harness.app.store.jobs.get(jobId))?.status).toBe('queued');
        const stateDir = harness.stateDir;
        await harness.close();

        const second = new RecordingLauncher();
        harness = await startHarness({ stateDir, overrides: { launcher: second, simulator } });
        await harness.waitForStatus(jobId, 'launched');
        expect(first.launches).toEqual([]);
        expect(second.launches.map((l) => l.runnerName)).toEqual([`jr-${jobId}-1`]);
        expect(simulator.requests.filter((r) => r.endpoint === MINT)).toHaveLength(1);
      } finally {
        await simulator.close();
      }
    });

    it('gives a job whose runner the shutdown stopped before it took the job its next attempt after the restart, not at the start timeout', async () => {
      const simulator = await startGitHubSimulator();
      const root = await mkdtemp(join(tmpdir(), 'jit-runners-slow-runner-'));
      try {
        // A runner that takes 30 s to start and, like the real one, exits 0 on SIGTERM: the server's
        // shutdown stops it before it takes its job, and an exit 0 says nothing is wrong.
        const slow = join(root, 'runner');
        await cp(SAMPLE_RUNNER_DIR, slow, { recursive: true });
        const run = await readFile(join(slow, 'run.sh'), 'utf8');
        await writeFile(join(slow, 'run.sh'), run.replace(/^exec /m, "trap 'exit 0' TERM\nsleep 30 &\nwait $!\nexec "));
        harness = await startHarness({ env: { RUNNER_DIR: slow }, overrides: { simulator } });
        const { jobId } = await harness.queue({ repo: 'stopped-on-shutdown' });
        await harness.waitForStatus(jobId, 'launched');
        const stateDir = harness.stateDir;
        await harness.close();

        // The same state, the sample runner, the reconciler on (as `npm start` runs it).
        harness = await startHarness({ stateDir, overrides: { simulator }, reconcile: true });
        const done = await harness.waitForStatus(jobId, 'completed', 30_000);
        expect(done.conclusion).toBe('success');
        expect(done.attempt).toBe(2);
        expect(done.history.map((e) => e.note).join('\n')).toMatch(
          new RegExp(`jr-${jobId}-1 is gone before it took its job`),
        );
      } finally {
        await simulator.close();
        await rm(root, { recursive: true, force: true });
      }
    });

    it('recovers a job whose process died between mint and launch: the leftover name is deleted, one runner launched', async () => {
      const simulator = await startGitHubSimulator();
      try {
        // A launcher that never answers: the process "dies" with the mint done and the launch unrecorded.
        const hanging = new RecordingLauncher();
        hanging.launch = (_request: LaunchRequest) => new Promise(() => {});
        harness = await startHarness({ overrides: { launcher: hanging, simulator }, leaseMs: 1_000 });
        const { jobId } = await harness.queue({ repo: 'crash' });
        await harness.waitForJob(jobId, (j) => j.status === 'provisioning');
        const stateDir = harness.stateDir;
        await harness.close();

        const second = new RecordingLauncher();
        harness = await startHarness({ stateDir, overrides: { launcher: second, simulator }, leaseMs: 1_000 });
        const job = await harness.waitForStatus(jobId, 'launched');
        expect(second.launches).toHaveLength(1);
        expect(job.runnerName).toBe(`jr-${jobId}-2`);
        // The first attempt's registration is gone; only the launched runner is registered.
        expect(simulator.runners().map((r) => r.name)).toEqual([`jr-${jobId}-2`]);
      } finally {
        await simulator.close();
      }
    });
  });

  it('never writes a secret (App key, webhook secret, installation token, JIT config) to a log line', async () => {
    const simulator = await startGitHubSimulator();
    const seen: string[] = [];
    // Wrap fetch to learn the secrets GitHub hands out (installation tokens, JIT configs).
    const recordingFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = await res.clone().text();
      for (const m of text.matchAll(/"(token|encoded_jit_config)":"([^"]+)"/g)) if (m[2]) seen.push(m[2]);
      return res;
    };
    try {
      const github = createGitHubClient({
        appId: simulator.appId,
        privateKey: simulator.privateKey,
        apiUrl: simulator.apiUrl,
        fetch: recordingFetch,
      });
      harness = await startHarness({ overrides: { simulator, github } });
      const { jobId } = await harness.queue({ repo: 'secrets' });
      await harness.waitForStatus(jobId, 'completed', 30_000);
      await harness.post({ zen: 'x' }, { secret: 'wrong' });

      const logs = harness.logger.text();
      expect(logs.length).toBeGreaterThan(0);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      const secrets = [harness.secret, ...seen, ...simulator.privateKey.split('\n').filter((l) => l.length > 40)];
      for (const secret of secrets) expect(logs).not.toContain(secret);
    } finally {
      await simulator.close();
    }
  });
});
