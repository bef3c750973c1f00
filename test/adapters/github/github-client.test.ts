import { createPrivateKey } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClientOptions } from '../../../functions/adapters/github/github-client.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { decodeJitConfig } from '../../../functions/adapters/sandbox/jit-config.ts';
import type { Scope } from '../../../functions/domain/scope.ts';
import { GitHubRequestError, type GitHubTarget, RunnerNameTakenError } from '../../../functions/ports/github.ts';
import type { LogFields, Logger } from '../../../functions/ports/runtime.ts';
import { requestBodyProperties, validateQuery, validateRequestBody } from '../../sandbox/helpers/openapi.ts';

interface LogLine {
  level: string;
  message: string;
  fields?: LogFields | undefined;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = (level: string) => (message: string, fields?: LogFields) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

let sim: GitHubSimulator;
const repoScope: Scope = { kind: 'repo', owner: 'octo-org', repo: 'hello-world' };
const orgScope: Scope = { kind: 'org', org: 'octo-org' };

beforeAll(async () => {
  sim = await startGitHubSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.clearFault();
  sim.resetRequests();
});

function client(overrides: Partial<GitHubClientOptions> = {}) {
  return createGitHubClient({
    appId: sim.appId,
    privateKey: sim.privateKey,
    apiUrl: sim.apiUrl,
    retryBaseDelayMs: 5,
    ...overrides,
  });
}

const target = (scope: Scope): GitHubTarget => ({ installationId: sim.installationId, scope });
const jitRequest = (name: string) => ({
  name,
  labels: ['self-hosted', 'linux', 'x64'],
  runnerGroupId: 1,
  workFolder: '_work',
});
function expectValidQuery(result: { valid: boolean; errors: string }) {
  expect(result.errors).toBe('');
  expect(result.valid).toBe(true);
}
const calls = (endpoint: string) => sim.requests.filter((r) => r.endpoint === endpoint);
const uniqueName = (() => {
  let n = 0;
  return (prefix = 'jr') => `${prefix}-${Date.now() % 100000}${n++}-1`;
})();

describe('createGitHubClient', () => {
  describe('generateJitConfig', () => {
    it.each([
      ['repo', repoScope, 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig'],
      ['org', orgScope, 'POST /orgs/{org}/actions/runners/generate-jitconfig'],
    ] as const)('mints a JIT config for %s scope with exactly the OpenAPI body', async (_kind, scope, endpoint) => {
      const gh = client();
      const name = uniqueName();
      const jit = await gh.generateJitConfig(target(scope), jitRequest(name));

      expect(jit.runnerName).toBe(name);
      expect(jit.runnerId).toBeGreaterThan(0);
      const files = decodeJitConfig(jit.encodedJitConfig);
      expect(files['.runner'].agentId).toBe(jit.runnerId);
      expect(files['.runner'].agentName).toBe(name);

      const [call] = calls(endpoint);
      expect(call?.status).toBe(201);
      expect(call?.body).toEqual({
        name,
        runner_group_id: 1,
        labels: ['self-hosted', 'linux', 'x64'],
        work_folder: '_work',
      });
      const path = endpoint.replace(/^POST /, '');
      expect(Object.keys(call?.body as object).sort()).toEqual(requestBodyProperties('POST', path).sort());
      const validation = validateRequestBody('POST', path, call?.body);
      expect(validation.errors).toBe('');
      expect(validation.valid).toBe(true);
    });

    it('throws RunnerNameTakenError carrying the 409 when the name exists in the scope', async () => {
      const gh = client();
      const name = uniqueName();
      await gh.generateJitConfig(target(repoScope), jitRequest(name));

      const error = await gh.generateJitConfig(target(repoScope), jitRequest(name)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RunnerNameTakenError);
      expect((error as RunnerNameTakenError).runnerName).toBe(name);
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(GitHubRequestError);
      expect((cause as GitHubRequestError).status).toBe(409);
      // 409 is not transient: exactly one attempt per call.
      expect(calls('POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig')).toHaveLength(2);
    });

    it('allows the same name in another scope', async () => {
      const gh = client();
      const name = uniqueName();
      await gh.generateJitConfig(target(repoScope), jitRequest(name));
      await expect(
        gh.generateJitConfig(target({ kind: 'repo', owner: 'octo-org', repo: 'other' }), jitRequest(name)),
      ).resolves.toMatchObject({ runnerName: name });
    });
  });

  describe('authentication', () => {
    it('mints one installation token for a burst of 100 concurrent calls', async () => {
      const gh = client();
      await Promise.all(Array.from({ length: 100 }, () => gh.listRunners(target(repoScope))));

      expect(calls('POST /app/installations/{installation_id}/access_tokens')).toHaveLength(1);
      expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(100);
    });

    it('reuses the cached installation token across later calls', async () => {
      const gh = client();
      await gh.listRunners(target(repoScope));
      await gh.createRegistrationToken(target(orgScope));
      await gh.getWorkflowJob(sim.installationId, 'octo-org', 'hello-world', 1);

      expect(calls('POST /app/installations/{installation_id}/access_tokens')).toHaveLength(1);
    });

    it('accepts a PKCS#1 key (as GitHub issues it)', async () => {
      expect(sim.privateKey).toContain('BEGIN RSA PRIVATE KEY');
      await expect(client().listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));
    });

    it('accepts a PKCS#8 key', async () => {
      const pkcs8 = createPrivateKey(sim.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(pkcs8).toContain('BEGIN PRIVATE KEY');
      await expect(client({ privateKey: pkcs8 }).listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));
    });

    it('accepts a key whose newlines were escaped as \\n (one-line env values)', async () => {
      const escaped = sim.privateKey.replace(/\n/g, '\\n');
      await expect(client({ privateKey: escaped }).listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));
    });

    it('fails with 401 when signing with a key GitHub does not know', async () => {
      const other = await startGitHubSimulator();
      try {
        const gh = client({ privateKey: other.privateKey });
        const error = await gh.listRunners(target(repoScope)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(GitHubRequestError);
        expect((error as GitHubRequestError).status).toBe(401);
      } finally {
        await other.close();
      }
    });

    it('rejects a malformed PKCS#1 key without echoing it', () => {
      const bad = '-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-SECRETSECRET\n-----END RSA PRIVATE KEY-----';
      let error: unknown;
      try {
        client({ privateKey: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toContain('SECRETSECRET');
    });

    it('works against a GHES-style API base (https://HOST/api/v3)', async () => {
      const gh = client({ apiUrl: `${sim.url}/api/v3` });
      const token = await gh.createRegistrationToken(target(repoScope));
      expect(token.token).toMatch(/^[A-Z0-9]{29}$/);
      expect(sim.requests.some((r) => r.path.startsWith('/repos/octo-org/hello-world/actions/runners'))).toBe(true);
    });

    it('keeps connections alive instead of opening one per call', async () => {
      const gh = client();
      await gh.listRunners(target(repoScope));
      const before = sim.connections;
      for (let i = 0; i < 20; i++) await gh.getRunner(target(repoScope), 1);
      expect(sim.connections - before).toBeLessThanOrEqual(1);
    });
  });

  describe('runner endpoints', () => {
    it('creates registration and remove tokens for repo and org scopes', async () => {
      const gh = client();
      for (const scope of [repoScope, orgScope]) {
        const reg = await gh.createRegistrationToken(target(scope));
        const rem = await gh.createRemoveToken(target(scope));
        expect(reg.token).not.toBe(rem.token);
        expect(Date.parse(reg.expiresAt)).toBeGreaterThan(Date.now());
      }
      expect(calls('POST /orgs/{org}/actions/runners/registration-token')).toHaveLength(1);
      expect(calls('POST /orgs/{org}/actions/runners/remove-token')).toHaveLength(1);
      expect(calls('POST /repos/{owner}/{repo}/actions/runners/remove-token')).toHaveLength(1);
    });

    it('lists every runner across pages', async () => {
      const gh = client();
      const scope: Scope = { kind: 'repo', owner: 'octo-org', repo: 'many-runners' };
      for (let i = 0; i < 130; i++) await gh.generateJitConfig(target(scope), jitRequest(`jr-${i}-1`));
      sim.resetRequests();

      const runners = await gh.listRunners(target(scope));

      expect(runners).toHaveLength(130);
      expect(new Set(runners.map((r) => r.name)).size).toBe(130);
      expect(
        calls('GET /repos/{owner}/{repo}/actions/runners').map((r) =>
          new URL(r.path, sim.url).searchParams.get('page'),
        ),
      ).toEqual(['1', '2']);
    });

    it('finds a runner by name using the name filter', async () => {
      const gh = client();
      const name = uniqueName();
      const jit = await gh.generateJitConfig(target(orgScope), jitRequest(name));
      sim.resetRequests();

      const found = await gh.findRunnerByName(target(orgScope), name);

      expect(found).toMatchObject({ id: jit.runnerId, name, status: 'offline', busy: false });
      expect(found?.labels).toEqual(['self-hosted', 'linux', 'x64']);
      expect(new URL(calls('GET /orgs/{org}/actions/runners')[0]?.path ?? '', sim.url).searchParams.get('name')).toBe(
        name,
      );
      await expect(gh.findRunnerByName(target(orgScope), 'no-such-runner')).resolves.toBeUndefined();
    });

    it('returns undefined for a runner that does not exist', async () => {
      await expect(client().getRunner(target(repoScope), 987654)).resolves.toBeUndefined();
    });

    it('treats deleting a runner that is already gone as success', async () => {
      const gh = client();
      const jit = await gh.generateJitConfig(target(repoScope), jitRequest(uniqueName()));

      await gh.deleteRunner(target(repoScope), jit.runnerId);
      await gh.deleteRunner(target(repoScope), jit.runnerId);

      await expect(gh.getRunner(target(repoScope), jit.runnerId)).resolves.toBeUndefined();
      expect(calls('DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}').map((r) => r.status)).toEqual([
        204, 404,
      ]);
    });

    it('deletes org-scope runners', async () => {
      const gh = client();
      const jit = await gh.generateJitConfig(target(orgScope), jitRequest(uniqueName()));
      await gh.deleteRunner(target(orgScope), jit.runnerId);
      expect(sim.runners('octo-org').some((r) => r.id === jit.runnerId)).toBe(false);
    });
  });

  describe('getWorkflowJob', () => {
    it('reads the job state', async () => {
      const payload = sim.queueJob({ owner: 'octo-org', repo: 'hello-world', labels: ['self-hosted'] });
      const id = (payload.workflow_job as { id: number }).id;

      await expect(client().getWorkflowJob(sim.installationId, 'octo-org', 'hello-world', id)).resolves.toEqual({
        id,
        status: 'queued',
        conclusion: null,
        runnerName: null,
      });
    });

    it('returns undefined for an unknown job or a job of another repository', async () => {
      const payload = sim.queueJob({ owner: 'octo-org', repo: 'hello-world', labels: ['self-hosted'] });
      const id = (payload.workflow_job as { id: number }).id;
      const gh = client();
      await expect(gh.getWorkflowJob(sim.installationId, 'octo-org', 'hello-world', 1)).resolves.toBeUndefined();
      await expect(gh.getWorkflowJob(sim.installationId, 'octo-org', 'other', id)).resolves.toBeUndefined();
    });
  });

  describe('listWorkflowRuns and listWorkflowRunJobs (discovery of queued jobs)', () => {
    const RUNS = 'GET /repos/{owner}/{repo}/actions/runs';
    const RUN_JOBS = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs';
    const queryOf = (endpoint: string) => {
      const [request] = calls(endpoint);
      return new URL(request?.path ?? '/', 'http://x').searchParams;
    };

    it('lists one page of runs in a status with documented query parameters, and says when more exist', async () => {
      const repo = `runs-${uniqueName('r')}`;
      const runIds = Array.from(
        { length: 101 },
        () =>
          (sim.queueJob({ owner: 'octo-org', repo, labels: ['self-hosted'] }).workflow_job as { run_id: number })
            .run_id,
      );
      const gh = client();

      const first = await gh.listWorkflowRuns(sim.installationId, 'octo-org', repo, { status: 'queued', page: 1 });
      const query = queryOf(RUNS);
      const second = await gh.listWorkflowRuns(sim.installationId, 'octo-org', repo, { status: 'queued', page: 2 });
      const none = await gh.listWorkflowRuns(sim.installationId, 'octo-org', repo, { status: 'in_progress', page: 1 });

      expect(first.items).toHaveLength(100);
      expect(first.more).toBe(true);
      expect(second).toEqual({ items: [{ id: runIds[0], status: 'queued' }], more: false });
      expect(none).toEqual({ items: [], more: false });
      expect(Object.fromEntries(query)).toEqual({
        status: 'queued',
        per_page: '100',
        page: '1',
        exclude_pull_requests: 'true',
      });
      expectValidQuery(validateQuery('GET', '/repos/{owner}/{repo}/actions/runs', query));
    });

    it('lists the jobs of a run with their status, labels, queue time, commit and names', async () => {
      const repo = `run-jobs-${uniqueName('r')}`;
      const payload = sim.queueJob({ owner: 'octo-org', repo, labels: ['self-hosted', 'linux'] });
      const wj = payload.workflow_job as {
        id: number;
        run_id: number;
        head_sha: string;
        name: string;
        workflow_name: string;
      };
      const { id, run_id: runId } = wj;
      const gh = client();

      const page = await gh.listWorkflowRunJobs(sim.installationId, 'octo-org', repo, { runId, page: 1 });

      expect(page).toEqual({
        items: [
          {
            id,
            runId,
            status: 'queued',
            labels: ['self-hosted', 'linux'],
            createdAt: (payload.workflow_job as { created_at: string }).created_at,
            headSha: wj.head_sha,
            name: wj.name,
            workflowName: wj.workflow_name,
          },
        ],
        more: false,
      });
      const query = queryOf(RUN_JOBS);
      expect(Object.fromEntries(query)).toEqual({ filter: 'latest', per_page: '100', page: '1' });
      expectValidQuery(validateQuery('GET', '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs', query));
    });

    it('reports a run of another repository as a 404 GitHubRequestError with its endpoint', async () => {
      const payload = sim.queueJob({ owner: 'octo-org', repo: 'hello-world', labels: ['self-hosted'] });
      const runId = (payload.workflow_job as { run_id: number }).run_id;

      const error = await client()
        .listWorkflowRunJobs(sim.installationId, 'octo-org', 'elsewhere', { runId, page: 1 })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(GitHubRequestError);
      expect(error).toMatchObject({ status: 404, endpoint: RUN_JOBS, scopeKey: 'octo-org/elsewhere' });
    });
  });

  describe('errors and retries', () => {
    it('retries a transient 5xx a bounded number of times, then reports status, endpoint, body and scope', async () => {
      sim.setFault('octo-org/hello-world', { apiStatus: 503 });
      const logger = recordingLogger();
      const error = await client({ logger, retries: 2 })
        .listRunners(target(repoScope))
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(GitHubRequestError);
      const e = error as GitHubRequestError;
      expect(e.status).toBe(503);
      expect(e.endpoint).toBe('GET /repos/{owner}/{repo}/actions/runners');
      expect(e.scopeKey).toBe('octo-org/hello-world');
      expect(e.body).toContain('Service Unavailable');
      expect(e.cause).toBeDefined();
      expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(3);
      expect(logger.lines.filter((l) => l.message.includes('retrying'))).toHaveLength(2);
    });

    it('sends a lookup asked for once a single time, even on a 500, and reports the 500', async () => {
      sim.setFault('octo-org/hello-world', { apiStatus: 500 });
      const gh = client({ retries: 2 });
      const byId = await gh.getRunner(target(repoScope), 1, { once: true }).catch((e: unknown) => e);
      const byName = await gh.findRunnerByName(target(repoScope), 'jr-1-1', { once: true }).catch((e: unknown) => e);

      expect(byId).toMatchObject({ status: 500 });
      expect(byName).toMatchObject({ status: 500 });
      expect(calls('GET /repos/{owner}/{repo}/actions/runners/{runner_id}')).toHaveLength(1);
      expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(1);
      // The same client still retries a lookup sent without it.
      await gh.getRunner(target(repoScope), 1).catch(() => undefined);
      expect(calls('GET /repos/{owner}/{repo}/actions/runners/{runner_id}')).toHaveLength(4);
    });

    it('succeeds when a transient failure clears within the retries', async () => {
      sim.setFault('octo-org/hello-world', { apiStatus: 500, times: 2 });
      await expect(client({ retries: 2 }).listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));
      expect(calls('GET /repos/{owner}/{repo}/actions/runners').map((r) => r.status)).toEqual([500, 500, 200]);
    });

    it('retries random 500s (failRate)', async () => {
      sim.setFault('octo-org/hello-world', { failRate: 1, times: 1 });
      await expect(client().createRegistrationToken(target(repoScope))).resolves.toMatchObject({
        token: expect.any(String),
      });
      expect(calls('POST /repos/{owner}/{repo}/actions/runners/registration-token').map((r) => r.status)).toEqual([
        500, 201,
      ]);
    });

    it('surfaces "breaker open" at once without retrying', async () => {
      sim.setFault('octo-org/hello-world', { breakerOpen: true });
      const error = await client({ retries: 2 })
        .generateJitConfig(target(repoScope), jitRequest(uniqueName()))
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(GitHubRequestError);
      expect((error as GitHubRequestError).status).toBe(503);
      expect((error as GitHubRequestError).body).toContain('breaker open');
      expect(calls('POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig')).toHaveLength(1);
    });

    it('does not retry client errors (4xx)', async () => {
      const other = await startGitHubSimulator();
      try {
        const gh = client({ privateKey: other.privateKey });
        await gh.listRunners(target(repoScope)).catch(() => undefined);
        // The token mint failed with 401; nothing was retried and no runner call was made.
        expect(calls('POST /app/installations/{installation_id}/access_tokens')).toHaveLength(1);
        expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(0);
      } finally {
        await other.close();
      }
    });

    it('waits out a secondary rate limit honouring retry-after, then succeeds', async () => {
      sim.setFault('octo-org/hello-world', { rateLimit: { retryAfterSeconds: 1 }, times: 1 });
      const logger = recordingLogger();
      await expect(client({ logger }).listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));

      const seen = calls('GET /repos/{owner}/{repo}/actions/runners');
      expect(seen.map((r) => r.status)).toEqual([403, 200]);
      expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
      expect(
        logger.lines.some((l) => l.message === 'github secondary rate limit' && l.fields?.retryAfterSeconds === 1),
      ).toBe(true);
    });

    it('waits out a primary rate limit until its reset, then succeeds', async () => {
      sim.setFault('octo-org/hello-world', { rateLimit: { retryAfterSeconds: 1, kind: 'primary' }, times: 1 });
      const logger = recordingLogger();
      await expect(client({ logger }).listRunners(target(repoScope))).resolves.toEqual(expect.any(Array));

      expect(calls('GET /repos/{owner}/{repo}/actions/runners').map((r) => r.status)).toEqual([403, 200]);
      expect(logger.lines.some((l) => l.message === 'github primary rate limit')).toBe(true);
    });

    it('gives up on a rate limit that does not clear after a bounded number of retries', async () => {
      sim.setFault('octo-org/hello-world', { rateLimit: { retryAfterSeconds: 1 } });
      const error = await client({ rateLimitRetries: 1 })
        .listRunners(target(repoScope))
        .catch((e: unknown) => e);

      expect((error as GitHubRequestError).status).toBe(403);
      expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(2);
    });

    it('does not wait for a retry-after longer than allowed', async () => {
      sim.setFault('octo-org/hello-world', { rateLimit: { retryAfterSeconds: 3600 } });
      const error = await client({ maxRetryAfterSeconds: 60 })
        .listRunners(target(repoScope))
        .catch((e: unknown) => e);

      expect((error as GitHubRequestError).status).toBe(403);
      expect(calls('GET /repos/{owner}/{repo}/actions/runners')).toHaveLength(1);
    });

    it('reports status 0 when GitHub cannot be reached', async () => {
      const gone = await startGitHubSimulator();
      const url = gone.url;
      const privateKey = gone.privateKey;
      await gone.close();
      const error = await createGitHubClient({ appId: 1, privateKey, apiUrl: url, retries: 0 })
        .listRunners({ installationId: 1, scope: repoScope })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(GitHubRequestError);
      expect((error as GitHubRequestError).status).toBe(0);
    });

    it('never puts tokens or JIT configs in errors or logs', async () => {
      const logger = recordingLogger();
      const gh = client({ logger });
      const jit = await gh.generateJitConfig(target(repoScope), jitRequest(uniqueName()));
      const reg = await gh.createRegistrationToken(target(repoScope));
      sim.setFault('octo-org/hello-world', { apiStatus: 500 });
      const error = (await gh.listRunners(target(repoScope)).catch((e: unknown) => e)) as GitHubRequestError;

      const visible = [error.message, error.body, String(error), JSON.stringify(logger.lines)].join('\n');
      expect(visible).not.toMatch(/ghs_/);
      expect(visible).not.toContain(reg.token);
      expect(visible).not.toContain(jit.encodedJitConfig.slice(0, 40));
      expect(visible).not.toContain('PRIVATE KEY');
    });
  });

  describe('webhook deliveries', () => {
    it('lists deliveries page by page with the cursor and redelivers one (App JWT)', async () => {
      const receiver = await startReceiver(500);
      sim.configureWebhook({ url: receiver.url, secret: 'delivery-test-secret' });
      try {
        for (let i = 0; i < 105; i++) {
          sim.queueJob({ owner: 'octo-org', repo: 'hooks', labels: ['x'], deliver: true });
        }
        await sim.settled();
        const gh = client();

        const first = await gh.listHookDeliveries(undefined);
        expect(first.deliveries).toHaveLength(100);
        expect(first.next).toBeDefined();
        const second = await gh.listHookDeliveries(first.next);
        expect(second.deliveries.length).toBeGreaterThanOrEqual(5);
        const ids = [...first.deliveries, ...second.deliveries].map((d) => d.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(first.deliveries[0]).toMatchObject({
          event: 'workflow_job',
          action: 'queued',
          statusCode: 500,
          redelivery: false,
        });

        const failed = first.deliveries[0];
        if (!failed) throw new Error('no delivery');
        receiver.status = 200;
        await gh.redeliver(failed.id);
        await sim.settled();

        const latest = (await gh.listHookDeliveries(undefined)).deliveries[0];
        expect(latest).toMatchObject({ guid: failed.guid, redelivery: true, statusCode: 200 });
        expect(receiver.received.at(-1)?.guid).toBe(failed.guid);
        const jwtCalls = sim.requests.filter((r) => r.endpoint.startsWith('GET /app/hook/deliveries'));
        expect(jwtCalls.every((r) => r.status === 200)).toBe(true);
      } finally {
        sim.configureWebhook(undefined);
        await receiver.close();
      }
    });

    it('reports an unknown delivery as a 404 GitHubRequestError', async () => {
      const error = await client()
        .redeliver(12345)
        .catch((e: unknown) => e);
      expect((error as GitHubRequestError).status).toBe(404);
      expect((error as GitHubRequestError).endpoint).toBe('POST /app/hook/deliveries/{delivery_id}/attempts');
    });
  });
});

async function startReceiver(initialStatus: number) {
  const { createServer } = await import('node:http');
  const received: { guid: string; event: string }[] = [];
  const state = { status: initialStatus };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ guid: String(req.headers['x-github-delivery']), event: String(req.headers['x-github-event']) });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/webhook`,
    received,
    set status(s: number) {
      state.status = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('findInstallation', () => {
  it('finds the App installation of a repository and of an organization with the App JWT', async () => {
    const gh = client();
    expect(await gh.findInstallation(repoScope)).toBe(sim.installationId);
    expect(await gh.findInstallation(orgScope)).toBe(sim.installationId);
    expect(sim.requests.map((r) => r.endpoint)).toEqual([
      'GET /repos/{owner}/{repo}/installation',
      'GET /orgs/{org}/installation',
    ]);
  });
});
