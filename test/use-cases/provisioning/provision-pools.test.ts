import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { RunnerPool } from '../../../functions/domain/runner-pool.ts';
import type { Store } from '../../../functions/ports/store.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { testProvisioner } from '../../support/test-provisioner.ts';

const x64: RunnerPool = {
  name: 'x64',
  labels: ['self-hosted', 'linux', 'x64'],
  launcher: 'local',
  runnerVersion: '2.330.0',
};
const arm64: RunnerPool = {
  name: 'arm64',
  labels: ['self-hosted', 'linux', 'arm64'],
  launcher: 'local',
  runnerVersion: '2.331.0',
};
const config = { ...provisionConfig('2.332.0'), pools: [x64, arm64] };

const newJob = (jobId: number, labels: string[], pool?: string) => ({
  jobId,
  runId: 1,
  owner: 'octo',
  repo: 'app',
  scopeKey: 'octo/app',
  installationId: 5,
  labels,
  ...(pool !== undefined && { pool }),
});

describe("provisionJob in the job's pool", () => {
  let store: Store;
  let github: FakeGitHub;
  let launcher: RecordingLauncher;
  let workarounds: string[];
  let now = 1_000_000;

  const provisioner = (pools: RunnerPool[] = config.pools) =>
    testProvisioner({
      config: { ...config, pools },
      store,
      github,
      launcher,
      now: () => now,
      requestWorkaround: (scope, _target, _now, pool) => void workarounds.push(`${scope.kind}:${pool}`),
    });

  const mintedLabels = () => [...github.runners.values()].map((r) => r.labels);

  beforeEach(() => {
    now = 1_000_000;
    store = createMemoryStore();
    github = new FakeGitHub();
    launcher = new RecordingLauncher();
    workarounds = [];
  });

  it("mints the JIT config with the pool's labels and launches in that pool with its runnerVersion", async () => {
    await store.jobs.create(newJob(1, ['self-hosted', 'arm64'], 'arm64'), 'd1', now);
    expect(await provisioner()(1)).toBe('launched');
    expect(mintedLabels()).toEqual([['self-hosted', 'linux', 'arm64']]);
    expect(launcher.launches).toEqual([
      expect.objectContaining({ pool: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerVersion: '2.331.0' }),
    ]);
    expect(await store.jobs.get(1)).toMatchObject({ status: 'launched', pool: 'arm64', runnerVersion: '2.331.0' });
  });

  it("mints a job of the first pool with that pool's labels, not the other pool's", async () => {
    await store.jobs.create(newJob(2, ['linux'], 'x64'), 'd1', now);
    expect(await provisioner()(2)).toBe('launched');
    expect(mintedLabels()).toEqual([['self-hosted', 'linux', 'x64']]);
    expect(launcher.launches[0]).toMatchObject({ pool: 'x64', runnerVersion: '2.330.0' });
  });

  it("keeps the fallback version after a version-class failure: the pool's pin was refused", async () => {
    await store.jobs.create(newJob(3, ['arm64'], 'arm64'), 'd1', now);
    await store.jobs.update(3, {}, { set: { failureClass: 'version-deprecated', runnerVersion: '2.331.0' } }, now);
    expect(await provisioner()(3)).toBe('launched');
    expect(launcher.launches[0]).toMatchObject({ pool: 'arm64', runnerVersion: '2.332.0' });
  });

  it('mints a job recorded before pools (no pool: `default`) in the pool its labels match now', async () => {
    await store.jobs.create(newJob(4, ['self-hosted', 'arm64']), 'd1', now);
    expect((await store.jobs.get(4))?.pool).toBeUndefined();
    expect(await provisioner()(4)).toBe('launched');
    expect(launcher.launches[0]).toMatchObject({ pool: 'arm64', labels: ['self-hosted', 'linux', 'arm64'] });
  });

  it('fails the job as a config failure, minting nothing, when no configured pool serves it any more', async () => {
    await store.jobs.create(newJob(5, ['self-hosted', 'arm64'], 'arm64'), 'd1', now);
    expect(await provisioner([x64])(5)).toBe('failed');
    expect(github.count('generateJitConfig')).toBe(0);
    expect(launcher.launches).toEqual([]);
    const job = await store.jobs.get(5);
    expect(job).toMatchObject({ status: 'failed', failureClass: 'config' });
    expect(job?.reason).toContain('pool "arm64" is gone');
  });

  it('mints the next attempt in the same pool after a failed mint', async () => {
    await store.jobs.create(newJob(6, ['arm64'], 'arm64'), 'd1', now);
    github.failures.generateJitConfig = [apiError(503, 'unavailable')];
    expect(await provisioner()(6)).toBe('retry');
    now += 60_000;
    expect(await provisioner()(6)).toBe('launched');
    expect(launcher.launches.map((l) => l.pool)).toEqual(['arm64']);
    expect(mintedLabels()).toEqual([['self-hosted', 'linux', 'arm64']]);
  });

  it("asks for the regular-runner workaround in the waiting job's pool", async () => {
    await store.baselines.put({ scopeKey: 'octo/app', state: 'missing', workarounds: 0, installationId: 5 }, 0, now);
    await store.jobs.create(newJob(7, ['arm64'], 'arm64'), 'd1', now);
    expect(await provisioner()(7)).toBe('waiting');
    expect(workarounds).toEqual(['repo:arm64']);
    expect(github.count('generateJitConfig')).toBe(0);
  });
});
