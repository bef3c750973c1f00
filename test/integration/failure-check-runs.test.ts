import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { validateResponse } from '../sandbox/helpers/openapi.ts';
import { call, installationToken } from '../sandbox/helpers/sim-api.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';
import { requestBodyErrors } from '../support/openapi.ts';

const CHECK_RUNS = 'POST /repos/{owner}/{repo}/check-runs';
const FOR_REF = 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs';

/** A job whose attempts are spent in the sandbox: metadata missing, no workaround, one attempt. */
const FAILING = { BASELINE_POLICY: 'off', MAX_ATTEMPTS_PER_JOB: '1', FAILURE_CHECK_RUNS: 'on' };

async function until<T>(read: () => T, holds: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!holds(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = read();
  }
  return value;
}

describe('failure check runs through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  it('posts one failed check run, with a body the OpenAPI allows, on the commit of a job whose attempts are spent', async () => {
    harness = await startHarness({ env: FAILING });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setPermissions({ ...sim.permissions(), checks: 'write' });
    sim.setFault('octo-org/stuck', { metadataMissing: true });

    const { jobId } = await harness.queue({ repo: 'stuck' });
    const job = await harness.waitForStatus(jobId, 'failed', 60_000);
    // Until the post has its answer: the simulator records the run before it answers 201, and the
    // job's record and the log line follow the answer.
    const log = harness.logger;
    await until(
      () => log.text(),
      (text) => text.includes('failure check run posted'),
    );
    const runs = sim.checkRuns();

    expect(runs).toHaveLength(1);
    const simJob = sim.job(jobId);
    const run = runs[0];
    expect(run).toMatchObject({ owner: 'octo-org', repo: 'stuck' });
    expect(requestBodyErrors('POST', '/repos/{owner}/{repo}/check-runs', run?.body)).toEqual([]);
    expect(run?.body).toMatchObject({
      name: `jit-runners: ${simJob?.name}`,
      head_sha: simJob?.headSha,
      status: 'completed',
      conclusion: 'failure',
      details_url: `${sim.url}/octo-org/stuck/actions/runs/${simJob?.runId}/job/${jobId}`,
      external_id: String(jobId),
      output: { title: `No runner for ${simJob?.workflowName} / ${simJob?.name}: runner metadata missing` },
    });
    const summary = (run?.body.output as { summary: string } | undefined)?.summary;
    expect(summary).toContain('`metadata-missing`');
    expect(summary).toContain(job.reason);
    expect(summary).toContain('jit-runners baseline ensure');
    expect(job).toMatchObject({ headSha: simJob?.headSha, jobName: simJob?.name, workflowName: simJob?.workflowName });
    expect((await harness.app.store.jobs.get(jobId))?.failureCheckRunAt).toBeTypeOf('number');
    // The simulator's answer is GitHub's check-run shape; the post was made once.
    const posts = sim.requests.filter((r) => r.endpoint === CHECK_RUNS);
    expect(posts.map((r) => r.status)).toEqual([201]);
    expect(harness.logger.text()).toContain('failure check run posted');
  });

  it('after a 500 whose post landed, looks the run up by external_id and posts no second one', async () => {
    harness = await startHarness({ env: FAILING });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setPermissions({ ...sim.permissions(), checks: 'write' });
    sim.setFault('octo-org/stuck', { metadataMissing: true, checkRunPostFailure: { times: 1, created: true } });

    const { jobId } = await harness.queue({ repo: 'stuck' });
    await harness.waitForStatus(jobId, 'failed', 60_000);
    const log = harness.logger;
    await until(
      () => log.text(),
      (text) => text.includes('failure check run found posted'),
    );
    expect(sim.checkRuns()).toHaveLength(1);
    expect(sim.checkRuns()[0]?.body.external_id).toBe(String(jobId));
    const calls = sim.requests.filter((r) => r.endpoint === CHECK_RUNS || r.endpoint === FOR_REF);
    expect(calls.map((r) => `${r.endpoint} ${r.status}`)).toEqual([`${CHECK_RUNS} 500`, `${FOR_REF} 200`]);
    expect((await harness.app.store.jobs.get(jobId))?.failureCheckRunPostedAt).toBeTypeOf('number');
  });

  it('after a 500 that created nothing, finds none and posts once more', async () => {
    harness = await startHarness({ env: FAILING });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setPermissions({ ...sim.permissions(), checks: 'write' });
    sim.setFault('octo-org/stuck', { metadataMissing: true, checkRunPostFailure: { times: 1, status: 503 } });

    const { jobId } = await harness.queue({ repo: 'stuck' });
    await harness.waitForStatus(jobId, 'failed', 60_000);
    await until(
      () => sim.checkRuns(),
      (r) => r.length > 0,
    );
    await until(
      () => harness?.logger.text() ?? '',
      (text) => text.includes('failure check run posted'),
    );
    expect(sim.checkRuns()).toHaveLength(1);
    const calls = sim.requests.filter((r) => r.endpoint === CHECK_RUNS || r.endpoint === FOR_REF);
    expect(calls.map((r) => `${r.endpoint} ${r.status}`)).toEqual([
      `${CHECK_RUNS} 503`,
      `${FOR_REF} 200`,
      `${CHECK_RUNS} 201`,
    ]);
  });

  it('leaves a check run GitHub kept failing to the reconciler, which posts it once later', async () => {
    harness = await startHarness({ env: FAILING });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setPermissions({ ...sim.permissions(), checks: 'write' });
    sim.setFault('octo-org/stuck', { metadataMissing: true, checkRunPostFailure: { times: 3, status: 502 } });

    const { jobId } = await harness.queue({ repo: 'stuck' });
    await harness.waitForStatus(jobId, 'failed', 60_000);
    await until(
      () => harness?.logger.text() ?? '',
      (text) => text.includes('the reconciler tries again'),
    );
    expect(sim.checkRuns()).toEqual([]);
    const claimed = await harness.app.store.jobs.get(jobId);
    expect(claimed?.failureCheckRunPostedAt).toBeUndefined();

    // A pass before the claim is 2 min old posts nothing; one after it looks up, then posts once.
    await harness.app.core.reconcile((claimed?.failureCheckRunAt ?? 0) + 60_000);
    expect(sim.checkRuns()).toEqual([]);
    const report = await harness.app.core.reconcile((claimed?.failureCheckRunAt ?? 0) + 3 * 60_000);
    expect(report.failureCheckRuns).toMatchObject({ retried: 1, posted: 1 });
    expect(sim.checkRuns()).toHaveLength(1);
    const calls = sim.requests.filter((r) => r.endpoint === CHECK_RUNS || r.endpoint === FOR_REF);
    expect(calls.map((r) => `${r.endpoint} ${r.status}`)).toEqual([
      `${CHECK_RUNS} 502`,
      `${FOR_REF} 200`,
      `${CHECK_RUNS} 502`,
      `${FOR_REF} 200`,
      `${CHECK_RUNS} 502`,
      `${FOR_REF} 200`,
      `${CHECK_RUNS} 201`,
    ]);
    expect((await harness.app.store.jobs.get(jobId))?.failureCheckRunTries).toBe(2);
  });

  it('posts nothing without the checks permission and says once which permission to grant', async () => {
    harness = await startHarness({ env: FAILING });
    const sim = harness.app.simulator as GitHubSimulator;
    sim.setFault('octo-org/stuck', { metadataMissing: true });

    const first = await harness.queue({ repo: 'stuck' });
    const second = await harness.queue({ repo: 'stuck' });
    await harness.waitForStatus(first.jobId, 'failed', 60_000);
    await harness.waitForStatus(second.jobId, 'failed', 60_000);

    const log = harness.logger;
    // The report follows the failure's write: wait for both jobs to have been looked at.
    await until(
      () => log.lines.filter((l) => l.includes('job failed')).length,
      (n) => n >= 2,
    );
    await until(
      () => log.lines.filter((l) => l.includes('lacks the Checks permission')).length,
      (n) => n > 0,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.checkRuns()).toEqual([]);
    expect(sim.requests.filter((r) => r.endpoint === CHECK_RUNS)).toEqual([]);
    const warnings = log.lines.filter((l) => l.includes('lacks the Checks permission'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('checks: write');
  });
});

describe('the simulator check runs endpoint', () => {
  it('answers a check run in the OpenAPI shape, 422 for a body GitHub refuses, 403 without the permission', async () => {
    const { startGitHubSimulator } = await import('../../functions/adapters/sandbox/github-simulator.ts');
    const { createGitHubClient } = await import('../../functions/adapters/github/github-client.ts');
    const sim = await startGitHubSimulator({ permissions: { metadata: 'read', checks: 'write' } });
    try {
      const client = createGitHubClient({ appId: sim.appId, privateKey: sim.privateKey, apiUrl: sim.apiUrl });
      expect(await client.installationPermissions(sim.installationId)).toEqual({ metadata: 'read', checks: 'write' });
      const body = {
        name: 'jit-runners: build',
        head_sha: 'a'.repeat(40),
        status: 'completed' as const,
        conclusion: 'failure' as const,
        completed_at: '2026-01-01T00:00:00Z',
        output: { title: 't', summary: 's' },
      };
      const created = await client.createCheckRun(sim.installationId, 'octo-org', 'repo', body);
      expect(created.htmlUrl).toBe(`${sim.url}/octo-org/repo/runs/${created.id}`);
      expect(sim.checkRuns().map((r) => r.body)).toEqual([body]);

      const answer = async (b: unknown) => {
        const before = sim.requests.length;
        await client.createCheckRun(sim.installationId, 'octo-org', 'repo', b as typeof body).catch(() => undefined);
        return sim.requests.slice(before).find((r) => r.endpoint === CHECK_RUNS)?.status;
      };
      expect(await answer({ ...body, conclusion: undefined })).toBe(422);
      expect(await answer({ ...body, output: { title: 't' } })).toBe(422);
      expect(await answer({ ...body, completed_at: 'yesterday' })).toBe(422);

      const list = await fetch(`${sim.url}/_sim/check-runs`).then((r) => r.json() as Promise<{ checkRuns: unknown[] }>);
      expect(list.checkRuns).toHaveLength(1);
      const put = await fetch(`${sim.url}/_sim/permissions`, {
        method: 'PUT',
        body: JSON.stringify({ permissions: { metadata: 'read' } }),
      });
      expect(put.status).toBe(200);
      const denied = await client.createCheckRun(sim.installationId, 'octo-org', 'repo', body).then(
        () => undefined,
        (error: unknown) => error as { status: number; body: string },
      );
      expect(denied?.status).toBe(403);
      expect(denied?.body).toContain('Resource not accessible by integration');
      expect(sim.checkRuns()).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });

  it('sends a post once even on a 500, and finds a run by external_id with one GET in the OpenAPI shape', async () => {
    const { startGitHubSimulator } = await import('../../functions/adapters/sandbox/github-simulator.ts');
    const { createGitHubClient } = await import('../../functions/adapters/github/github-client.ts');
    const sim = await startGitHubSimulator({ permissions: { metadata: 'read', checks: 'write' } });
    try {
      const client = createGitHubClient({
        appId: sim.appId,
        privateKey: sim.privateKey,
        apiUrl: sim.apiUrl,
        retryBaseDelayMs: 1,
      });
      const sha = 'b'.repeat(40);
      const body = {
        name: 'jit-runners: build',
        head_sha: sha,
        status: 'completed' as const,
        conclusion: 'failure' as const,
        completed_at: '2026-01-01T00:00:00Z',
        external_id: '4242',
        output: { title: 't', summary: 's' },
      };
      const query = { headSha: sha, name: body.name, externalId: '4242' };
      expect(await client.findCheckRun(sim.installationId, 'octo-org', 'repo', query)).toBeUndefined();

      sim.setFault('octo-org/repo', { checkRunPostFailure: { times: 2, created: true } });
      const failed = await client.createCheckRun(sim.installationId, 'octo-org', 'repo', body).then(
        () => undefined,
        (error: unknown) => error as { status: number },
      );
      expect(failed?.status).toBe(500);
      // No transient retry of the POST: one request, one run (the fault's second answer is unspent).
      expect(sim.requests.filter((r) => r.endpoint === CHECK_RUNS).map((r) => r.status)).toEqual([500]);
      expect(sim.checkRuns()).toHaveLength(1);
      expect(sim.faults()['octo-org/repo']?.checkRunPostFailure).toEqual({ times: 1, created: true });
      // Another job's run of the same name on the same commit is not ours.
      sim.clearFault('octo-org/repo');
      await client.createCheckRun(sim.installationId, 'octo-org', 'repo', { ...body, external_id: '4343' });

      const before = sim.requests.length;
      const found = await client.findCheckRun(sim.installationId, 'octo-org', 'repo', query);
      const landed = sim.checkRuns()[0];
      expect(found).toEqual({ id: landed?.id, htmlUrl: `${sim.url}/octo-org/repo/runs/${landed?.id}` });
      const gets = sim.requests.slice(before);
      expect(gets.map((r) => [r.endpoint, r.status])).toEqual([[FOR_REF, 200]]);
      const url = new URL(gets[0]?.path ?? '', sim.url);
      expect(url.pathname).toBe(`/repos/octo-org/repo/commits/${sha}/check-runs`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        check_name: 'jit-runners: build',
        filter: 'all',
        per_page: '100',
        page: '1',
      });
      expect(
        await client.findCheckRun(sim.installationId, 'octo-org', 'repo', { ...query, name: 'jit-runners: other' }),
      ).toBeUndefined();

      // The answer is GitHub's checks/list-for-ref shape; `filter=latest` (the default) keeps one per name.
      const token = await installationToken(sim);
      const all = await call(sim, 'GET', gets[0]?.path ?? '', { auth: `token ${token}` });
      const result = validateResponse('GET', '/repos/{owner}/{repo}/commits/{ref}/check-runs', 200, all.body);
      expect(result.errors).toBe('');
      expect((all.body as { total_count: number }).total_count).toBe(2);
      const latest = await call(sim, 'GET', `/repos/octo-org/repo/commits/${sha}/check-runs`, {
        auth: `token ${token}`,
      });
      expect((latest.body as { check_runs: { external_id: string }[] }).check_runs.map((r) => r.external_id)).toEqual([
        '4343',
      ]);
    } finally {
      await sim.close();
    }
  });

  it('builds its 201 answer in the check-run schema', async () => {
    const { checkRunJson } = await import('../../functions/adapters/sandbox/openapi-shapes.ts');
    const json = checkRunJson(
      {
        id: 5,
        owner: 'o',
        repo: 'r',
        createdAt: 0,
        body: { name: 'n', head_sha: 'a'.repeat(40), conclusion: 'failure', output: { title: 't', summary: 's' } },
      },
      'http://127.0.0.1:1',
      'http://127.0.0.1:1',
    );
    const result = validateResponse('POST', '/repos/{owner}/{repo}/check-runs', 201, json);
    expect(result.errors).toBe('');
    expect(result.valid).toBe(true);
  });
});
