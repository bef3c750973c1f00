import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { VersionRecordState } from '../../../functions/domain/version-record.ts';
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
  named(name: string) {
    return this.counts.filter((c) => c.name === name);
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
