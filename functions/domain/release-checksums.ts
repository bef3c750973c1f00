import { isExactVersion } from './runner-version.ts';

/**
 * The SHA-256 of each runner package, read from an actions/runner release's notes (the release `body`).
 *
 * actions/runner's release workflow computes `sha256sum` of every package it builds and writes it into the
 * notes between two HTML comments that name the platform, one package per line:
 *
 * ```
 * - actions-runner-linux-x64-2.336.0.tar.gz <!-- BEGIN SHA linux-x64 -->4f1c…e9<!-- END SHA linux-x64 -->
 * ```
 *
 * The markers are the machine-readable part (the rest of the line is for people), so only they are read.
 * A platform whose markers are missing is simply absent; a digest that is not 64 hex digits, a BEGIN with no
 * END, or one platform given two different digests is reported as a problem and the platform left out:
 * a wrong digest must never reach a runner, which would refuse the tarball (or, worse, accept a tampered one).
 */

/** The packages actions/runner publishes, as its release notes name them. */
export const RunnerPlatform = {
  linuxX64: 'linux-x64',
  linuxArm64: 'linux-arm64',
  linuxArm: 'linux-arm',
  osxX64: 'osx-x64',
  osxArm64: 'osx-arm64',
  winX64: 'win-x64',
  winArm64: 'win-arm64',
} as const;
export type RunnerPlatform = (typeof RunnerPlatform)[keyof typeof RunnerPlatform];

const PLATFORMS: readonly string[] = Object.values(RunnerPlatform);

export function isRunnerPlatform(value: string): value is RunnerPlatform {
  return PLATFORMS.includes(value);
}

/** Lower-case hex SHA-256 per platform; a platform is present only with a well-formed digest. */
export type PlatformChecksums = Partial<Record<RunnerPlatform, string>>;

export const ChecksumProblemKind = {
  /** The text between the markers is not 64 hex digits. */
  malformed: 'malformed',
  /** A BEGIN marker with no matching END marker after it. */
  unterminated: 'unterminated',
  /** The same platform appears twice with different digests. */
  conflicting: 'conflicting',
} as const;
export type ChecksumProblemKind = (typeof ChecksumProblemKind)[keyof typeof ChecksumProblemKind];

export interface ChecksumProblem {
  readonly platform: RunnerPlatform;
  readonly kind: ChecksumProblemKind;
}

export interface ReleaseChecksums {
  readonly checksums: PlatformChecksums;
  /** Platforms left out because their entry was unusable (never the digest text itself). */
  readonly problems: readonly ChecksumProblem[];
}

const SHA256 = /^[0-9a-f]{64}$/;
/** `<!-- BEGIN SHA linux-x64 -->`, tolerating extra spaces inside the comment. */
const BEGIN = /<!--\s*BEGIN SHA\s+([a-z0-9-]+)\s*-->/g;

/** Whether `digest` is a SHA-256 as this project stores it: 64 lower-case hex digits. */
export function isSha256(digest: string): boolean {
  return SHA256.test(digest);
}

/**
 * Reads every platform's SHA-256 from a release body. Unknown platform names (a package added later) are
 * ignored; upper-case hex is accepted and stored lower-case, as `sha256sum` prints it. Never throws: a
 * `null`/empty body (a release made by hand) gives no checksums and no problems.
 */
export function parseReleaseChecksums(body: string | null | undefined): ReleaseChecksums {
  const checksums: PlatformChecksums = {};
  const problems: ChecksumProblem[] = [];
  const bad = new Set<RunnerPlatform>();
  const text = body ?? '';
  const report = (platform: RunnerPlatform, kind: ChecksumProblemKind) => {
    bad.add(platform);
    if (!problems.some((p) => p.platform === platform && p.kind === kind)) problems.push({ platform, kind });
  };

  for (const match of text.matchAll(BEGIN)) {
    const name = match[1] ?? '';
    if (!isRunnerPlatform(name)) continue;
    const start = (match.index ?? 0) + match[0].length;
    const end = new RegExp(`<!--\\s*END SHA\\s+${name}\\s*-->`).exec(text.slice(start));
    if (!end) {
      report(name, ChecksumProblemKind.unterminated);
      continue;
    }
    const digest = text
      .slice(start, start + end.index)
      .trim()
      .toLowerCase();
    if (!isSha256(digest)) {
      report(name, ChecksumProblemKind.malformed);
      continue;
    }
    const earlier = checksums[name];
    if (earlier !== undefined && earlier !== digest) report(name, ChecksumProblemKind.conflicting);
    checksums[name] = digest;
  }
  // A platform with any problem is left out entirely, even if another of its entries looked fine.
  for (const platform of bad) delete checksums[platform];
  return { checksums, problems };
}

/** The fields of a GitHub release (`GET /repos/actions/runner/releases`) this project reads. */
export interface GitHubReleaseFields {
  readonly tag_name: string;
  /** Null for a draft. */
  readonly published_at: string | null;
  readonly prerelease: boolean;
  readonly draft: boolean;
  readonly body?: string | null;
}

/** One actions/runner release, as the version policy sees it. Times are epoch milliseconds. */
export interface RunnerRelease {
  /** Exact semver, without the tag's `v`. */
  readonly version: string;
  /** Undefined for a draft, which has no publish date. */
  readonly publishedAt: number | undefined;
  readonly prerelease: boolean;
  readonly draft: boolean;
  readonly checksums: PlatformChecksums;
  /** Why a platform is missing from `checksums`, when its entry was there but unusable. */
  readonly checksumProblems?: readonly ChecksumProblem[];
}

/**
 * A GitHub release as a {@link RunnerRelease}; undefined when its tag is not `v<exact semver>` (or the bare
 * version) or its publish date cannot be read: such a release is not one the policy can reason about.
 */
export function toRunnerRelease(release: GitHubReleaseFields): RunnerRelease | undefined {
  const version = release.tag_name.replace(/^v/, '');
  if (!isExactVersion(version)) return undefined;
  let publishedAt: number | undefined;
  if (release.published_at !== null) {
    publishedAt = Date.parse(release.published_at);
    if (Number.isNaN(publishedAt)) return undefined;
  }
  const { checksums, problems } = parseReleaseChecksums(release.body);
  return {
    version,
    publishedAt,
    prerelease: release.prerelease,
    draft: release.draft,
    checksums,
    ...(problems.length > 0 && { checksumProblems: problems }),
  };
}

/** The package file name of `platform` at `version` (`.zip` on Windows, `.tar.gz` elsewhere). */
export function runnerPackageName(platform: RunnerPlatform, version: string): string {
  const extension = platform.startsWith('win-') ? 'zip' : 'tar.gz';
  return `actions-runner-${platform}-${version}.${extension}`;
}
