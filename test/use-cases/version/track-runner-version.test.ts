import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { RunnerPlatform } from '../../../functions/domain/release-checksums.ts';
import type { VersionRecordState } from '../../../functions/domain/version-record.ts';
import {
  type RunnerTarballCache,
  TarballChecksumMismatchError,
  TarballUnavailableError,
} from '../../../functions/ports/runner-tarball-cache.ts';
import { VersionRecordCorruptError } from '../../../functions/ports/store.ts';
import { createTrackRunnerVersion } from '../../../functions/use-cases/version/track-runner-version.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { CALM_RELEASES, DAY, digest, listed, NOW, versionConfig } from '../admin/version-fixtures.ts';

class RecordingMetrics {
  readonly counts: { name: string; value: number; dimensions?: Record<string, string> }[] = [];
  count(name: string, value = 1, dimensions?: Record<string, string>) {
    this.counts.push({ name, value, ...(dimensions ? { dimensions } : {}) });
  }
  /** The version gauges are measures (unit Count): recorded with the counts, read the same way. */
  measure(name: string, value: number, _unit: string, dimensions?: Record<string, string>) {
    this.count(name, value, dimensions);
  }
  named(name: string) {
    return this.counts.filter((c) => c.name === name);
  }
}

/**
 * A tarball cache in memory: `served` is the digest each version's download answers (default: the expected
 * one); `unavailable` makes every download fail.
 */
class FakeTarballCache implements RunnerTarballCache {
  readonly kept = new Set<string>();
  readonly calls: { version: string; platform: RunnerPlatform; expected: string; url: string }[] = [];
  served: Record<string, string> = {};
  unavailable = false;
  async ensure(version: string, platform: RunnerPlatform, expected: string, url: string) {
    this.calls.push({ version, platform, expected, url });
    if (this.unavailable) throw new TarballUnavailableError(`cannot download ${version}: 503`);
    const actual = this.served[version] ?? expected;
    if (actual !== expected) throw new TarballChecksumMismatchError(version, platform, expected, actual);
    this.kept.add(`${version}/${platform}`);
    return this.path(version, platform);
  }
  async has(version: string, platform: RunnerPlatform) {
    return this.kept.has(`${version}/${platform}`);
  }
  path(version: string, platform: RunnerPlatform) {
    return `/cache/actions-runner-${platform}-${version}.tar.gz`;
  }
}

const CANARY_RECORD: VersionRecordState = {
  current: { version: '2.330.0', checksums: { 'linux-x64': digest('a') }, adoptedAt: NOW - 30 * DAY },
  canary: { version: '2.332.0', checksums: { 'linux-x64': digest('c') }, since: NOW - DAY / 2, share: 50 },
  bad: [],
};

describe('trackRunnerVersion', () => {
  let store: MemoryStore;
  let github: FakeGitHub;
  let metrics: RecordingMetrics;

  const tracker = (env: Record<string, string> = {}, releasesTtlMs = 0) =>
    createTrackRunnerVersion({
      config: versionConfig({ RUNNER_VERSION_CANARY_PERCENT: '50', ...env }),
      store,
      github,
      logger: silentLogger,
      metrics,
      releasesTtlMs,
    });

  /** A job whose runners' launches and failures are in its history, as the provisioner and healer note them. */
  async function jobWithRunners(jobId: number, runs: { version: string; failure?: string }[]) {
    await store.jobs.create(
      {
        jobId,
        runId: 1,
        owner: 'octo',
        repo: 'app',
        scopeKey: 'octo/app',
        installationId: 5,
        labels: ['self-hosted'],
      },
      `d${jobId}`,
      NOW - DAY / 4,
    );
    for (const [i, run] of runs.entries()) {
      const name = `jr-${jobId}-${i + 1}`;
      const at = NOW - DAY / 4 + i * 1000;
      await store.jobs.update(
        jobId,
        {},
        {
          event: {
            status: 'launched',
            note: `runner ${name} (id ${jobId * 10 + i}, v${run.version}) launch rec-${name}`,
          },
        },
        at,
      );
      if (run.failure) {
        await store.jobs.update(
          jobId,
          {},
          {
            event: { status: 'queued', note: `${run.failure} (signature) on runner ${name}: it failed → next attempt` },
          },
          at + 500,
        );
      }
    }
  }

  beforeEach(() => {
    store = createMemoryStore();
    github = new FakeGitHub();
    metrics = new RecordingMetrics();
  });

  it('makes no call and writes nothing under an exact pin', async () => {
    const report = await tracker({ RUNNER_VERSION: '2.330.0' })(NOW);

    expect(report).toMatchObject({ decision: 'pinned', version: '2.330.0', written: false });
    expect(github.releaseRequests).toEqual([]);
    expect(await store.versions.get()).toBeUndefined();
  });

  it('keeps the start version while the newer release soaks, and adopts it as a canary once it soaked', async () => {
    github.runnerReleases = CALM_RELEASES; // 2.332.0 is 3 days old
    const track = tracker({ RUNNER_VERSION_SOAK_DAYS: '7' });

    expect(await track(NOW)).toMatchObject({ decision: 'keep', written: false });
    expect(await store.versions.get()).toBeUndefined();

    const later = NOW + 4 * DAY + 1;
    expect(await track(later)).toMatchObject({ decision: 'adopt', version: '2.332.0', written: true });
    const record = await store.versions.get();
    expect(record).toMatchObject({
      current: { version: '2.330.0' },
      canary: { version: '2.332.0', since: later, share: 50, checksums: { 'linux-x64': digest('a') } },
      revision: 1,
    });
    expect(metrics.named('RunnerVersionAdopted')).toEqual([
      { name: 'RunnerVersionAdopted', value: 1, dimensions: { version: '2.332.0' } },
    ]);
    expect(github.releaseRequests[0]?.url).toBe('https://api.github.com/repos/actions/runner/releases');
  });

  describe('with a tarball cache', () => {
    const cached = (cache: FakeTarballCache) =>
      createTrackRunnerVersion({
        config: versionConfig({ RUNNER_VERSION_SOAK_DAYS: '1' }),
        store,
        github,
        logger: silentLogger,
        metrics,
        releasesTtlMs: 0,
        tarballCache: cache,
      });

    it("fetches and verifies the release's tarball before the record names it", async () => {
      github.runnerReleases = CALM_RELEASES;
      const cache = new FakeTarballCache();
      expect(await cached(cache)(NOW)).toMatchObject({ decision: 'adopt', version: '2.332.0', written: true });
      expect(cache.calls).toEqual([
        {
          version: '2.332.0',
          platform: 'linux-x64',
          expected: digest('a'),
          // The fixture lists no assets: GitHub's download address.
          url: 'https://github.com/actions/runner/releases/download/v2.332.0/actions-runner-linux-x64-2.332.0.tar.gz',
        },
      ]);
      expect((await store.versions.get())?.canary?.version).toBe('2.332.0');
    });

    it('does not adopt a release whose tarball does not match its digest, and marks it bad with the reason', async () => {
      github.runnerReleases = CALM_RELEASES;
      const cache = new FakeTarballCache();
      cache.served = { '2.332.0': digest('f') };
      const track = cached(cache);

      const report = await track(NOW);

      expect(report).toMatchObject({ decision: 'refuse', version: '2.332.0', written: true });
      const record = await store.versions.get();
      expect(record?.canary).toBeUndefined();
      expect(record?.current.version).toBe('2.330.0');
      expect(record?.bad).toEqual([
        {
          version: '2.332.0',
          reason: `tarball actions-runner-linux-x64-2.332.0.tar.gz has sha256 ${digest('f')}, its release notes give ${digest('a')}: checksum mismatch, not adopted`,
          at: NOW,
        },
      ]);
      expect(cache.kept.size).toBe(0);
      expect(metrics.named('RunnerVersionTarballRefused')).toEqual([
        { name: 'RunnerVersionTarballRefused', value: 1, dimensions: { version: '2.332.0' } },
      ]);
      expect(metrics.named('RunnerVersionAdopted')).toEqual([]);
      // A release marked bad is never tried again.
      expect(await track(NOW + DAY)).toMatchObject({ written: false });
      expect(cache.calls).toHaveLength(1);
    });

    it('leaves the adoption to a later pass when the tarball cannot be fetched, marking nothing', async () => {
      github.runnerReleases = CALM_RELEASES;
      const cache = new FakeTarballCache();
      cache.unavailable = true;
      const track = cached(cache);

      expect(await track(NOW)).toMatchObject({
        decision: 'adopt',
        written: false,
        reason: 'cannot download 2.332.0: 503',
      });
      expect(await store.versions.get()).toBeUndefined();

      cache.unavailable = false;
      expect(await track(NOW + 60_000)).toMatchObject({ decision: 'adopt', written: true });
      expect((await store.versions.get())?.bad).toEqual([]);
    });
  });

  it('never adopts a prerelease', async () => {
    github.runnerReleases = [listed('2.340.0', NOW - 20 * DAY, { prerelease: true }), ...CALM_RELEASES];
    const report = await tracker({ RUNNER_VERSION_SOAK_DAYS: '7' })(NOW + 5 * DAY);

    expect(report).toMatchObject({ decision: 'adopt', version: '2.332.0' });
  });

  it('rolls a canary back and marks it bad when its runners fail the version class and the current ones do not', async () => {
    github.runnerReleases = CALM_RELEASES;
    await store.versions.put(CANARY_RECORD, 0, NOW - DAY / 2);
    for (const id of [1, 2, 3]) await jobWithRunners(id, [{ version: '2.332.0', failure: 'version-deprecated' }]);
    for (const id of [11, 12, 13, 14, 15, 16]) await jobWithRunners(id, [{ version: '2.330.0' }]);

    const report = await tracker()(NOW);

    expect(report).toMatchObject({ decision: 'rollback', version: '2.332.0', written: true });
    const record = await store.versions.get();
    expect(record?.canary).toBeUndefined();
    expect(record?.current.version).toBe('2.330.0');
    expect(record?.bad.map((b) => b.version)).toEqual(['2.332.0']);
    expect(record?.bad[0]?.reason).toMatch(/version/);
    // The reason names the canary jobs that decided it, read from the jobs the step lists anyway.
    expect(report.reason).toMatch(/\(jobs 1, 2, 3\)$/);
    expect(record?.bad[0]?.reason).toMatch(/\(jobs 1, 2, 3\)$/);
    expect(metrics.named('RunnerVersionRollback')).toHaveLength(1);
    // A rolled-back release is never adopted again.
    expect(await tracker()(NOW + 10 * DAY)).toMatchObject({ decision: expect.not.stringMatching(/^adopt$/) });
  });

  it('keeps a canary whose runners fail no more than the current version', async () => {
    github.runnerReleases = CALM_RELEASES;
    await store.versions.put(CANARY_RECORD, 0, NOW - DAY / 2);
    for (const id of [1, 2]) await jobWithRunners(id, [{ version: '2.332.0' }]);
    await jobWithRunners(11, [{ version: '2.330.0', failure: 'version-deprecated' }]);

    expect(await tracker()(NOW)).toMatchObject({ decision: 'keep', written: false });
    expect((await store.versions.get())?.canary?.version).toBe('2.332.0');
  });

  it('drops its decision when another reconciler wrote the record after it read it', async () => {
    github.runnerReleases = CALM_RELEASES;
    const real = store.versions;
    store = Object.assign(Object.create(store) as MemoryStore, {
      versions: {
        get: async () => {
          const read = await real.get();
          // Another reconciler adopts first, from the same read.
          await real.put({ current: CANARY_RECORD.current, bad: [] }, read?.revision ?? 0, NOW);
          return read;
        },
        put: real.put.bind(real),
      },
    });

    const report = await tracker({ RUNNER_VERSION_SOAK_DAYS: '1' })(NOW);

    expect(report).toMatchObject({ decision: 'adopt', written: false });
    expect((await real.get())?.canary).toBeUndefined();
  });

  it('fails loudly on a corrupt record and leaves it as it is', async () => {
    github.runnerReleases = CALM_RELEASES;
    store.writeRawVersionRecord({ current: { version: 'not a version' } });

    await expect(tracker()(NOW)).rejects.toBeInstanceOf(VersionRecordCorruptError);
    await expect(store.versions.get()).rejects.toBeInstanceOf(VersionRecordCorruptError);
  });

  it('lists the releases once per TTL however often it runs', async () => {
    github.runnerReleases = CALM_RELEASES;
    const track = tracker({}, 15 * 60_000);
    await track(NOW);
    await track(NOW + 60_000);
    await track(NOW + 16 * 60_000);

    expect(github.releaseRequests).toHaveLength(2);
  });

  it("reports the days to GitHub's cut-off and the alarm flag on every pass", async () => {
    github.runnerReleases = [listed('2.331.0', NOW - 25 * DAY), listed('2.330.0', NOW - 40 * DAY)];
    await tracker({ RUNNER_VERSION_SOAK_DAYS: '30' })(NOW);

    expect(metrics.named('RunnerVersionDaysToCutoff')[0]?.value).toBeCloseTo(5, 0);
    expect(metrics.named('RunnerVersionCutoffAlarm')).toEqual([{ name: 'RunnerVersionCutoffAlarm', value: 1 }]);
  });
});
