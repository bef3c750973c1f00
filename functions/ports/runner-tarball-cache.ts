import { JitRunnersError } from '../domain/errors.ts';
import type { RunnerPlatform } from '../domain/release-checksums.ts';

export class RunnerTarballCacheError extends JitRunnersError {
  readonly area = 'runner-cache';
}

/**
 * The downloaded tarball's SHA-256 is not the one the release notes give: the bytes are refused, never
 * cached, and nothing of them is left on disk. Not transient: every download of that release answers the
 * same bytes.
 */
export class TarballChecksumMismatchError extends RunnerTarballCacheError {
  constructor(
    readonly version: string,
    readonly platform: RunnerPlatform,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `checksum mismatch for runner version ${version} (${tarballName(version, platform)}): expected sha256 ${expected}, got ${actual}; not cached`,
    );
  }
}

/** The download failed (network, error status, too large) or the cache could not be written: try again later. */
export class TarballUnavailableError extends RunnerTarballCacheError {}

/** `actions-runner-<platform>-<version>.tar.gz`, the package's name in a release. */
export function tarballName(version: string, platform: RunnerPlatform): string {
  return `actions-runner-${platform}-${version}.tar.gz`;
}

/**
 * Each adopted version's runner tarballs, fetched once and verified (docs/design.md "Runner version
 * lifecycle"): locally under `STATE_DIR/runner-cache`. A tarball is in the cache only once its SHA-256 was
 * checked against the release notes' digest, so whatever `path` names is verified.
 */
export interface RunnerTarballCache {
  /**
   * The tarball, downloaded from `url` unless the cache holds it already, verified against `expectedSha256`
   * and stored; answers its path. Throws {@link TarballChecksumMismatchError} when the bytes do not match
   * (nothing is stored) and {@link TarballUnavailableError} when they could not be fetched or stored.
   */
  ensure(version: string, platform: RunnerPlatform, expectedSha256: string, url: string): Promise<string>;
  /** Whether the cache holds the (verified) tarball. */
  has(version: string, platform: RunnerPlatform): Promise<boolean>;
  /** Where the tarball is, or would be, kept. */
  path(version: string, platform: RunnerPlatform): string;
}
