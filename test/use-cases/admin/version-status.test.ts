import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../../../functions/adapters/local/http-server.ts';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { type CommandIo, runFleetCommand } from '../../../functions/cli/fleet-commands.ts';
import { createLocalFleetClient } from '../../../functions/cli/local-fleet-client.ts';
import type { Config } from '../../../functions/config/config.ts';
import { GitHubRequestError } from '../../../functions/ports/github.ts';
import {
  answerVersionStatus,
  readVersionStatus,
  type VersionStatus,
} from '../../../functions/use-cases/admin/version-status.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { CALM_RELEASES, DAY, digest, NEAR_CUTOFF_RELEASES, NOW, RECORD, versionConfig } from './version-fixtures.ts';

const clock = { now: () => NOW };
const iso = (ms: number) => new Date(ms).toISOString();

describe('version status (GET /admin/version)', () => {
  let store: MemoryStore;
  let github: FakeGitHub;

  beforeEach(() => {
    store = createMemoryStore();
    github = new FakeGitHub();
  });

  const read = (config: Config = versionConfig(), extra: { releasesUrl?: string } = {}) =>
    readVersionStatus({ config, store, github, clock, ...extra });

  describe('auto mode', () => {
    it('shows current, previous, bad releases with reasons, the cut-off alarm and the forced candidate', async () => {
      await store.versions.put(RECORD, 0, NOW - DAY);
      github.runnerReleases = NEAR_CUTOFF_RELEASES;
      const s = await read();
      expect(s).toMatchObject({
        schema: 1,
        mode: 'auto',
        soakDays: 7,
        canaryPercent: 10,
        floor: '2.329.0',
        releases: { read: true, count: 4 },
        record: { revision: 1, updatedAt: iso(NOW - DAY) },
        current: { version: '2.330.0', adoptedAt: iso(NOW - 30 * DAY) },
        previous: { version: '2.329.0', adoptedAt: iso(NOW - 60 * DAY) },
        // 30 days after 2.331.0 (25 days old): it counts although we marked it bad, as GitHub does not know.
        cutoffAt: iso(NOW + 5 * DAY),
        daysToCutoff: 5,
        cutoffAlarm: true,
        // Within 10 days of the cut-off the eligible release is adopted before its soak ends: now.
        candidate: { version: '2.332.0', adoptableAt: iso(NOW) },
        nextAdoptionAt: iso(NOW),
        bad: [{ version: '2.331.0', reason: RECORD.bad[0]?.reason, at: iso(NOW - 20 * DAY) }],
        decision: { kind: 'adopt' },
      });
      expect(s.canary).toBeUndefined();
      expect(s.pin).toBeUndefined();
      expect(s.skipped).toEqual([
        { version: '2.333.0', reason: 'prerelease' },
        { version: '2.331.0', reason: expect.stringMatching(/^marked bad: canary 2\.331\.0 rolled back/) },
      ]);
      expect(s.decision?.reason).toMatch(/before its soak ended/);
      expect(s.pools).toEqual([{ name: 'default', version: '2.330.0', tracked: true }]);
    });

    it('shows the next adoption date at the end of the soak when the cut-off is far', async () => {
      await store.versions.put(RECORD, 0, NOW - DAY);
      github.runnerReleases = CALM_RELEASES;
      const s = await read(versionConfig({ RUNNER_VERSION_SOAK_DAYS: '7' }));
      expect(s).toMatchObject({
        daysToCutoff: 27,
        cutoffAlarm: false,
        candidate: { version: '2.332.0', adoptableAt: iso(NOW + 4 * DAY) },
        nextAdoptionAt: iso(NOW + 4 * DAY),
        decision: { kind: 'keep' },
      });
    });

    it('shows a running canary with its share and latest promotion, and no candidate meanwhile', async () => {
      const since = NOW - 2 * 60 * 60 * 1000;
      await store.versions.put(
        { ...RECORD, canary: { version: '2.332.0', checksums: { 'linux-x64': digest('c') }, since, share: 10 } },
        0,
        since,
      );
      github.runnerReleases = CALM_RELEASES;
      const s = await read();
      expect(s.canary).toEqual({ version: '2.332.0', since: iso(since), share: 10, promotedBy: iso(since + DAY) });
      expect(s.candidate).toBeUndefined();
      expect(s.nextAdoptionAt).toBeUndefined();
      expect(s.decision?.kind).toBe('keep');
    });

    it('starts from the configured version while nothing was adopted', async () => {
      github.runnerReleases = CALM_RELEASES;
      const s = await read();
      expect(s.record).toBeUndefined();
      expect(s.current).toEqual({ version: '2.330.0' });
      expect(s.bad).toEqual([]);
    });

    it('reads the releases from RUNNER_RELEASES_URL, or the address it is given (the sandbox)', async () => {
      await read(versionConfig({ RUNNER_RELEASES_URL: 'https://mirror.example/runner/releases' }));
      await read(versionConfig(), { releasesUrl: 'http://127.0.0.1:9/repos/actions/runner/releases' });
      expect(github.releaseRequests.map((r) => r.url)).toEqual([
        'https://mirror.example/runner/releases',
        'http://127.0.0.1:9/repos/actions/runner/releases',
      ]);
    });

    it('shows the record alone, and why, when the releases cannot be read', async () => {
      await store.versions.put(RECORD, 0, NOW - DAY);
      github.failures.listRunnerReleases = [
        new GitHubRequestError('GitHub answered 503', 503, 'GET /repos/actions/runner/releases', '', undefined),
      ];
      const s = await read();
      expect(s.releases).toEqual({ read: false, reason: 'GitHub answered 503' });
      expect(s.current.version).toBe('2.330.0');
      expect(s.bad).toHaveLength(1);
      expect(s.cutoffAt).toBeUndefined();
      expect(s.cutoffAlarm).toBe(false);
      expect(s.decision).toBeUndefined();
    });

    it('says the releases were not read when the server has no GitHub client', async () => {
      const s = await readVersionStatus({ config: versionConfig(), store, clock });
      expect(s.releases).toEqual({ read: false, reason: expect.stringMatching(/no GitHub client/) });
    });
  });

  describe('pinned mode', () => {
    it('shows the pin and its cut-off, tracks nothing and shows no candidate, canary or decision', async () => {
      await store.versions.put(
        { ...RECORD, canary: { version: '2.332.0', checksums: {}, since: NOW, share: 10 } },
        0,
        NOW - DAY,
      );
      github.runnerReleases = CALM_RELEASES;
      const s = await read(versionConfig({ RUNNER_VERSION: '2.330.0' }));
      expect(s).toMatchObject({ mode: 'pinned', pin: '2.330.0', current: { version: '2.330.0' }, daysToCutoff: 27 });
      for (const key of ['candidate', 'canary', 'previous', 'nextAdoptionAt', 'decision'] as const)
        expect(s[key]).toBeUndefined();
      expect(s.pools).toEqual([{ name: 'default', version: '2.330.0', tracked: false }]);
    });
  });

  it('answers 500 naming a corrupt record instead of recreating it', async () => {
    store.writeRawVersionRecord({ bad: [], revision: 1, updatedAt: NOW });
    const answer = await answerVersionStatus({ config: versionConfig(), store, github, clock });
    expect(answer.status).toBe(500);
    expect((answer.body as { message: string }).message).toMatch(/^the stored runner version record is corrupt/);
    await expect(store.versions.get()).rejects.toThrow(/corrupt/);
  });

  describe('jit-runners version status against the local server', () => {
    let server: LocalHttpServer;
    let config: Config;
    let out = '';
    let err = '';
    const io: CommandIo = {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    };
    /** `jit-runners version status [--json]` against the server on the configured port. */
    const runVersion = (c: Config, options: { json: boolean }) =>
      runFleetCommand(
        { command: 'version status' },
        createLocalFleetClient({ port: c.local.port, baselineOnlineSeconds: c.timeouts.baselineOnlineSeconds }),
        options,
        io,
      );
    const serve = async (routes: { version?: () => Promise<{ status: number; body: unknown }> }) => {
      server = await startLocalHttpServer(
        { webhook: async () => ({ status: 404, body: { message: '' } }), health: async () => ({}), ...routes },
        { port: 0, host: '127.0.0.1', logger: silentLogger },
      );
      config = { ...versionConfig(), local: { ...versionConfig().local, port: server.port } };
    };

    beforeEach(async () => {
      out = '';
      err = '';
      await store.versions.put(RECORD, 0, NOW - DAY);
      github.runnerReleases = NEAR_CUTOFF_RELEASES;
      await serve({ version: () => answerVersionStatus({ config: versionConfig(), store, github, clock }) });
    });

    afterEach(async () => {
      await server.close();
    });

    it('prints the status as text, and as the endpoint’s JSON with --json', async () => {
      expect(await runVersion(config, { json: false })).toBe(0);
      expect(out).toMatch(/^runner version: auto \(soak 7 days, canary 10% of jobs, floor 2\.329\.0\)\n/);
      expect(out).toContain('ALARM');
      out = '';
      expect(await runVersion(config, { json: true })).toBe(0);
      const json = JSON.parse(out) as VersionStatus;
      expect(json).toEqual(await readVersionStatus({ config: versionConfig(), store, github, clock }));
      expect(err).toBe('');
    });

    it('exits 1 with the server’s message on a corrupt record, and with advice on an older server', async () => {
      store.writeRawVersionRecord({ revision: 1 });
      expect(await runVersion(config, { json: false })).toBe(1);
      expect(err).toMatch(/^jit-runners: the server answered 500 to GET \/admin\/version: the stored runner version/);
      await server.close();
      await serve({});
      err = '';
      expect(await runVersion(config, { json: true })).toBe(1);
      expect(err).toContain('does not serve GET /admin/version');
      expect(err).toContain('restart it with npm start');
      expect(out).toBe('');
    });

    it('exits 1 with a hint when no server answers', async () => {
      await server.close();
      expect(await runVersion(config, { json: false })).toBe(1);
      expect(err).toContain('no server answers');
      await serve({});
    });
  });
});
