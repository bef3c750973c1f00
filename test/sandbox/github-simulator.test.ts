import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { decodeJitConfig } from '../../functions/adapters/sandbox/jit-config.ts';
import { validateResponse, validateSchema, validateWebhook } from './helpers/openapi.ts';
import { appJwt, BrokerRunner, call, installationToken } from './helpers/sim-api.ts';

let sim: GitHubSimulator;
let token: string;
const auth = () => `token ${token}`;
const jwtAuth = () => `Bearer ${appJwt(sim.appId, sim.privateKey)}`;

beforeAll(async () => {
  sim = await startGitHubSimulator({ jobDurationMs: 50 });
  token = await installationToken(sim);
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.clearFault();
});

function expectValid(result: { valid: boolean; errors: string }) {
  expect(result.errors).toBe('');
  expect(result.valid).toBe(true);
}

const jitBody = (name: string) => ({
  name,
  runner_group_id: 1,
  labels: ['self-hosted', 'linux'],
  work_folder: '_work',
});

describe('startGitHubSimulator', () => {
  describe('App authentication', () => {
    it('issues a PKCS#1 App key, an App id and an installation id', () => {
      expect(sim.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(sim.appId).toBeGreaterThan(0);
      expect(sim.installationId).toBeGreaterThan(0);
    });

    it('mints a one-hour installation token for a valid App JWT', async () => {
      const answer = await call(sim, 'POST', `/app/installations/${sim.installationId}/access_tokens`, {
        auth: jwtAuth(),
      });
      expect(answer.status).toBe(201);
      expectValid(validateResponse('POST', '/app/installations/{installation_id}/access_tokens', 201, answer.body));
      const body = answer.body as { token: string; expires_at: string };
      expect(body.token).toMatch(/^ghs_/);
      const lifetime = Date.parse(body.expires_at) - Date.now();
      expect(lifetime).toBeGreaterThan(59 * 60_000);
      expect(lifetime).toBeLessThanOrEqual(60 * 60_000);
    });

    it('answers 404 for another installation id', async () => {
      const answer = await call(sim, 'POST', `/app/installations/${sim.installationId + 1}/access_tokens`, {
        auth: jwtAuth(),
      });
      expect(answer.status).toBe(404);
    });

    it.each([
      ['no JWT', () => undefined],
      ['a JWT signed by another key', () => `Bearer ${appJwt(sim.appId, otherKey())}`],
      ['a JWT for another App', () => `Bearer ${appJwt(sim.appId + 1, sim.privateKey)}`],
      [
        'an expired JWT',
        () => {
          const now = Math.floor(Date.now() / 1000);
          return `Bearer ${appJwt(sim.appId, sim.privateKey, { iat: now - 700, exp: now - 100 })}`;
        },
      ],
      [
        'a JWT living longer than ten minutes',
        () => {
          const now = Math.floor(Date.now() / 1000);
          return `Bearer ${appJwt(sim.appId, sim.privateKey, { iat: now, exp: now + 3600 })}`;
        },
      ],
      ['an installation token', () => auth()],
    ])('answers 401 on /app endpoints with %s', async (_case, header) => {
      const h = header();
      const answer = await call(sim, 'GET', '/app/hook/deliveries', h ? { auth: h } : {});
      expect(answer.status).toBe(401);
      expectValid(validateSchema('basic-error', answer.body));
    });

    it.each([
      ['no token', undefined],
      ['an unknown token', 'token ghs_not-a-real-token'],
    ])('answers 401 on installation endpoints with %s', async (_case, header) => {
      const answer = await call(sim, 'GET', '/repos/o/r/actions/runners', header ? { auth: header } : {});
      expect(answer.status).toBe(401);
    });

    it('answers the repository and organization installation with the App JWT', async () => {
      for (const path of ['/repos/octo/hello/installation', '/orgs/octo/installation']) {
        const answer = await call(sim, 'GET', path, { auth: jwtAuth() });
        expect(answer.status).toBe(200);
        expectValid(validateSchema('installation', answer.body));
        expect((answer.body as { id: number }).id).toBe(sim.installationId);
      }
    });
  });

  describe('runner REST endpoints follow the OpenAPI description', () => {
    it.each([
      ['repo', '/repos/octo/hello/actions/runners', '/repos/{owner}/{repo}/actions/runners'],
      ['org', '/orgs/octo/actions/runners', '/orgs/{org}/actions/runners'],
    ])('%s scope: generate-jitconfig, list, get, tokens, delete', async (_kind, base, template) => {
      const created = await call(sim, 'POST', `${base}/generate-jitconfig`, { auth: auth(), body: jitBody('jr-7-1') });
      expect(created.status).toBe(201);
      expectValid(validateResponse('POST', `${template}/generate-jitconfig`, 201, created.body));
      const runner = (created.body as { runner: { id: number; ephemeral: boolean; status: string } }).runner;
      expect(runner).toMatchObject({ ephemeral: true, status: 'offline' });

      const conflict = await call(sim, 'POST', `${base}/generate-jitconfig`, { auth: auth(), body: jitBody('jr-7-1') });
      expect(conflict.status).toBe(409);
      expectValid(validateResponse('POST', `${template}/generate-jitconfig`, 409, conflict.body));

      const invalid = await call(sim, 'POST', `${base}/generate-jitconfig`, {
        auth: auth(),
        body: { name: 'x', runner_group_id: 1, labels: [] },
      });
      expect(invalid.status).toBe(422);
      expectValid(validateResponse('POST', `${template}/generate-jitconfig`, 422, invalid.body));

      const list = await call(sim, 'GET', base, { auth: auth() });
      expectValid(validateResponse('GET', template, 200, list.body));
      expect((list.body as { total_count: number }).total_count).toBe(1);

      const one = await call(sim, 'GET', `${base}/${runner.id}`, { auth: auth() });
      expectValid(validateResponse('GET', `${template}/{runner_id}`, 200, one.body));

      for (const kind of ['registration-token', 'remove-token']) {
        const t = await call(sim, 'POST', `${base}/${kind}`, { auth: auth() });
        expect(t.status).toBe(201);
        expectValid(validateResponse('POST', `${template}/${kind}`, 201, t.body));
      }

      const deleted = await call(sim, 'DELETE', `${base}/${runner.id}`, { auth: auth() });
      expect(deleted.status).toBe(204);
      expect((await call(sim, 'GET', `${base}/${runner.id}`, { auth: auth() })).status).toBe(404);
    });

    it('encodes a JIT config shaped like the real one', async () => {
      const created = await call(sim, 'POST', '/repos/octo/jit-shape/actions/runners/generate-jitconfig', {
        auth: auth(),
        body: jitBody('jr-8-1'),
      });
      const body = created.body as { runner: { id: number }; encoded_jit_config: string };
      const outer = JSON.parse(Buffer.from(body.encoded_jit_config, 'base64').toString('utf8')) as Record<
        string,
        string
      >;
      expect(Object.keys(outer).sort()).toEqual(['.credentials', '.credentials_rsaparams', '.runner']);

      const files = decodeJitConfig(body.encoded_jit_config);
      expect(files['.runner']).toMatchObject({
        agentId: body.runner.id,
        agentName: 'jr-8-1',
        serverUrl: sim.url,
        gitHubUrl: `${sim.url}/octo/jit-shape`,
        workFolder: '_work',
        ephemeral: true,
        labels: ['self-hosted', 'linux'],
      });
      expect(files['.credentials'].scheme).toBe('OAuth');
      expect(files['.credentials'].data.accessToken.length).toBeGreaterThan(20);
      expect(Object.keys(files['.credentials_rsaparams'])).toEqual(
        expect.arrayContaining(['modulus', 'exponent', 'd', 'p', 'q']),
      );
    });

    it('filters the runner list by name and paginates with a Link header', async () => {
      for (let i = 0; i < 5; i++) {
        await call(sim, 'POST', '/repos/octo/paged/actions/runners/generate-jitconfig', {
          auth: auth(),
          body: jitBody(`jr-${i}-1`),
        });
      }
      const page1 = await call(sim, 'GET', '/repos/octo/paged/actions/runners?per_page=2', { auth: auth() });
      expect((page1.body as { runners: unknown[] }).runners).toHaveLength(2);
      expect(page1.headers.get('link')).toContain('rel="next"');
      const page3 = await call(sim, 'GET', '/repos/octo/paged/actions/runners?per_page=2&page=3', { auth: auth() });
      expect((page3.body as { runners: unknown[] }).runners).toHaveLength(1);
      expect(page3.headers.get('link')).toBeNull();

      const named = await call(sim, 'GET', '/repos/octo/paged/actions/runners?name=jr-3-1', { auth: auth() });
      expect((named.body as { runners: { name: string }[] }).runners.map((r) => r.name)).toEqual(['jr-3-1']);
    });

    it('validates the job endpoint in every state', async () => {
      const payload = sim.queueJob({ owner: 'octo', repo: 'states', labels: ['self-hosted'], name: 'build' });
      const id = (payload.workflow_job as { id: number }).id;
      const path = `/repos/octo/states/actions/jobs/${id}`;
      const queued = await call(sim, 'GET', path, { auth: auth() });
      expectValid(validateResponse('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 200, queued.body));
      expect(queued.body).toMatchObject({ id, status: 'queued', runner_name: null, labels: ['self-hosted'] });

      const created = await call(sim, 'POST', '/repos/octo/states/actions/runners/generate-jitconfig', {
        auth: auth(),
        body: jitBody('jr-state-1'),
      });
      const runner = BrokerRunner.fromJitConfig(
        sim,
        (created.body as { encoded_jit_config: string }).encoded_jit_config,
      );
      await runner.openSession();
      const message = await runner.poll();
      expect(message.body).toMatchObject({ jobId: id, jobName: 'build' });

      const running = await call(sim, 'GET', path, { auth: auth() });
      expectValid(validateResponse('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 200, running.body));
      expect(running.body).toMatchObject({ status: 'in_progress', runner_name: 'jr-state-1' });

      await runner.complete(id);
      const done = await call(sim, 'GET', path, { auth: auth() });
      expectValid(validateResponse('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 200, done.body));
      expect(done.body).toMatchObject({ status: 'completed', conclusion: 'success', runner_name: 'jr-state-1' });
    });

    it('answers 404 for a job of another repository', async () => {
      const payload = sim.queueJob({ owner: 'octo', repo: 'mine', labels: ['x'] });
      const id = (payload.workflow_job as { id: number }).id;
      expect((await call(sim, 'GET', `/repos/octo/theirs/actions/jobs/${id}`, { auth: auth() })).status).toBe(404);
    });

    it('lists workflow runs by status and the jobs of a run, OpenAPI-valid, as a run moves through its states', async () => {
      const runs = '/repos/{owner}/{repo}/actions/runs';
      const runJobs = '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs';
      const first = sim.queueJob({ owner: 'octo', repo: 'runs', labels: ['self-hosted'], name: 'build' });
      const runId = (first.workflow_job as { run_id: number }).run_id;
      const second = sim.queueJob({ owner: 'octo', repo: 'runs', labels: ['self-hosted'], name: 'test', runId });
      const ids = [first, second].map((p) => (p.workflow_job as { id: number }).id);
      const list = async (status: string) => {
        const answer = await call(sim, 'GET', `/repos/octo/runs/actions/runs?status=${status}`, { auth: auth() });
        expect(answer.status).toBe(200);
        expectValid(validateResponse('GET', runs, 200, answer.body));
        return (answer.body as { workflow_runs: { id: number; status: string }[] }).workflow_runs.map((r) => r.id);
      };

      expect(await list('queued')).toEqual([runId]);
      expect(await list('in_progress')).toEqual([]);
      const jobs = await call(sim, 'GET', `/repos/octo/runs/actions/runs/${runId}/jobs?filter=latest`, {
        auth: auth(),
      });
      expectValid(validateResponse('GET', runJobs, 200, jobs.body));
      expect(jobs.body).toMatchObject({
        total_count: 2,
        jobs: [
          { id: ids[0], run_id: runId, status: 'queued', labels: ['self-hosted'] },
          { id: ids[1], run_id: runId, status: 'queued' },
        ],
      });

      // The first job starts: the run is in progress while its second job still waits.
      const created = await call(sim, 'POST', '/repos/octo/runs/actions/runners/generate-jitconfig', {
        auth: auth(),
        body: jitBody('jr-runs-1'),
      });
      const runner = BrokerRunner.fromJitConfig(
        sim,
        (created.body as { encoded_jit_config: string }).encoded_jit_config,
      );
      await runner.openSession();
      await runner.poll();
      expect(await list('queued')).toEqual([]);
      expect(await list('in_progress')).toEqual([runId]);
      const during = await call(sim, 'GET', `/repos/octo/runs/actions/runs/${runId}/jobs`, { auth: auth() });
      expectValid(validateResponse('GET', runJobs, 200, during.body));
      expect((during.body as { jobs: { status: string }[] }).jobs.map((j) => j.status)).toEqual([
        'in_progress',
        'queued',
      ]);
      await runner.complete(ids[0] as number);
      sim.cancelJob(ids[1] as number);
      expect(await list('completed')).toEqual([runId]);
      expect(await list('cancelled')).toEqual([runId]);
      expect(await list('in_progress')).toEqual([]);
    });

    it('pages workflow runs and run jobs with per_page, page and a Link header', async () => {
      const runIds: number[] = [];
      for (let i = 0; i < 3; i++) {
        const payload = sim.queueJob({ owner: 'octo', repo: 'many-runs', labels: ['self-hosted'] });
        runIds.push((payload.workflow_job as { run_id: number }).run_id);
      }
      const page1 = await call(sim, 'GET', '/repos/octo/many-runs/actions/runs?status=queued&per_page=2', {
        auth: auth(),
      });
      expectValid(validateResponse('GET', '/repos/{owner}/{repo}/actions/runs', 200, page1.body));
      expect(page1.body).toMatchObject({ total_count: 3 });
      expect(page1.headers.get('link')).toMatch(/page=2[^>]*>; rel="next"/);
      const page2 = await call(sim, 'GET', '/repos/octo/many-runs/actions/runs?status=queued&per_page=2&page=2', {
        auth: auth(),
      });
      expect(page2.headers.get('link')).toBeNull();
      const listed = [page1, page2].flatMap((p) => (p.body as { workflow_runs: { id: number }[] }).workflow_runs);
      // Newest first, each run once across the pages.
      expect(listed.map((r) => r.id)).toEqual([...runIds].reverse());
    });

    it('answers 404 for the jobs of a run of another repository', async () => {
      const payload = sim.queueJob({ owner: 'octo', repo: 'run-mine', labels: ['x'] });
      const runId = (payload.workflow_job as { run_id: number }).run_id;
      const answer = await call(sim, 'GET', `/repos/octo/run-theirs/actions/runs/${runId}/jobs`, { auth: auth() });
      expect(answer.status).toBe(404);
      expectValid(validateSchema('basic-error', answer.body));
    });

    it('records each REST call with its endpoint template, scope, status and body', async () => {
      sim.resetRequests();
      await call(sim, 'POST', '/repos/Octo/Logged/actions/runners/generate-jitconfig', {
        auth: auth(),
        body: jitBody('jr-log-1'),
      });
      expect(sim.requests).toEqual([
        expect.objectContaining({
          method: 'POST',
          path: '/repos/Octo/Logged/actions/runners/generate-jitconfig',
          endpoint: 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig',
          scopeKey: 'octo/logged',
          status: 201,
          body: jitBody('jr-log-1'),
        }),
      ]);
      sim.resetRequests();
      expect(sim.requests).toEqual([]);
    });
  });

  describe('queueJob', () => {
    it('returns a queued workflow_job payload that follows the webhook schema', () => {
      const payload = sim.queueJob({
        owner: 'octo-org',
        repo: 'app',
        labels: ['self-hosted', 'linux', 'x64'],
        jobId: 4242,
        runId: 99,
        name: 'test',
      });
      expectValid(validateWebhook('queued', payload));
      expect(payload).toMatchObject({
        action: 'queued',
        workflow_job: { id: 4242, run_id: 99, name: 'test', status: 'queued', labels: ['self-hosted', 'linux', 'x64'] },
        repository: { name: 'app', full_name: 'octo-org/app', owner: { login: 'octo-org' } },
        installation: { id: sim.installationId },
      });
      expect(JSON.stringify(payload.repository)).not.toContain('Codertocat');
      expect(sim.job(4242)).toMatchObject({ status: 'queued', owner: 'octo-org', repo: 'app' });
    });

    it('refuses a job id that already exists', () => {
      sim.queueJob({ owner: 'o', repo: 'r', labels: ['x'], jobId: 777 });
      expect(() => sim.queueJob({ owner: 'o', repo: 'r', labels: ['x'], jobId: 777 })).toThrow(/already exists/);
    });
  });

  describe('fault modes on the REST API', () => {
    const list = () => call(sim, 'GET', '/repos/octo/faulty/actions/runners', { auth: auth() });

    it('apiStatus answers that status on the scope runner endpoints only', async () => {
      sim.setFault('octo/faulty', { apiStatus: 503 });
      expect((await list()).status).toBe(503);
      expect((await call(sim, 'GET', '/repos/octo/healthy/actions/runners', { auth: auth() })).status).toBe(200);
    });

    it('breakerOpen answers 5xx with "breaker open" in the body', async () => {
      sim.setFault('octo/faulty', { breakerOpen: true });
      const answer = await list();
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(JSON.stringify(answer.body)).toContain('breaker open');
    });

    it('rateLimit answers 403 secondary rate limit with retry-after', async () => {
      sim.setFault('octo/faulty', { rateLimit: { retryAfterSeconds: 7 } });
      const answer = await list();
      expect(answer.status).toBe(403);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect((answer.body as { message: string }).message).toMatch(/secondary rate limit/);
    });

    it('failRate answers random 500s', async () => {
      sim.setFault('octo/faulty', { failRate: 0.5 });
      const statuses = new Set<number>();
      for (let i = 0; i < 60; i++) statuses.add((await list()).status);
      expect(statuses).toEqual(new Set([200, 500]));
    });

    it('times bounds the API faults, then clears them', async () => {
      sim.setFault('octo/faulty', { apiStatus: 500, times: 2 });
      expect([(await list()).status, (await list()).status, (await list()).status]).toEqual([500, 500, 200]);
    });

    it('latency delays every answer', async () => {
      sim.setLatency(150);
      try {
        const started = Date.now();
        await list();
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      } finally {
        sim.setLatency(0);
      }
    });
  });

  describe('control API over HTTP', () => {
    it('queues and reads jobs, lists runners and sets faults under /_sim', async () => {
      const queued = await call(sim, 'POST', '/_sim/jobs', {
        body: { owner: 'octo', repo: 'ctl', labels: ['self-hosted'] },
      });
      expect(queued.status).toBe(201);
      const { job, payload } = queued.body as { job: { id: number }; payload: Record<string, unknown> };
      expectValid(validateWebhook('queued', payload));

      const read = await call(sim, 'GET', `/_sim/jobs/${job.id}`);
      expect(read.body).toMatchObject({ id: job.id, status: 'queued' });
      expect((await call(sim, 'GET', '/_sim/jobs/1')).status).toBe(404);

      await call(sim, 'POST', '/repos/octo/ctl/actions/runners/generate-jitconfig', {
        auth: auth(),
        body: jitBody('jr-ctl-1'),
      });
      const runners = await call(sim, 'GET', '/_sim/runners?scope=octo/ctl');
      expect((runners.body as { runners: { name: string }[] }).runners.map((r) => r.name)).toEqual(['jr-ctl-1']);

      expect((await call(sim, 'POST', '/_sim/faults', { body: { scopeKey: 'octo/ctl', apiStatus: 502 } })).status).toBe(
        204,
      );
      expect((await call(sim, 'GET', '/repos/octo/ctl/actions/runners', { auth: auth() })).status).toBe(502);
      expect((await call(sim, 'GET', '/_sim/faults')).body).toEqual({ faults: { 'octo/ctl': { apiStatus: 502 } } });
      await call(sim, 'DELETE', '/_sim/faults?scope=octo/ctl');
      expect((await call(sim, 'GET', '/repos/octo/ctl/actions/runners', { auth: auth() })).status).toBe(200);

      const cancelled = await call(sim, 'POST', `/_sim/jobs/${job.id}/cancel`);
      expect(cancelled.body).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    });

    it('queues a job behind an environment approval and approves it under /_sim', async () => {
      const queued = await call(sim, 'POST', '/_sim/jobs', {
        body: { owner: 'octo', repo: 'ctl-env', labels: ['self-hosted'], environment: true },
      });
      const { job } = queued.body as { job: { id: number; status: string } };
      expect(job.status).toBe('waiting');
      const runs = await call(sim, 'GET', '/repos/octo/ctl-env/actions/runs?status=waiting', { auth: auth() });
      expectValid(validateResponse('GET', '/repos/{owner}/{repo}/actions/runs', 200, runs.body));
      expect((runs.body as { total_count: number }).total_count).toBe(1);

      const approved = await call(sim, 'POST', `/_sim/jobs/${job.id}/approve`);
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ id: job.id, status: 'queued' });
      expect((await call(sim, 'POST', `/_sim/jobs/${job.id}/approve`)).status).toBe(409);
    });

    it('rejects a malformed job request', async () => {
      expect((await call(sim, 'POST', '/_sim/jobs', { body: { owner: 'o' } })).status).toBe(400);
    });

    it('reports the App identity without the private key', async () => {
      const info = await call(sim, 'GET', '/_sim/info');
      expect(info.body).toEqual({ url: sim.url, appId: sim.appId, installationId: sim.installationId });
      expect(JSON.stringify(info.body)).not.toContain('PRIVATE KEY');
    });
  });
});

function otherKey(): string {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}
