import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import { isCanaryJob } from '../../../functions/domain/version-canary.ts';
import { LaunchConfigError, LaunchTransientError } from '../../../functions/ports/launcher.ts';
import type { JobRepository, Store } from '../../../functions/ports/store.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { testProvisioner } from '../../support/test-provisioner.ts';

const config = provisionConfig('2.331.0');

const newJob = (jobId: number, repo = 'app') => ({
  jobId,
  runId: 1,
  owner: 'octo',
  repo,
  scopeKey: `octo/${repo}`,
  installationId: 5,
  labels: ['self-hosted', 'linux'],
});

describe('provisionJob', () => {
  let store: Store;
  let github: FakeGitHub;
  let launcher: RecordingLauncher;
  let now: number;
  let dispatched: { jobId: number; delayMs: number }[];
  let workarounds: string[];

  const provisioner = (owner = 'p1') =>
    testProvisioner({
      config,
      store,
      github,
      launcher,
      now: () => now,
      owner,
      dispatcher: { dispatch: async (jobId, o) => void dispatched.push({ jobId, delayMs: o?.delayMs ?? 0 }) },
      requestWorkaround: (scope) => void workarounds.push(JSON.stringify(scope)),
    });

  beforeEach(() => {
    store = createMemoryStore();
    github = new FakeGitHub();
    launcher = new RecordingLauncher();
    now = 1_000_000;
    dispatched = [];
    workarounds = [];
  });

  it('mints one JIT config with every served label and launches it with the pinned version', async () => {
    await store.jobs.create(newJob(1), 'd1', now);
    expect(await provisioner()(1)).toBe('launched');
    expect(github.calls).toEqual([{ op: 'generateJitConfig', scopeKey: 'octo/app', name: 'jr-1-1' }]);
    expect(launcher.launches).toHaveLength(1);
    expect(launcher.launches[0]).toMatchObject({
      runnerName: 'jr-1-1',
      jobId: 1,
      attempt: 1,
      labels: ['self-hosted', 'linux', 'x64'],
      runnerVersion: '2.330.0',
    });
    const job = await store.jobs.get(1);
    expect(job).toMatchObject({
      status: 'launched',
      runnerName: 'jr-1-1',
      launchId: 'rec-jr-1-1',
      runnerVersion: '2.330.0',
    });
    expect(job?.runnerId).toBeTypeOf('number');
    expect(job?.leaseOwner).toBeUndefined();
  });

  it("hands the launcher the adopted version's tarball digests from the version record, and none for a pin", async () => {
    const auto = parseConfig({ env: { RUNNER_GROUP_ID: '7', RUNNER_VERSION: 'auto' } });
    const x64 = 'a'.repeat(64);
    await store.versions.put(
      { current: { version: '2.331.0', checksums: { 'linux-x64': x64 }, adoptedAt: now }, bad: [] },
      0,
      now,
    );
    await store.jobs.create(newJob(1), 'd1', now);
    const tracking = testProvisioner({ config: auto, store, github, launcher, now: () => now });
    expect(await tracking(1)).toBe('launched');
    expect(launcher.launches[0]).toMatchObject({ runnerVersion: '2.331.0', runnerSha256: { 'linux-x64': x64 } });

    // An exact pin tracks nothing: the bootstrap's own checksum table verifies its tarball.
    await store.jobs.create(newJob(2), 'd2', now);
    expect(await provisioner()(2)).toBe('launched');
    expect(launcher.launches[1]?.runnerVersion).toBe('2.330.0');
    expect(launcher.launches[1]).not.toHaveProperty('runnerSha256');
  });

  it('records on the job whether its runner got the canary, in the same write as its version', async () => {
    const auto = parseConfig({ env: { RUNNER_GROUP_ID: '7', RUNNER_VERSION: 'auto' } });
    const digest = { 'linux-x64': 'a'.repeat(64) };
    await store.versions.put(
      {
        current: { version: '2.331.0', checksums: digest, adoptedAt: now },
        canary: { version: '2.332.0', checksums: digest, since: now, share: 50 },
        bad: [],
      },
      0,
      now,
    );
    const writes: { jobId: number; set: Record<string, unknown> }[] = [];
    const jobs: JobRepository = {
      ...store.jobs,
      update: (jobId, expect, changes, at) => {
        writes.push({ jobId, set: { ...changes.set } });
        return store.jobs.update(jobId, expect, changes, at);
      },
    };
    const ids = Array.from({ length: 12 }, (_, i) => 40 + i);
    const tracking = testProvisioner({ config: auto, store, jobs, github, launcher, now: () => now });
    for (const id of ids) {
      await store.jobs.create(newJob(id), `d${id}`, now);
      expect(await tracking(id)).toBe('launched');
    }

    const roles = new Set<string>();
    for (const id of ids) {
      const canary = isCanaryJob(id, { version: '2.332.0', share: 50 });
      const expected = canary
        ? { runnerVersion: '2.332.0', runnerVersionRole: 'canary' }
        : { runnerVersion: '2.331.0', runnerVersionRole: 'current' };
      expect(await store.jobs.get(id)).toMatchObject({ status: 'launched', ...expected });
      roles.add(expected.runnerVersionRole);
      // The lease and the launch: the role costs no write of its own, and it rides on the launch's.
      const own = writes.filter((w) => w.jobId === id);
      expect(own).toHaveLength(2);
      expect(own[1]?.set).toMatchObject({ status: 'launched', ...expected });
    }
    expect(roles).toEqual(new Set(['canary', 'current']));

    // An exact pin: the job says so.
    await store.jobs.create(newJob(99), 'd99', now);
    expect(await provisioner()(99)).toBe('launched');
    expect(await store.jobs.get(99)).toMatchObject({ runnerVersion: '2.330.0', runnerVersionRole: 'pinned' });
  });

  describe('a job that ends while its runner is launched', () => {
    /** Completes the job in the store while the launch is in flight; `busy`: its new runner took another job. */
    const endDuringLaunch = (busy: boolean) => {
      const launch = launcher.launch.bind(launcher);
      launcher.launch = async (request) => {
        const started = await launch(request);
        await store.jobs.update(
          request.jobId,
          {},
          {
            set: { status: 'completed', conclusion: 'success' },
            event: { status: 'completed', note: 'ran elsewhere' },
          },
          now,
        );
        const registration = [...github.runners.values()].find((r) => r.name === request.runnerName);
        if (busy && registration) {
          registration.busy = true;
          github.failures.deleteRunner = [
            apiError(422, `Bad request - Runner "${request.runnerName}" is still running a job`),
          ];
        }
        return started;
      };
    };

    it('retires the new runner, registration first, when it took no job', async () => {
      await store.jobs.create(newJob(30), 'd', now);
      endDuringLaunch(false);
      await provisioner()(30);

      const ops = github.calls.map((c) => c.op);
      expect(ops.indexOf('deleteRunner')).toBeGreaterThan(-1);
      expect(launcher.stopped).toEqual(['rec-jr-30-1']);
      expect([...github.runners.values()].map((r) => r.name)).not.toContain('jr-30-1');
    });

    it('keeps the new runner when GitHub answers 422 because it already runs another job', async () => {
      await store.jobs.create(newJob(31), 'd', now);
      endDuringLaunch(true);
      await provisioner()(31);

      // Stopping it would cancel the job it took.
      expect(github.count('deleteRunner')).toBe(1);
      expect(launcher.stopped).toEqual([]);
    });
  });

  it('does nothing for a job that is already launched', async () => {
    await store.jobs.create(newJob(2), 'd', now);
    await provisioner()(2);
    expect(await provisioner('p2')(2)).toBe('skipped');
    expect(github.count('generateJitConfig')).toBe(1);
    expect(launcher.launches).toHaveLength(1);
  });

  it('launches exactly one runner when five provisioners race for one job', async () => {
    await store.jobs.create(newJob(3), 'd', now);
    const outcomes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((o) => provisioner(o)(3)));
    expect(outcomes.filter((o) => o === 'launched')).toHaveLength(1);
    expect(github.count('generateJitConfig')).toBe(1);
    expect(launcher.launches).toHaveLength(1);
  });

  it('takes over a job whose lease expired (crashed holder) but not a live one', async () => {
    await store.jobs.create(newJob(4), 'd', now);
    await store.jobs.update(
      4,
      {},
      { set: { status: 'provisioning', leaseOwner: 'dead', leaseExpiresAt: now + 20_000 } },
      now,
    );
    expect(await provisioner()(4)).toBe('skipped');
    now += 20_001;
    expect(await provisioner()(4)).toBe('launched');
  });

  it('deletes a leftover registration of its own name that never came up and mints the next attempt', async () => {
    await store.jobs.create(newJob(5), 'd', now);
    await github.generateJitConfig(
      { installationId: 5, scope: { kind: 'repo', owner: 'octo', repo: 'app' } },
      {
        name: 'jr-5-1',
        labels: [],
        runnerGroupId: 1,
        workFolder: '_work',
      },
    );
    expect(await provisioner()(5)).toBe('retry');
    expect(github.count('deleteRunner')).toBe(1);
    expect((await store.jobs.get(5))?.attempt).toBe(2);
    expect(await provisioner()(5)).toBe('launched');
    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-5-2']);
  });

  it('fails the job instead of minting the next name when a leftover registration meets a spent attempt budget', async () => {
    await store.jobs.create(newJob(40), 'd', now);
    await store.jobs.update(40, {}, { set: { attempt: 3 } }, now);
    await github.generateJitConfig(
      { installationId: 5, scope: { kind: 'repo', owner: 'octo', repo: 'app' } },
      { name: 'jr-40-3', labels: [], runnerGroupId: 1, workFolder: '_work' },
    );
    expect(await provisioner()(40)).toBe('failed');
    const job = await store.jobs.get(40);
    expect(job).toMatchObject({ status: 'failed', failureClass: 'registration-gone', attempt: 3 });
    expect(job?.reason).toContain('runner name jr-40-3 left over from an interrupted attempt');
    expect(job?.reason).toContain('gave up after 3 attempts (limit 3 per job)');
    expect(launcher.launches).toHaveLength(0);
  });

  it('adopts its own runner when the 409 name is already online (the launch happened before a crash)', async () => {
    await store.jobs.create(newJob(6), 'd', now);
    const { runnerId } = await github.generateJitConfig(
      { installationId: 5, scope: { kind: 'repo', owner: 'octo', repo: 'app' } },
      { name: 'jr-6-1', labels: [], runnerGroupId: 1, workFolder: '_work' },
    );
    const existing = github.runners.get(runnerId);
    if (existing) existing.status = 'online';
    expect(await provisioner()(6)).toBe('launched');
    expect(launcher.launches).toHaveLength(0);
    expect(await store.jobs.get(6)).toMatchObject({ status: 'launched', runnerName: 'jr-6-1', runnerId });
  });

  it('opens the scope breaker on "breaker open", parks the job and then makes no call for that scope', async () => {
    await store.jobs.create(newJob(7), 'd', now);
    await store.jobs.create(newJob(8), 'd', now);
    await store.jobs.create(newJob(9, 'other'), 'd', now);
    github.failures.generateJitConfig = [apiError(503, '{"message":"breaker open"}')];
    expect(await provisioner()(7)).toBe('waiting');
    const parked = await store.jobs.get(7);
    expect(parked?.status).toBe('waiting-breaker');
    expect(parked?.notBefore).toBeGreaterThan(now);
    const callsBefore = github.calls.length;
    expect(await provisioner()(8)).toBe('waiting');
    expect(github.calls.length).toBe(callsBefore);
    expect(await provisioner()(9)).toBe('launched');
    now = (parked?.notBefore ?? now) + 1;
    expect(await provisioner()(7)).toBe('launched');
  });

  it('fails the job with a clear reason on a configuration error and does not retry', async () => {
    await store.jobs.create(newJob(10), 'd', now);
    github.failures.generateJitConfig = [apiError(403, '{"message":"Resource not accessible by integration"}')];
    expect(await provisioner()(10)).toBe('failed');
    const job = await store.jobs.get(10);
    expect(job).toMatchObject({ status: 'failed', failureClass: 'config' });
    expect(job?.reason).toContain('403');
    expect(dispatched).toEqual([]);
  });

  it('retries a transient GitHub error after a backoff and keeps the same runner name', async () => {
    await store.jobs.create(newJob(11), 'd', now);
    github.failures.generateJitConfig = [apiError(502, 'Bad Gateway')];
    expect(await provisioner()(11)).toBe('retry');
    const job = await store.jobs.get(11);
    expect(job).toMatchObject({ status: 'queued', attempt: 1 });
    expect(dispatched).toEqual([{ jobId: 11, delayMs: expect.any(Number) }]);
    expect(dispatched[0]?.delayMs).toBeGreaterThan(0);
    now = (job?.notBefore ?? now) + 1;
    expect(await provisioner()(11)).toBe('launched');
    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-11-1']);
  });

  it('deletes the minted registration when the launch fails, then retries', async () => {
    await store.jobs.create(newJob(12), 'd', now);
    launcher.failures.push(new LaunchTransientError('throttled'));
    expect(await provisioner()(12)).toBe('retry');
    expect(github.count('deleteRunner')).toBe(1);
    expect(github.runners.size).toBe(0);
  });

  it('fails the job when the launcher is misconfigured', async () => {
    await store.jobs.create(newJob(13), 'd', now);
    launcher.failures.push(new LaunchConfigError('access denied'));
    expect(await provisioner()(13)).toBe('failed');
    expect((await store.jobs.get(13))?.reason).toContain('access denied');
  });

  it('gives up after the attempt budget and says why', async () => {
    await store.jobs.create(newJob(14), 'd', now);
    await store.jobs.update(14, {}, { set: { attempt: 4 } }, now);
    expect(await provisioner()(14)).toBe('failed');
    expect((await store.jobs.get(14))?.reason).toContain('attempt budget of 3');
  });

  it('launches with the fallback version after a version-deprecated failure', async () => {
    await store.jobs.create(newJob(15), 'd', now);
    await store.jobs.update(15, {}, { set: { failureClass: 'version-deprecated', attempt: 2 } }, now);
    await provisioner()(15);
    expect(launcher.launches[0]?.runnerVersion).toBe('2.331.0');
  });

  it('keeps the fallback version for later attempts once a job needed it', async () => {
    await store.jobs.create(newJob(17), 'd', now);
    await store.jobs.update(17, {}, { set: { failureClass: 'transient', runnerVersion: '2.331.0', attempt: 3 } }, now);
    await provisioner()(17);
    expect(launcher.launches[0]?.runnerVersion).toBe('2.331.0');
  });

  it('waits for the workaround, without minting, in a scope whose metadata is known missing', async () => {
    await store.jobs.create(newJob(16), 'd', now);
    await store.baselines.put({ scopeKey: 'octo/app', state: 'missing', workarounds: 0 }, 0, now);
    expect(await provisioner()(16)).toBe('waiting');
    expect(github.calls).toEqual([]);
    expect(workarounds).toHaveLength(1);
    expect((await store.jobs.get(16))?.status).toBe('queued');
  });
});
