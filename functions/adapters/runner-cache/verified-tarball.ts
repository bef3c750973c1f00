import { createHash } from 'node:crypto';
import type { RunnerPlatform } from '../../domain/release-checksums.ts';
import type { ReleaseAssetPort } from '../../ports/github.ts';
import {
  type RunnerTarballCache,
  TarballChecksumMismatchError,
  TarballUnavailableError,
  tarballName,
} from '../../ports/runner-tarball-cache.ts';

/**
 * Downloads one runner tarball and checks it against the release notes' SHA-256 before anything is kept:
 * what every {@link RunnerTarballCache} adapter does before it stores. `digest` is the raw SHA-256.
 */
export async function downloadVerified(
  assets: ReleaseAssetPort,
  version: string,
  platform: RunnerPlatform,
  expectedSha256: string,
  url: string,
): Promise<{ bytes: Uint8Array; digest: Buffer }> {
  let bytes: Uint8Array;
  try {
    bytes = await assets.download(url);
  } catch (error) {
    throw new TarballUnavailableError(`cannot download ${tarballName(version, platform)}: ${String(error)}`, {
      cause: error,
    });
  }
  const digest = createHash('sha256').update(bytes).digest();
  const expected = expectedSha256.toLowerCase();
  const actual = digest.toString('hex');
  if (actual !== expected) throw new TarballChecksumMismatchError(version, platform, expected, actual);
  return { bytes, digest };
}

/** `ensure` whose concurrent calls for one tarball in this process share one run of `fetchAndStore`. */
export function sharedEnsure(
  fetchAndStore: (version: string, platform: RunnerPlatform, expectedSha256: string, url: string) => Promise<string>,
): RunnerTarballCache['ensure'] {
  const inFlight = new Map<string, Promise<string>>();
  return (version, platform, expectedSha256, url) => {
    const key = tarballName(version, platform);
    const running = inFlight.get(key);
    if (running) return running;
    const work = fetchAndStore(version, platform, expectedSha256, url).finally(() => inFlight.delete(key));
    inFlight.set(key, work);
    return work;
  };
}
