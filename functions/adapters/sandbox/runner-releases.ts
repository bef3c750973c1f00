import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isExactVersion } from '../../domain/runner-version.ts';
import type { PublishRunnerReleaseRequest, SimRunnerRelease, SimRunnerReleaseView } from './sim-types.ts';
import { gzipTar, type TarEntry } from './tar-writer.ts';

/** The sample runner (`runner/sample`), which every simulated release packs. */
export const SAMPLE_RUNNER_SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../runner/sample');

/** Platforms the simulator publishes packages for: the sample runner is plain Node, so it runs on both. */
export const SIM_RELEASE_PLATFORMS = ['linux-x64', 'linux-arm64'] as const;
export type SimReleasePlatform = (typeof SIM_RELEASE_PLATFORMS)[number];

const LISTENER = 'bin/Runner.Listener.mjs';
const BUILT_IN_VERSION = /const BUILT_IN_VERSION = '[^']*';/;
const DAY_MS = 86_400_000;

export const packageName = (platform: SimReleasePlatform, version: string) =>
  `actions-runner-${platform}-${version}.tar.gz`;

/** `actions-runner-linux-x64-2.330.0.tar.gz` → its platform and version; undefined for any other name. */
export function parsePackageName(name: string): { platform: SimReleasePlatform; version: string } | undefined {
  const m = /^actions-runner-(linux-x64|linux-arm64)-(\d+\.\d+\.\d+)\.tar\.gz$/.exec(name);
  return m?.[1] && m[2] ? { platform: m[1] as SimReleasePlatform, version: m[2] } : undefined;
}

interface Packed {
  bytes: Uint8Array;
  sha256: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The sample runner's files, directories first, in a stable order. */
function sampleFiles(root: string): { path: string; mode: number; data?: Buffer }[] {
  const out: { path: string; mode: number; data?: Buffer }[] = [];
  const walk = (relative: string) => {
    const names = readdirSync(join(root, relative)).sort();
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const stat = statSync(join(root, path));
      if (stat.isDirectory()) {
        out.push({ path: `${path}/`, mode: 0o755 });
        walk(path);
      } else if (stat.isFile()) {
        out.push({ path, mode: stat.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(join(root, path)) });
      }
    }
  };
  walk('');
  return out;
}

/**
 * The simulated actions/runner releases: what `GET /repos/actions/runner/releases` lists and the
 * packages `…/releases/download/v{version}/{name}` serves. Each package is the sample runner packed as a
 * real `.tar.gz` whose listener reports the release's version; it is packed once per version and
 * platform, on first use, and kept in memory, so the digest in the notes is the digest of the bytes served.
 */
export class SimReleases {
  private readonly releases: SimRunnerRelease[] = [];
  private readonly packed = new Map<string, Packed>();
  private nextId = 180_000_000;
  private nextAssetId = 210_000_000;

  constructor(
    private readonly options: {
      now: () => number;
      /** Told each version whose runners GitHub refuses (`deprecatedRunners`). */
      onDeprecated: (version: string) => void;
      source?: string;
    },
  ) {}

  publish(request: PublishRunnerReleaseRequest): SimRunnerRelease {
    if (!isExactVersion(request.version)) {
      throw new RangeError(`release version must be exact semver such as 2.331.0, got "${request.version}"`);
    }
    if (this.releases.some((r) => r.version === request.version)) {
      throw new RangeError(`release v${request.version} is already published`);
    }
    const publishedAt = request.publishedAt ?? this.options.now();
    const release: SimRunnerRelease = {
      id: this.nextId++,
      version: request.version,
      publishedAt,
      createdAt: publishedAt - 3_600_000,
      prerelease: request.prerelease ?? false,
      tamperedTarball: request.tamperedTarball ?? false,
      deprecatedRunners: request.deprecatedRunners ?? false,
      assetIds: Object.fromEntries(SIM_RELEASE_PLATFORMS.map((p) => [p, this.nextAssetId++])) as Record<
        SimReleasePlatform,
        number
      >,
    };
    this.releases.push(release);
    if (release.deprecatedRunners) this.options.onDeprecated(release.version);
    return release;
  }

  /** Newest first (by publish time), as GitHub lists them. */
  list(): SimRunnerRelease[] {
    return [...this.releases].sort((a, b) => b.publishedAt - a.publishedAt || b.id - a.id);
  }

  find(version: string): SimRunnerRelease | undefined {
    return this.releases.find((r) => r.version === version);
  }

  /** The genuine package of `version` (its digest is the one the notes carry). */
  genuine(version: string, platform: SimReleasePlatform): Packed {
    return this.pack(version, platform, false);
  }

  /** What a download of the package answers: the genuine bytes, or altered ones for `tamperedTarball`. */
  served(release: SimRunnerRelease, platform: SimReleasePlatform): Packed {
    return this.pack(release.version, platform, release.tamperedTarball);
  }

  view(release: SimRunnerRelease, serverUrl: string): SimRunnerReleaseView {
    return {
      version: release.version,
      publishedAt: release.publishedAt,
      prerelease: release.prerelease,
      tamperedTarball: release.tamperedTarball,
      deprecatedRunners: release.deprecatedRunners,
      assets: SIM_RELEASE_PLATFORMS.map((platform) => ({
        platform,
        name: packageName(platform, release.version),
        url: downloadUrl(serverUrl, release.version, platform),
        sha256: this.genuine(release.version, platform).sha256,
        servedSha256: this.served(release, platform).sha256,
      })),
    };
  }

  private pack(version: string, platform: SimReleasePlatform, tampered: boolean): Packed {
    const key = `${version}/${platform}/${tampered ? 'tampered' : 'genuine'}`;
    let packed = this.packed.get(key);
    if (!packed) {
      const entries: TarEntry[] = sampleFiles(this.options.source ?? SAMPLE_RUNNER_SOURCE).map((file) => {
        if (file.data === undefined) return { name: file.path, mode: file.mode };
        let data: Uint8Array = file.data;
        if (file.path === LISTENER) data = Buffer.from(listenerFor(file.data.toString('utf8'), version, tampered));
        return { name: file.path, mode: file.mode, data };
      });
      // The platform changes nothing the sample runner reads, but each package is its own file.
      entries.push({ name: '.platform', mode: 0o644, data: Buffer.from(`${platform}\n`) });
      const bytes = gzipTar(entries, 1_700_000_000);
      packed = { bytes, sha256: sha256(bytes) };
      this.packed.set(key, packed);
    }
    return packed;
  }
}

/** The listener with the release's version built in; a tampered copy also carries an extra line. */
function listenerFor(source: string, version: string, tampered: boolean): string {
  if (!BUILT_IN_VERSION.test(source)) throw new Error(`${LISTENER} no longer declares BUILT_IN_VERSION`);
  const versioned = source.replace(BUILT_IN_VERSION, `const BUILT_IN_VERSION = '${version}';`);
  return tampered ? `${versioned}\n// altered after the release was published (simulator fault)\n` : versioned;
}

/** GitHub's public download address of a package (`browser_download_url`). */
export function downloadUrl(serverUrl: string, version: string, platform: SimReleasePlatform): string {
  return `${serverUrl}/actions/runner/releases/download/v${version}/${packageName(platform, version)}`;
}

/**
 * The release notes in actions/runner's own layout (its `releaseNote.md`): a change list, the download
 * instructions per platform, and the `SHA-256 Checksums` section whose `<!-- BEGIN SHA … -->` markers
 * tools read.
 */
export function releaseNotes(
  version: string,
  previous: string | undefined,
  digests: Record<SimReleasePlatform, string>,
) {
  const install = (platform: SimReleasePlatform, title: string) => `## ${title}

\`\`\`bash
# Create a folder
mkdir actions-runner && cd actions-runner
# Download the latest runner package
curl -O -L https://github.com/actions/runner/releases/download/v${version}/${packageName(platform, version)}
# Extract the installer
tar xzf ./${packageName(platform, version)}
\`\`\`
`;
  const changelog = previous
    ? `**Full Changelog**: https://github.com/actions/runner/compare/v${previous}...v${version}`
    : `**Full Changelog**: https://github.com/actions/runner/commits/v${version}`;
  return `## What's Changed
* Simulated runner release ${version} (jit-runners sandbox)

${changelog}

_Note: Actions Runner follows a progressive release policy, so the latest release might not be available to your enterprise, organization, or repository yet.
To confirm which version of the Actions Runner you should expect, please view the download instructions for your enterprise, organization, or repository.
See https://docs.github.com/en/enterprise-cloud@latest/actions/hosting-your-own-runners/adding-self-hosted-runners_

${install('linux-x64', 'Linux x64')}
${install('linux-arm64', 'Linux arm64')}
## Using your self hosted runner

For additional details about configuring, running, or shutting down the runner please check out our [product docs.](https://help.github.com/en/actions/automating-your-workflow-with-github-actions/adding-self-hosted-runners)

## SHA-256 Checksums

The SHA-256 checksums for the packages included in this build are shown below:

${SIM_RELEASE_PLATFORMS.map(
  (p) => `- ${packageName(p, version)} <!-- BEGIN SHA ${p} -->${digests[p]}<!-- END SHA ${p} -->`,
).join('\n')}
`;
}

/** Days before now at which the default release (the configured pin) was published: past any soak. */
export const DEFAULT_RELEASE_AGE_MS = 10 * DAY_MS;
