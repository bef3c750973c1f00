import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { validateResponse, validateWebhook } from './helpers/openapi.ts';
import { BrokerRunner, call, installationToken, type Receiver, startReceiver } from './helpers/sim-api.ts';

let sim: GitHubSimulator;
let token: string;
let counter = 0;

beforeAll(async () => {
  sim = await startGitHubSimulator({ pollMs: 200, offlineAfterMs: 1_000 });
  token = await installationToken(sim);
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.configureWebhook(undefined);
});

async function mintRunner(repo: string, labels = ['self-hosted', 'linux']) {
  const answer = await call(sim, 'POST', `/repos/octo/${repo}/actions/runners/generate-jitconfig`, {
    auth: `token ${token}`,
    body: { name: `jr-${++counter}-1`, runner_group_id: 1, labels, work_folder: '_work' },
  });
  const body = answer.body as { runner: { id: number; name: string }; encoded_jit_config: string };
  return {
    runner: BrokerRunner.fromJitConfig(sim, body.encoded_jit_config),
    id: body.runner.id,
    name: body.runner.name,
  };
}

const jobIdOf = (payload: Record<string, unknown>) => (payload.workflow_job as { id: number }).id;
const view = (repo: string, id: number) => sim.runners(`octo/${repo}`).find((r) => r.id === id);

async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('simulated broker', () => {
  it('holds an empty poll open, then answers 204', async () => {
    const { runner } = await mintRunner('empty');
    await runner.openSession();
    expect((await runner.poll()).status).toBe(204);
  });

  it('hands a waiting poll a job as soon as one is queued', async () => {
    const { runner, name } = await mintRunner('waiting');
    await runner.openSession();
    const polling = runner.poll();
    const payload = sim.queueJob({ owner: 'octo', repo: 'waiting', labels: ['linux'] });
    const message = await polling;
    expect(message.status).toBe(200);
    expect(message.body).toMatchObject({ jobId: jobIdOf(payload), jobName: 'build' });
    expect(sim.job(jobIdOf(payload))).toMatchObject({ status: 'in_progress', runnerName: name });
  });

  it('lets an ephemeral runner take one job only', async () => {
    const { runner } = await mintRunner('once');
    sim.queueJob({ owner: 'octo', repo: 'once', labels: ['linux'], durationMs: 0 });
    sim.queueJob({ owner: 'octo', repo: 'once', labels: ['linux'], durationMs: 0 });
    await runner.openSession();
    const first = await runner.poll();
    expect(first.status).toBe(200);
    await runner.complete((first.body as { jobId: number }).jobId);
    // The registration is gone after the job: the credential no longer works.
    expect((await runner.poll()).status).toBe(404);
    expect(
      sim.jobs
        .filter((j) => j.repo === 'once')
        .map((j) => j.status)
        .sort(),
    ).toEqual(['completed', 'queued']);
  });

  it('refuses a second session while the first is live', async () => {
    const { runner } = await mintRunner('sessions');
    expect((await runner.openSession()).status).toBe(201);
    const again = await runner.openSession();
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ message: 'A session for this runner already exists.' });
  });

  it('shows a runner online while it polls and offline once its session closes', async () => {
    const { runner, id } = await mintRunner('online');
    expect(view('online', id)?.status).toBe('offline');
    await runner.openSession();
    expect(view('online', id)?.status).toBe('online');
    await runner.closeSession();
    expect(view('online', id)?.status).toBe('offline');
  });

  it('takes a quiet runner offline after the heartbeat window', async () => {
    const { runner, id } = await mintRunner('quiet');
    await runner.openSession();
    await until(() => view('quiet', id)?.status === 'offline', 'the quiet runner shows offline');
  });

  it('answers 422 when deleting a busy runner, and fails the job of a runner that went silent', async () => {
    const { runner, id } = await mintRunner('busy');
    const payload = sim.queueJob({ owner: 'octo', repo: 'busy', labels: ['linux'], durationMs: 60_000 });
    await runner.openSession();
    await runner.poll();
    const deleted = await call(sim, 'DELETE', `/repos/octo/busy/actions/runners/${id}`, { auth: `token ${token}` });
    expect(deleted.status).toBe(422);

    // No renewals: the runner is lost, the job fails and the runner can be deleted.
    await sim.waitForJob(jobIdOf(payload), 'completed', 5_000);
    expect(sim.job(jobIdOf(payload))?.conclusion).toBe('failure');
    const again = await call(sim, 'DELETE', `/repos/octo/busy/actions/runners/${id}`, { auth: `token ${token}` });
    expect(again.status).toBe(204);
  });

  it('rejects a poll with an unknown session', async () => {
    const { runner } = await mintRunner('stale');
    await runner.openSession();
    runner.sessionId = 'sess_not-mine';
    expect((await runner.poll()).status).toBe(401);
  });

  describe('webhooks', () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver(200);
    });
    afterAll(async () => {
      await receiver.close();
    });

    it('delivers in_progress before completed and records failed deliveries for redelivery', async () => {
      receiver.status = 500;
      sim.configureWebhook({ url: receiver.url, secret: 's3cret' });
      const { runner } = await mintRunner('hooks');
      const payload = sim.queueJob({ owner: 'octo', repo: 'hooks', labels: ['linux'] });
      await runner.openSession();
      await runner.poll();
      await runner.complete(jobIdOf(payload));
      await sim.settled();

      const mine = receiver.received.filter((r) => r.body.includes(`"id":${jobIdOf(payload)}`));
      expect(mine.map((r) => (JSON.parse(r.body) as { action: string }).action)).toEqual(['in_progress', 'completed']);
      const deliveries = sim.deliveries().filter((d) => mine.some((m) => m.headers['x-github-delivery'] === d.guid));
      expect(deliveries.map((d) => [d.action, d.statusCode, d.status])).toEqual([
        ['completed', 500, 'Invalid HTTP Response: 500'],
        ['in_progress', 500, 'Invalid HTTP Response: 500'],
      ]);
    });

    it('holds a job gated by an environment approval as waiting, then queues it again once approved', async () => {
      sim.configureWebhook({ url: receiver.url, secret: 's3cret' });
      const { runner } = await mintRunner('gated');
      const payload = sim.queueJob({
        owner: 'octo',
        repo: 'gated',
        labels: ['linux'],
        deliver: true,
        environment: true,
      });
      const id = jobIdOf(payload);
      await sim.settled();
      const path = `/repos/octo/gated/actions/jobs/${id}`;
      const waiting = await call(sim, 'GET', path, { auth: `token ${token}` });
      expect(validateResponse('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 200, waiting.body).errors).toBe('');
      expect(waiting.body).toMatchObject({ id, status: 'waiting', runner_name: null });

      // No runner can take a waiting job.
      await runner.openSession();
      expect((await runner.poll()).status).toBe(204);
      expect(sim.approveJob(id)).toBe(true);
      expect(sim.approveJob(id)).toBe(false);
      expect((await runner.poll()).body).toMatchObject({ jobId: id });
      await runner.complete(id);
      await sim.settled();

      const mine = receiver.received
        .filter((r) => r.body.includes(`"id":${id}`))
        .map((r) => JSON.parse(r.body) as { action: string; workflow_job: { status: string } });
      expect(mine.map((m) => [m.action, m.workflow_job.status])).toEqual([
        ['queued', 'queued'],
        ['waiting', 'waiting'],
        ['queued', 'queued'],
        ['in_progress', 'in_progress'],
        ['completed', 'completed'],
      ]);
      for (const m of mine) {
        expect(validateWebhook(m.action as 'queued' | 'waiting' | 'in_progress' | 'completed', m).errors).toBe('');
      }
    });

    it('records an unreachable receiver as status code 0', async () => {
      sim.configureWebhook({ url: 'http://127.0.0.1:9/nowhere', secret: 's' });
      const before = sim.deliveries().length;
      sim.queueJob({ owner: 'octo', repo: 'unreachable', labels: ['x'], deliver: true });
      await sim.settled();
      expect(sim.deliveries().length).toBe(before + 1);
      expect(sim.deliveries()[0]).toMatchObject({ statusCode: 0, action: 'queued', redelivery: false });
    });
  });
});
