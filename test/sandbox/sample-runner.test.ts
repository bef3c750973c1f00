import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../functions/adapters/github/github-client.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import type { Scope } from '../../functions/domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type GitHubTarget } from '../../functions/ports/github.ts';
import { validateWebhook } from './helpers/openapi.ts';
import { Cleanup, copyRunner, minimalEnv, runScript, startScript } from './helpers/runner-process.ts';
import { type Receiver, startReceiver } from './helpers/sim-api.ts';

const LABELS = ['self-hosted', 'linux', 'x64'];
const METADATA_LINE =
  'Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.';

let sim: GitHubSimulator;
let gh: GitHubPort;
let receiver: Receiver;
const SECRET = 'sample-runner-webhook-secret';
const cleanup = new Cleanup();
let counter = 0;

beforeAll(async () => {
  sim = await startGitHubSimulator({ pollMs: 400, jobDurationMs: 300 });
  gh = createGitHubClient({ appId: sim.appId, privateKey: sim.privateKey, apiUrl: sim.apiUrl, retryBaseDelayMs: 5 });
  receiver = await startReceiver(202);
  sim.configureWebhook({ url: receiver.url, secret: SECRET });
});
afterAll(async () => {
  await cleanup.run();
  await sim.close();
  await receiver.close();
});
afterEach(async () => {
  await cleanup.run();
  sim.clearFault();
});

/** Each test gets its own repository so runners of one test never take another test's jobs. */
function freshScope(): { scope: Scope; key: string; owner: string; repo: string; target: GitHubTarget } {
  const repo = `repo-${++counter}`;
  const scope: Scope = { kind: 'repo', owner: 'octo', repo };
  return { scope, key: `octo/${repo}`, owner: 'octo', repo, target: { installationId: sim.installationId, scope } };
}

async function mint(target: GitHubTarget, name: string, labels = LABELS) {
  return gh.generateJitConfig(target, { name, labels, runnerGroupId: 1, workFolder: '_work' });
}

function startJit(encoded: string, env: Record<string, string> = {}, viaEnv = false) {
  const dir = cleanup.dir(copyRunner());
  return cleanup.track(
    viaEnv
      ? startScript(dir, 'run.sh', [], minimalEnv({ ACTIONS_RUNNER_INPUT_JITCONFIG: encoded, ...env }))
      : startScript(dir, 'run.sh', ['--jitconfig', encoded], minimalEnv(env)),
  );
}

async function configureRegular(
  s: ReturnType<typeof freshScope>,
  name: string,
  extra: string[] = [],
  env: Record<string, string> = {},
) {
  const dir = cleanup.dir(copyRunner());
  const { token } = await gh.createRegistrationToken(s.target);
  const result = await runScript(
    dir,
    'config.sh',
    ['--unattended', '--url', `${sim.serverUrl}/${s.owner}/${s.repo}`, '--token', token, '--name', name, ...extra],
    minimalEnv(env),
  );
  return { dir, ...result };
}

const runnerView = (key: string, name: string) => sim.runners(key).find((r) => r.name === name);

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sample runner', () => {
  describe('as a JIT runner', () => {
    it('connects, takes one matching job, reports it through signed webhooks, exits 0 and is unregistered', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-1-1');
      const runner = startJit(jit.encodedJitConfig);
      await runner.waitFor(/Listening for Jobs/);
      expect(runnerView(s.key, 'jr-1-1')).toMatchObject({ status: 'online', busy: false });

      const payload = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted', 'linux'], name: 'build' });
      const jobId = (payload.workflow_job as { id: number }).id;

      expect(await runner.exited).toBe(0);
      expect(sim.job(jobId)).toMatchObject({ status: 'completed', conclusion: 'success', runnerName: 'jr-1-1' });
      expect(runnerView(s.key, 'jr-1-1')).toBeUndefined();

      const out = runner.stdout();
      expect(out).toContain('√ Connected to GitHub');
      expect(out).toContain("Current runner version: '2.330.0'");
      expect(out).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Listening for Jobs$/m);
      expect(out).toMatch(/: Running job: build$/m);
      expect(out).toMatch(/: Job build completed with result: Succeeded$/m);
      expect(out).toContain('Runner update is disabled');
      expect(out + runner.stderr()).not.toContain(jit.encodedJitConfig);

      const [diagFile] = runner.diagFiles();
      expect(diagFile).toMatch(/^Runner_\d{8}-\d{6}-utc\.log$/);
      expect(runner.diag()).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ INFO Runner\] Listening for Jobs$/m);
      expect(runner.diag()).toContain('Job build completed with result: Succeeded');

      await sim.settled();
      const events = receiver.received
        .map((r) => ({ headers: r.headers, payload: JSON.parse(r.body) as Record<string, unknown>, body: r.body }))
        .filter((r) => (r.payload.workflow_job as { id: number }).id === jobId);
      expect(events.map((e) => e.payload.action)).toEqual(['in_progress', 'completed']);
      for (const e of events) {
        expect(e.headers['x-github-event']).toBe('workflow_job');
        expect(e.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
        expect(await verify(SECRET, e.body, e.headers['x-hub-signature-256'] ?? '')).toBe(true);
        const validation = validateWebhook(e.payload.action as 'in_progress' | 'completed', e.payload);
        expect(validation.errors).toBe('');
      }
      expect(events[0]?.payload.workflow_job).toMatchObject({ runner_name: 'jr-1-1', status: 'in_progress' });
      expect(events[1]?.payload.workflow_job).toMatchObject({ conclusion: 'success', status: 'completed' });
      const recorded = sim.deliveries().filter((d) => events.some((e) => e.headers['x-github-delivery'] === d.guid));
      expect(recorded.map((d) => d.statusCode)).toEqual([202, 202]);
    });

    it('reads the JIT config from ACTIONS_RUNNER_INPUT_JITCONFIG', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-2-1');
      const runner = startJit(jit.encodedJitConfig, {}, true);
      await runner.waitFor(/Listening for Jobs/);
      sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted'] });
      expect(await runner.exited).toBe(0);
    });

    it('takes a job it was not minted for when the labels match, and leaves jobs it cannot serve', async () => {
      const s = freshScope();
      const gpuJob = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted', 'gpu'] });
      const otherRepoJob = sim.queueJob({ owner: s.owner, repo: `${s.repo}-other`, labels: ['self-hosted'] });
      const plainJob = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted', 'LINUX'] });
      const jit = await mint(s.target, 'jr-3-1');
      const runner = startJit(jit.encodedJitConfig);

      expect(await runner.exited).toBe(0);
      const id = (p: Record<string, unknown>) => (p.workflow_job as { id: number }).id;
      expect(sim.job(id(plainJob))).toMatchObject({ status: 'completed', runnerName: 'jr-3-1' });
      expect(sim.job(id(gpuJob))?.status).toBe('queued');
      expect(sim.job(id(otherRepoJob))?.status).toBe('queued');
    });

    it('prints the version pinned by RUNNER_VERSION', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-4-1');
      const runner = startJit(jit.encodedJitConfig, { RUNNER_VERSION: '2.331.0' });
      await runner.waitFor(/Listening for Jobs/);
      expect(runner.stdout()).toContain("Current runner version: '2.331.0'");
      expect(runnerView(s.key, 'jr-4-1')?.version).toBe('2.331.0');
    });

    it('exits on SIGTERM and shows offline at once', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-5-1');
      const runner = startJit(jit.encodedJitConfig);
      await runner.waitFor(/Listening for Jobs/);

      runner.kill('SIGTERM');

      expect(await runner.exited).toBe(0);
      expect(runnerView(s.key, 'jr-5-1')).toMatchObject({ status: 'offline' });
    });

    it('cancels its job when stopped while running it', async () => {
      const s = freshScope();
      const payload = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted'], durationMs: 60_000 });
      const jit = await mint(s.target, 'jr-6-1');
      const runner = startJit(jit.encodedJitConfig);
      await runner.waitFor(/Running job: build/);
      expect(runnerView(s.key, 'jr-6-1')).toMatchObject({ status: 'online', busy: true });

      runner.kill('SIGTERM');

      await runner.exited;
      expect(sim.job((payload.workflow_job as { id: number }).id)).toMatchObject({
        status: 'completed',
        conclusion: 'cancelled',
      });
    });

    it('exits non-zero when its registration is deleted while it listens', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-7-1');
      const runner = startJit(jit.encodedJitConfig);
      await runner.waitFor(/Listening for Jobs/);

      await gh.deleteRunner(s.target, jit.runnerId);

      expect(await runner.exited).not.toBe(0);
      expect(runner.stderr()).toContain('The runner no longer exists on the server');
    });

    it('refuses to start when its registration is already gone', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-8-1');
      await gh.deleteRunner(s.target, jit.runnerId);
      const runner = startJit(jit.encodedJitConfig);

      expect(await runner.exited).not.toBe(0);
      expect(runner.stderr()).toContain(
        'Failed to create a session. The runner registration has been deleted from the server',
      );
    });
  });

  describe('as a regular runner (config.sh)', () => {
    it('registers with config.sh, writes its identity, runs online and is removed with config.sh remove', async () => {
      const s = freshScope();
      const configured = await configureRegular(s, 'regular-1', ['--labels', 'build-box']);
      expect(configured.code).toBe(0);
      expect(configured.stdout).toContain('√ Runner successfully added');
      expect(configured.stdout).toContain('√ Settings Saved.');
      const file = JSON.parse(readFileSync(join(configured.dir, '.runner'), 'utf8')) as Record<string, unknown>;
      expect(file).toMatchObject({ agentName: 'regular-1', gitHubUrl: `${sim.serverUrl}/octo/${s.repo}` });
      expect(existsSync(join(configured.dir, '.credentials'))).toBe(true);
      expect(runnerView(s.key, 'regular-1')).toMatchObject({
        status: 'offline',
        jit: false,
        labels: ['self-hosted', 'Linux', 'X64', 'build-box'],
      });
      expect(sim.requests.some((r) => r.endpoint === 'POST /actions/runner-registration' && r.scopeKey === s.key)).toBe(
        true,
      );

      const run = cleanup.track(startScript(configured.dir, 'run.sh', []));
      await run.waitFor(/Listening for Jobs/);
      expect(runnerView(s.key, 'regular-1')?.status).toBe('online');
      run.kill('SIGTERM');
      await run.exited;

      const { token } = await gh.createRemoveToken(s.target);
      const removed = await runScript(configured.dir, 'config.sh', ['remove', '--token', token], minimalEnv());
      expect(removed.code).toBe(0);
      expect(removed.stdout).toContain('√ Runner removed successfully');
      expect(existsSync(join(configured.dir, '.runner'))).toBe(false);
      expect(runnerView(s.key, 'regular-1')).toBeUndefined();
    });

    it('with --no-default-labels and a unique label, takes no job that does not ask for that label', async () => {
      const s = freshScope();
      const configured = await configureRegular(s, 'baseline-1', [
        '--labels',
        'jit-runners-baseline-abc',
        '--no-default-labels',
      ]);
      expect(runnerView(s.key, 'baseline-1')?.labels).toEqual(['jit-runners-baseline-abc']);
      const userJob = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted'] });
      const ownJob = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['jit-runners-baseline-abc'] });
      const run = cleanup.track(startScript(configured.dir, 'run.sh', []));

      // Jobs are offered oldest first: had the user's job matched, the runner would have taken it first.
      await sim.waitForJob((ownJob.workflow_job as { id: number }).id, 'completed');
      await run.waitFor(/Job build completed with result: Succeeded/);
      expect(sim.job((userJob.workflow_job as { id: number }).id)?.status).toBe('queued');
      expect(run.stdout().match(/Running job/g)).toHaveLength(1);
      // A regular runner keeps listening after a job.
      expect(run.child.exitCode).toBeNull();
    });

    it('refuses a second configuration, an existing name without --replace, and a bad token', async () => {
      const s = freshScope();
      const first = await configureRegular(s, 'dup-1');
      expect(first.code).toBe(0);
      const again = await runScript(first.dir, 'config.sh', [
        '--unattended',
        '--url',
        `${sim.serverUrl}/octo/${s.repo}`,
        '--token',
        'x',
      ]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('already configured');

      const taken = await configureRegular(s, 'dup-1');
      expect(taken.code).not.toBe(0);
      expect(taken.stderr).toContain('A runner exists with the same name');

      const replaced = await configureRegular(s, 'dup-1', ['--replace']);
      expect(replaced.code).toBe(0);
      expect(sim.runners(s.key).filter((r) => r.name === 'dup-1')).toHaveLength(1);

      const dir = cleanup.dir(copyRunner());
      const bad = await runScript(dir, 'config.sh', [
        '--unattended',
        '--url',
        `${sim.serverUrl}/octo/${s.repo}`,
        '--token',
        'AAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        '--name',
        'bad-token',
      ]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('NotFound');
      expect(bad.stdout + bad.stderr).not.toContain('AAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    });

    it('prints the version stored in .runner when configured with RUNNER_VERSION', async () => {
      const s = freshScope();
      const configured = await configureRegular(s, 'pinned-1', [], { RUNNER_VERSION: '2.329.0' });
      const run = cleanup.track(startScript(configured.dir, 'run.sh', []));
      await run.waitFor(/Listening for Jobs/);
      expect(run.stdout()).toContain("Current runner version: '2.329.0'");
    });
  });

  describe('fault modes', () => {
    it('metadataMissing: JIT runners loop on BadRequest and the API answers 500 until a regular runner has been online', async () => {
      const s = freshScope();
      sim.setFault(s.key, { metadataMissing: true });
      const jit = await mint(s.target, 'jr-20-1');
      // A second JIT registration that never runs: the API view of the scope's JIT runners, race-free.
      const idle = await mint(s.target, 'jr-20-2');
      const payload = sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted'] });
      const jobId = (payload.workflow_job as { id: number }).id;
      const runner = startJit(jit.encodedJitConfig);

      await runner.waitFor(/Failed to get job message/, 3);
      const lines = runner.stderr().split('\n').filter(Boolean);
      expect(lines.slice(0, 3)).toEqual([METADATA_LINE, METADATA_LINE, METADATA_LINE]);
      expect(runner.diag()).toMatch(/ERR {2}Runner\] Runner connect error: Failed to get job message\. .*BadRequest/);
      expect(sim.job(jobId)?.status).toBe('queued');
      for (const id of [jit.runnerId, idle.runnerId]) {
        const error = await gh.getRunner(s.target, id).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(GitHubRequestError);
        expect((error as GitHubRequestError).status).toBe(500);
      }
      expect(sim.isMetadataInitialised(s.key)).toBe(false);

      // The workaround: a regular runner of the scope comes online once.
      const regular = await configureRegular(s, 'baseline-20', [
        '--labels',
        'jit-runners-baseline-20',
        '--no-default-labels',
      ]);
      const run = cleanup.track(startScript(regular.dir, 'run.sh', []));
      await run.waitFor(/Listening for Jobs/);
      expect(sim.isMetadataInitialised(s.key)).toBe(true);
      run.kill('SIGTERM');
      await run.exited;

      await expect(gh.getRunner(s.target, idle.runnerId)).resolves.toMatchObject({ id: idle.runnerId });
      await sim.waitForJob(jobId, 'completed');
      expect(sim.job(jobId)?.runnerName).toBe('jr-20-1');
      expect(await runner.exited).toBe(0);
    });

    it('metadataMissing does not affect regular runners or other scopes', async () => {
      const s = freshScope();
      const other = freshScope();
      sim.setFault(s.key, { metadataMissing: true });
      const jit = await mint(other.target, 'jr-21-1');
      sim.queueJob({ owner: other.owner, repo: other.repo, labels: ['self-hosted'] });
      const runner = startJit(jit.encodedJitConfig);
      expect(await runner.exited).toBe(0);
      expect(runner.stderr()).not.toContain('BadRequest');
    });

    it('minimumVersion: an older runner prints the deprecation line and exits non-zero', async () => {
      const s = freshScope();
      sim.setFault(s.key, { minimumVersion: '2.329.0' });
      const jit = await mint(s.target, 'jr-22-1');
      const runner = startJit(jit.encodedJitConfig, { RUNNER_VERSION: '2.300.0' });

      expect(await runner.exited).not.toBe(0);
      expect(runner.stderr()).toContain('Runner version v2.300.0 is deprecated and cannot receive messages.');
      expect(runner.diag()).toContain('Runner version v2.300.0 is deprecated and cannot receive messages.');
    });

    it('minimumVersion: a runner at or above it works', async () => {
      const s = freshScope();
      sim.setFault(s.key, { minimumVersion: '2.329.0' });
      const jit = await mint(s.target, 'jr-23-1');
      sim.queueJob({ owner: s.owner, repo: s.repo, labels: ['self-hosted'] });
      const runner = startJit(jit.encodedJitConfig, { RUNNER_VERSION: '2.330.0' });
      expect(await runner.exited).toBe(0);
    });

    it('a runner killed without notice goes offline after the heartbeat window', async () => {
      const s = freshScope();
      const jit = await mint(s.target, 'jr-24-1');
      const runner = startJit(jit.encodedJitConfig);
      await runner.waitFor(/Listening for Jobs/);
      runner.kill('SIGKILL');
      await runner.exited;
      await until(() => runnerView(s.key, 'jr-24-1')?.status === 'offline', 'the killed runner shows offline');
    });
  });
});
