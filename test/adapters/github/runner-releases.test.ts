import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClientOptions } from '../../../functions/adapters/github/github-client.ts';
import { rateLimitedGitHub } from '../../../functions/adapters/github/rate-limited-github.ts';
import { createReleaseAssetDownloader } from '../../../functions/adapters/github/release-assets.ts';
import { rotatingKeyGitHub } from '../../../functions/adapters/github/rotating-key-github.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { parseReleaseChecksums } from '../../../functions/domain/release-checksums.ts';
import { DEFAULT_RUNNER_VERSION } from '../../../functions/domain/runner-version.ts';
import {
  DEFAULT_RUNNER_RELEASES_URL,
  GitHubRequestError,
  GitHubResponseError,
} from '../../../functions/ports/github.ts';
import { validateQuery } from '../../sandbox/helpers/openapi.ts';

const DAY = 86_400_000;
let sim: GitHubSimulator;
/** Whole seconds (GitHub's times carry no milliseconds), after the default release of ten days ago. */
const publishedAt = Math.floor(Date.now() / 1000) * 1000 - 5 * DAY;

beforeAll(async () => {
  sim = await startGitHubSimulator();
  sim.publishRunnerRelease({ version: '2.331.0', publishedAt });
  sim.publishRunnerRelease({ version: '2.332.0', publishedAt: publishedAt + DAY, prerelease: true });
  sim.publishRunnerRelease({ version: '2.333.0', publishedAt: publishedAt + 2 * DAY, tamperedTarball: true });
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
const releasesUrl = () => `${sim.apiUrl}/repos/actions/runner/releases`;
const calls = (endpoint: string) => sim.requests.filter((r) => r.endpoint === endpoint);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A stand-in for a mirror or proxy: answers every request with `reply`, records what it was sent. */
interface Mirror {
  url: string;
  seen: { url: string; headers: IncomingHttpHeaders }[];
  reply: { status: number; body: string; type?: string } | 'hang';
  close(): Promise<void>;
}
async function startMirror(): Promise<Mirror> {
  const state: Pick<Mirror, 'seen' | 'reply'> = { seen: [], reply: { status: 200, body: '[]' } };
  const server: Server = createServer((req, res) => {
    state.seen.push({ url: req.url ?? '', headers: req.headers });
    const reply = state.reply;
    if (reply === 'hang') return;
    res.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get seen() {
      return state.seen;
    },
    get reply() {
      return state.reply;
    },
    set reply(r) {
      state.reply = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('GitHubPort.listRunnerReleases (GitHub client)', () => {
  it('defaults to the actions/runner list on api.github.com', () => {
    expect(DEFAULT_RUNNER_RELEASES_URL).toBe('https://api.github.com/repos/actions/runner/releases');
  });

  it('lists releases newest first with version, publish time, flags, notes and assets', async () => {
    const releases = await client().listRunnerReleases({ url: releasesUrl() });
    expect(releases.map((r) => [r.tagName, r.version, r.prerelease, r.draft])).toEqual([
      ['v2.333.0', '2.333.0', false, false],
      ['v2.332.0', '2.332.0', true, false],
      ['v2.331.0', '2.331.0', false, false],
      [`v${DEFAULT_RUNNER_VERSION}`, DEFAULT_RUNNER_VERSION, false, false],
    ]);
    const r331 = releases.find((r) => r.version === '2.331.0');
    expect(r331?.publishedAt).toBe(publishedAt);
    expect(r331?.assets.map((a) => a.name)).toEqual([
      'actions-runner-linux-x64-2.331.0.tar.gz',
      'actions-runner-linux-arm64-2.331.0.tar.gz',
    ]);
    const x64 = r331?.assets[0];
    expect(x64?.url).toBe(
      `${sim.serverUrl}/actions/runner/releases/download/v2.331.0/actions-runner-linux-x64-2.331.0.tar.gz`,
    );
    expect(x64?.size).toBeGreaterThan(0);
    const { checksums } = parseReleaseChecksums(r331?.body);
    expect(checksums['linux-x64']).toBe(sim.runnerPackage('2.331.0')?.sha256);
    expect(x64?.sha256).toBe(checksums['linux-x64']);
  });

  it('reads with an installation token of the first installation, looked up once per client', async () => {
    const gh = client();
    await gh.listRunnerReleases({ url: releasesUrl() });
    await gh.listRunnerReleases({ url: releasesUrl() });
    expect(calls('GET /app/installations')).toHaveLength(1);
    expect(calls('POST /app/installations/{installation_id}/access_tokens')).toHaveLength(1);
    expect(calls('GET /repos/{owner}/{repo}/releases')).toHaveLength(2);
  });

  it('uses the installation it is given without looking one up', async () => {
    await client().listRunnerReleases({ url: releasesUrl(), installationId: sim.installationId });
    expect(calls('GET /app/installations')).toHaveLength(0);
    expect(calls('GET /repos/{owner}/{repo}/releases')).toHaveLength(1);
  });

  it('asks for perPage releases (1-100) with documented query parameters', async () => {
    const gh = client();
    expect(await gh.listRunnerReleases({ url: releasesUrl(), perPage: 2 })).toHaveLength(2);
    await gh.listRunnerReleases({ url: releasesUrl(), perPage: 1_000 });
    const [first, second] = calls('GET /repos/{owner}/{repo}/releases').map(
      (r) => new URLSearchParams(r.path.split('?')[1]),
    );
    expect(first?.get('per_page')).toBe('2');
    expect(second?.get('per_page')).toBe('100');
    const result = validateQuery('GET', '/repos/{owner}/{repo}/releases', first ?? new URLSearchParams());
    expect(result.errors).toBe('');
  });

  it('works against a GHES-style API base (https://HOST/api/v3)', async () => {
    const gh = client({ apiUrl: `${sim.url}/api/v3` });
    const releases = await gh.listRunnerReleases({ url: `${sim.url}/api/v3/repos/actions/runner/releases` });
    expect(releases.map((r) => r.version)).toContain('2.331.0');
    expect(calls('GET /repos/{owner}/{repo}/releases')[0]?.path).toMatch(/^\/repos\/actions\/runner\/releases\?/);
  });

  it('reports an error status of GitHub as a GitHubRequestError after the bounded retries', async () => {
    sim.setFault('actions/runner', { failRate: 1 });
    const error = await client({ retries: 1 })
      .listRunnerReleases({ url: releasesUrl() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubRequestError);
    expect(error).toMatchObject({ status: 500, endpoint: 'GET /repos/actions/runner/releases' });
    expect(calls('GET /repos/{owner}/{repo}/releases')).toHaveLength(2);
  });

  describe('an address off the API base (a mirror)', () => {
    let mirror: Mirror;
    beforeAll(async () => {
      mirror = await startMirror();
    });
    afterAll(async () => {
      await mirror.close();
    });

    it('is read with one plain GET that carries no credentials', async () => {
      const body = await (await fetch(`${sim.url}/repos/actions/runner/releases`)).text();
      mirror.reply = { status: 200, body };
      sim.resetRequests();
      const releases = await client().listRunnerReleases({ url: `${mirror.url}/runner/releases.json`, perPage: 5 });
      expect(releases.map((r) => r.version)).toEqual(['2.333.0', '2.332.0', '2.331.0', DEFAULT_RUNNER_VERSION]);
      expect(mirror.seen.at(-1)?.url).toBe('/runner/releases.json?per_page=5');
      expect(mirror.seen.at(-1)?.headers.authorization).toBeUndefined();
      // Nothing was asked of GitHub: no installation look-up, no token.
      expect(sim.requests).toHaveLength(0);
    });

    it.each([
      ['an object instead of a list', JSON.stringify({ message: 'moved' }), '(root)'],
      [
        'a release without tag_name',
        JSON.stringify([{ published_at: null, prerelease: false, draft: false, assets: [] }]),
        '[0].tag_name',
      ],
      [
        'an asset size of the wrong type',
        JSON.stringify([
          {
            tag_name: 'v2.331.0',
            published_at: '2026-11-20T10:00:00Z',
            prerelease: false,
            draft: false,
            body: '',
            assets: [{ name: 'a.tar.gz', browser_download_url: 'https://example.com/a', size: 'big' }],
          },
        ]),
        '[0].assets[0].size',
      ],
      [
        'a publish time that is not a date',
        JSON.stringify([
          { tag_name: 'v1.0.0', published_at: 'yesterday', prerelease: false, draft: false, assets: [] },
        ]),
        '[0].published_at',
      ],
    ])('refuses %s with a GitHubResponseError naming the field', async (_case, body, field) => {
      mirror.reply = { status: 200, body };
      const error = await client()
        .listRunnerReleases({ url: `${mirror.url}/releases` })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubResponseError);
      expect(error).toBeInstanceOf(GitHubRequestError);
      expect((error as GitHubResponseError).reason.startsWith(`${field}:`)).toBe(true);
      expect((error as GitHubResponseError).status).toBe(200);
      expect((error as GitHubResponseError).message).toContain(`GET ${mirror.url}/releases answered 200`);
    });

    it('refuses an HTML page (a proxy login page) as an unexpected body', async () => {
      mirror.reply = { status: 200, body: '<html><body>Sign in</body></html>', type: 'text/html' };
      const error = await client()
        .listRunnerReleases({ url: `${mirror.url}/releases` })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubResponseError);
      expect((error as GitHubResponseError).body).toContain('Sign in');
    });

    it('reports an error status with the mirror message, and no query in the endpoint', async () => {
      mirror.reply = { status: 503, body: JSON.stringify({ message: 'mirror down' }) };
      const error = await client()
        .listRunnerReleases({ url: `${mirror.url}/releases?key=secret-value` })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubRequestError);
      expect(error).not.toBeInstanceOf(GitHubResponseError);
      expect(error).toMatchObject({ status: 503, endpoint: `GET ${mirror.url}/releases` });
      expect((error as Error).message).toContain('mirror down');
      expect((error as Error).message).not.toContain('secret-value');
    });

    it('gives up after the client deadline with status 0', async () => {
      mirror.reply = 'hang';
      const error = await client({ timeoutMs: 200 })
        .listRunnerReleases({ url: `${mirror.url}/releases` })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubRequestError);
      expect((error as GitHubRequestError).status).toBe(0);
    });
  });

  it('refuses an unexpected shape on the API base too (an address that is not a release list)', async () => {
    const error = await client()
      .listRunnerReleases({ url: `${sim.apiUrl}/repos/octo/app/actions/runs` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubResponseError);
    expect(error).toMatchObject({ status: 200, endpoint: 'GET /repos/octo/app/actions/runs' });
    expect((error as GitHubResponseError).reason).toMatch(/^\(root\): expected array/);
  });

  it('passes through the rate-limited and rotating-key wrappers', async () => {
    const wrapped = rotatingKeyGitHub(
      async () => sim.privateKey,
      (privateKey) => rateLimitedGitHub(client({ privateKey })),
    );
    const releases = await wrapped.listRunnerReleases({ url: releasesUrl(), perPage: 1 });
    expect(releases.map((r) => r.version)).toEqual(['2.333.0']);
  });
});

describe('ReleaseAssetPort (release asset downloader)', () => {
  const downloader = createReleaseAssetDownloader();

  it('downloads a package through GitHub redirect; its SHA-256 is the one in the release notes', async () => {
    const [release] = (await client().listRunnerReleases({ url: releasesUrl() })).filter(
      (r) => r.version === '2.331.0',
    );
    const asset = release?.assets.find((a) => a.name === 'actions-runner-linux-x64-2.331.0.tar.gz');
    const bytes = await downloader.download(asset?.url ?? '');
    expect(bytes.byteLength).toBe(asset?.size);
    expect(sha256(bytes)).toBe(parseReleaseChecksums(release?.body).checksums['linux-x64']);
  });

  it('downloads the bytes of a tampered package, whose SHA-256 then differs from the notes', async () => {
    const [release] = (await client().listRunnerReleases({ url: releasesUrl() })).filter(
      (r) => r.version === '2.333.0',
    );
    const bytes = await downloader.download(release?.assets[0]?.url ?? '');
    expect(sha256(bytes)).not.toBe(parseReleaseChecksums(release?.body).checksums['linux-x64']);
  });

  it('reports a missing package as a 404 GitHubRequestError', async () => {
    const url = `${sim.url}/actions/runner/releases/download/v9.9.9/actions-runner-linux-x64-9.9.9.tar.gz`;
    const error = await downloader.download(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubRequestError);
    expect(error).toMatchObject({ status: 404, endpoint: `GET ${url}` });
  });

  it('refuses a body larger than maxBytes', async () => {
    const url = sim.runnerReleases()[0]?.assets[0]?.url ?? '';
    const error = await downloader.download(url, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubRequestError);
    expect((error as Error).message).toContain('more than the 100');
  });

  describe('against a plain server', () => {
    let mirror: Mirror;
    beforeAll(async () => {
      mirror = await startMirror();
    });
    afterAll(async () => {
      await mirror.close();
    });

    it('sends no credentials', async () => {
      mirror.reply = { status: 200, body: 'tarball', type: 'application/octet-stream' };
      const bytes = await downloader.download(`${mirror.url}/a.tar.gz`);
      expect(Buffer.from(bytes).toString()).toBe('tarball');
      expect(mirror.seen.at(-1)?.headers.authorization).toBeUndefined();
    });

    it('gives up after its deadline with status 0', async () => {
      mirror.reply = 'hang';
      const error = await createReleaseAssetDownloader({ timeoutMs: 200 })
        .download(`${mirror.url}/a.tar.gz`)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubRequestError);
      expect((error as GitHubRequestError).status).toBe(0);
    });
  });
});
