import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../functions/adapters/github/github-client.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { classifyLogLine } from '../../functions/domain/classify-failure.ts';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import { parseReleaseChecksums } from '../../functions/domain/release-checksums.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';
import { validateQuery, validateResponse } from './helpers/openapi.ts';
import { Cleanup, minimalEnv, startScript } from './helpers/runner-process.ts';
import { BrokerRunner, call, installationToken } from './helpers/sim-api.ts';

const RELEASES = '/repos/actions/runner/releases';
const DAY = 86_400_000;

let sim: GitHubSimulator;
let token: string;
const cleanup = new Cleanup();

beforeAll(async () => {
  sim = await startGitHubSimulator({ pollMs: 300, jobDurationMs: 100 });
  token = await installationToken(sim);
  sim.publishRunnerRelease({ version: '2.331.0', publishedAt: Date.now() - 3 * DAY });
  sim.publishRunnerRelease({ version: '2.332.0', publishedAt: Date.now() - DAY, prerelease: true });
  sim.publishRunnerRelease({ version: '2.333.0', publishedAt: Date.now() - 2 * 60_000, tamperedTarball: true });
  sim.publishRunnerRelease({ version: '2.334.0', publishedAt: Date.now() - 60_000, deprecatedRunners: true });
});
afterAll(async () => {
  await cleanup.run();
  await sim.close();
});
afterEach(async () => {
  await cleanup.run();
  sim.clearFault();
});

interface ReleaseBody {
  tag_name: string;
  prerelease: boolean;
  draft: boolean;
  published_at: string;
  body: string;
  assets: { name: string; browser_download_url: string; size: number; digest: string }[];
}

async function listed(query = ''): Promise<{ status: number; body: ReleaseBody[]; headers: Headers }> {
  const answer = await call(sim, 'GET', `${RELEASES}${query}`, { auth: `token ${token}` });
  return { status: answer.status, body: answer.body as ReleaseBody[], headers: answer.headers };
}

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function extract(bytes: Uint8Array): string {
  const dir = cleanup.dir(mkdtempSync(join(tmpdir(), 'jr-release-')));
  writeFileSync(join(dir, 'package.tar.gz'), bytes);
  execFileSync('tar', ['xzf', 'package.tar.gz'], { cwd: dir });
  return dir;
}

describe('simulated actions/runner releases', () => {
  describe('GET /repos/actions/runner/releases', () => {
    it('answers a release list that follows the OpenAPI description', async () => {
      const { status, body } = await listed();
      expect(status).toBe(200);
      const result = validateResponse('GET', '/repos/{owner}/{repo}/releases', 200, body);
      expect(result.errors).toBe('');
      expect(result.valid).toBe(true);
    });

    it('lists releases newest first, tagged v<version>, with the prerelease flag', async () => {
      const { body } = await listed();
      expect(body.map((r) => [r.tag_name, r.prerelease, r.draft])).toEqual([
        ['v2.334.0', false, false],
        ['v2.333.0', false, false],
        ['v2.332.0', true, false],
        ['v2.331.0', false, false],
        [`v${DEFAULT_RUNNER_VERSION}`, false, false],
      ]);
    });

    it('starts with one release of the default pin, published past the default seven-day soak', async () => {
      const fresh = await startGitHubSimulator();
      try {
        const releases = fresh.runnerReleases();
        expect(releases.map((r) => r.version)).toEqual([DEFAULT_RUNNER_VERSION]);
        expect(Date.now() - (releases[0]?.publishedAt ?? 0)).toBeGreaterThan(7 * DAY);
      } finally {
        await fresh.close();
      }
    });

    it('starts with no release when asked, and with a chosen one otherwise', async () => {
      const none = await startGitHubSimulator({ initialRunnerRelease: false });
      const chosen = await startGitHubSimulator({ initialRunnerRelease: { version: '2.329.0', publishedAt: 0 } });
      try {
        expect(none.runnerReleases()).toEqual([]);
        expect(chosen.runnerReleases().map((r) => [r.version, r.publishedAt])).toEqual([['2.329.0', 0]]);
      } finally {
        await none.close();
        await chosen.close();
      }
    });

    it('carries each package SHA-256 in the notes, in actions/runner layout, matching the asset digest', async () => {
      const { body } = await listed();
      const release = body.find((r) => r.tag_name === 'v2.331.0');
      expect(release?.body).toContain('## SHA-256 Checksums');
      expect(release?.body).toMatch(
        /^- actions-runner-linux-x64-2\.331\.0\.tar\.gz <!-- BEGIN SHA linux-x64 -->[0-9a-f]{64}<!-- END SHA linux-x64 -->$/m,
      );
      const { checksums, problems } = parseReleaseChecksums(release?.body);
      expect(problems).toEqual([]);
      expect(Object.keys(checksums).sort()).toEqual(['linux-arm64', 'linux-x64']);
      const x64 = release?.assets.find((a) => a.name === 'actions-runner-linux-x64-2.331.0.tar.gz');
      expect(x64?.digest).toBe(`sha256:${checksums['linux-x64']}`);
    });

    it('pages with per_page and page, with a Link to the next page', async () => {
      const first = await listed('?per_page=2&page=1');
      const second = await listed('?per_page=2&page=2');
      expect(first.body.map((r) => r.tag_name)).toEqual(['v2.334.0', 'v2.333.0']);
      expect(second.body.map((r) => r.tag_name)).toEqual(['v2.332.0', 'v2.331.0']);
      expect(first.headers.get('link')).toContain('rel="next"');
      expect(
        validateQuery('GET', '/repos/{owner}/{repo}/releases', new URLSearchParams('per_page=2&page=1')).valid,
      ).toBe(true);
    });

    it('answers without credentials (a public repository) but 401 for a bad token', async () => {
      const anonymous = await call(sim, 'GET', RELEASES);
      const bad = await call(sim, 'GET', RELEASES, { auth: 'token ghs_not-a-real-token' });
      expect(anonymous.status).toBe(200);
      expect(bad.status).toBe(401);
    });

    it('answers 404 for another repository, and serves the GHES-style /api/v3 base too', async () => {
      expect((await call(sim, 'GET', '/repos/octo/app/releases', { auth: `token ${token}` })).status).toBe(404);
      expect((await call(sim, 'GET', `/api/v3${RELEASES}`, { auth: `token ${token}` })).status).toBe(200);
    });

    it('answers the faults of the actions/runner scope (here failRate)', async () => {
      sim.setFault('actions/runner', { failRate: 1, times: 1 });
      expect((await listed()).status).toBe(500);
      expect((await listed()).status).toBe(200);
    });
  });

  describe('package downloads', () => {
    it('redirects browser_download_url to the asset host and serves bytes whose SHA-256 is the one in the notes', async () => {
      const { body } = await listed();
      const release = body.find((r) => r.tag_name === 'v2.331.0');
      const asset = release?.assets.find((a) => a.name.includes('linux-x64'));
      const redirect = await fetch(asset?.browser_download_url ?? '', { redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toMatch(
        /\/_release-assets\/2\.331\.0\/actions-runner-linux-x64-2\.331\.0\.tar\.gz\?/,
      );

      const bytes = await download(asset?.browser_download_url ?? '');
      expect(bytes.byteLength).toBe(asset?.size);
      expect(sha256(bytes)).toBe(parseReleaseChecksums(release?.body).checksums['linux-x64']);
    });

    it('packs the sample runner as a real tarball whose listener reports the release version', async () => {
      const view = sim.runnerReleases().find((r) => r.version === '2.331.0');
      const dir = extract(await download(view?.assets[0]?.url ?? ''));
      for (const file of ['run.sh', 'config.sh', 'bin/Runner.Listener.mjs', 'bin/find-node.sh']) {
        expect(() => readFileSync(join(dir, file))).not.toThrow();
      }
      const version = execFileSync(process.execPath, [join(dir, 'bin/Runner.Listener.mjs'), 'run', '--version'], {
        env: minimalEnv(),
      });
      expect(version.toString().trim()).toBe('2.331.0');
    });

    it('packs each version once and serves the same bytes on every download', async () => {
      const url = sim.runnerReleases().find((r) => r.version === '2.331.0')?.assets[0]?.url ?? '';
      const [a, b] = await Promise.all([download(url), download(url)]);
      expect(sha256(a)).toBe(sha256(b));
      expect(sim.runnerPackage('2.331.0')?.sha256).toBe(sha256(a));
      expect(sim.runnerPackage('2.331.0')?.sha256).not.toBe(sim.runnerPackage(DEFAULT_RUNNER_VERSION)?.sha256);
    });

    it('tamperedTarball: serves a valid tarball whose SHA-256 is not the one in the notes or the asset digest', async () => {
      const { body } = await listed();
      const release = body.find((r) => r.tag_name === 'v2.333.0');
      const asset = release?.assets.find((a) => a.name.includes('linux-x64'));
      const bytes = await download(asset?.browser_download_url ?? '');
      const published = parseReleaseChecksums(release?.body).checksums['linux-x64'];
      expect(published).toBe(sim.runnerPackage('2.333.0')?.sha256);
      expect(asset?.digest).toBe(`sha256:${published}`);
      expect(sha256(bytes)).not.toBe(published);
      expect(() => extract(bytes)).not.toThrow();
      const view = sim.runnerReleases().find((r) => r.version === '2.333.0');
      expect(view?.tamperedTarball).toBe(true);
      expect(view?.assets[0]?.servedSha256).toBe(sha256(bytes));
    });

    it('answers 404 for a version or package that was not published', async () => {
      expect(
        (await fetch(`${sim.url}/actions/runner/releases/download/v9.9.9/actions-runner-linux-x64-9.9.9.tar.gz`))
          .status,
      ).toBe(404);
      expect(
        (await fetch(`${sim.url}/actions/runner/releases/download/v2.331.0/actions-runner-osx-x64-2.331.0.tar.gz`))
          .status,
      ).toBe(404);
    });

    it('records each download in the request log', async () => {
      sim.resetRequests();
      await download(sim.runnerReleases()[0]?.assets[0]?.url ?? '');
      expect(sim.requests.map((r) => [r.endpoint, r.status])).toEqual([
        ['GET /{owner}/{repo}/releases/download/{tag}/{name}', 302],
        ['GET /_release-assets/{version}/{name}', 200],
      ]);
    });
  });

  describe('deprecatedRunners', () => {
    const gh = () => createGitHubClient({ appId: sim.appId, privateKey: sim.privateKey, apiUrl: sim.apiUrl });
    const target = (repo: string) => ({
      installationId: sim.installationId,
      scope: { kind: 'repo' as const, owner: 'octo', repo },
    });

    it('refuses a session for a runner reporting that version, in any scope, with the deprecation line', async () => {
      const jit = await gh().generateJitConfig(target('deprecated-1'), {
        name: 'jr-dep-1',
        labels: ['self-hosted'],
        runnerGroupId: 1,
        workFolder: '_work',
      });
      const refused = await BrokerRunner.fromJitConfig(sim, jit.encodedJitConfig).openSession('2.334.0');
      expect(refused.status).toBe(400);
      const message = (refused.body as { message: string }).message;
      expect(message).toBe('Runner version v2.334.0 is deprecated and cannot receive messages.');
      expect(classifyLogLine(message)?.class).toBe(FailureClass.versionDeprecated);

      const accepted = await BrokerRunner.fromJitConfig(sim, jit.encodedJitConfig).openSession('2.331.0');
      expect(accepted.status).toBe(201);
    });

    it('a runner started from that release package prints the deprecation line and exits 1', async () => {
      const view = sim.runnerReleases().find((r) => r.version === '2.334.0');
      const dir = extract(await download(view?.assets[0]?.url ?? ''));
      const jit = await gh().generateJitConfig(target('deprecated-2'), {
        name: 'jr-dep-2',
        labels: ['self-hosted'],
        runnerGroupId: 1,
        workFolder: '_work',
      });
      // No RUNNER_VERSION: the runner reports the version built into its package.
      const runner = cleanup.track(startScript(dir, 'run.sh', ['--jitconfig', jit.encodedJitConfig], minimalEnv()));
      expect(await runner.exited).toBe(1);
      expect(runner.stdout()).toContain("Current runner version: '2.334.0'");
      expect(runner.stderr()).toContain('Runner version v2.334.0 is deprecated and cannot receive messages.');
    });
  });

  describe('control API', () => {
    it('publishes and lists releases over /_sim/releases', async () => {
      const created = await call(sim, 'POST', '/_sim/releases', {
        body: { version: '2.340.0', publishedAt: Date.now() - 10 * DAY, prerelease: true },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ version: '2.340.0', prerelease: true });
      const again = await call(sim, 'POST', '/_sim/releases', { body: { version: '2.340.0' } });
      expect(again.status).toBe(409);
      const invalid = await call(sim, 'POST', '/_sim/releases', { body: { version: 'latest' } });
      expect(invalid.status).toBe(409);
      const bad = await call(sim, 'POST', '/_sim/releases', { body: { version: 2 } });
      expect(bad.status).toBe(400);
      const list = await call(sim, 'GET', '/_sim/releases');
      expect((list.body as { releases: { version: string }[] }).releases.map((r) => r.version)).toContain('2.340.0');
    });
  });
});
