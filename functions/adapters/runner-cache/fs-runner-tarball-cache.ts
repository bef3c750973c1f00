import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerPlatform } from '../../domain/release-checksums.ts';
import type { ReleaseAssetPort } from '../../ports/github.ts';
import { type RunnerTarballCache, TarballUnavailableError, tarballName } from '../../ports/runner-tarball-cache.ts';
import { downloadVerified, sharedEnsure } from './verified-tarball.ts';

export interface FsRunnerTarballCacheOptions {
  /** `STATE_DIR/runner-cache`; created on the first write. */
  dir: string;
  assets: ReleaseAssetPort;
}

/**
 * {@link RunnerTarballCache} on the local filesystem: `<dir>/actions-runner-<platform>-<version>.tar.gz`.
 * The bytes are hashed in memory (node:crypto) before anything is written; a verified tarball is written to
 * a temporary name in the same directory and renamed into place, so a crash or a second process never
 * leaves a half-written file under the real name, and a file under the real name is always verified.
 * Concurrent `ensure` calls for one tarball in this process share one download.
 */
export function createFsRunnerTarballCache(options: FsRunnerTarballCacheOptions): RunnerTarballCache {
  const { dir, assets } = options;
  const path = (version: string, platform: RunnerPlatform) => join(dir, tarballName(version, platform));
  const has = async (version: string, platform: RunnerPlatform) => {
    try {
      return (await stat(path(version, platform))).isFile();
    } catch {
      return false;
    }
  };

  async function fetchAndStore(
    version: string,
    platform: RunnerPlatform,
    expected: string,
    url: string,
  ): Promise<string> {
    const target = path(version, platform);
    if (await has(version, platform)) return target;
    const { bytes } = await downloadVerified(assets, version, platform, expected, url);
    const temporary = join(dir, `.${tarballName(version, platform)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temporary, bytes, { mode: 0o644 });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new TarballUnavailableError(`cannot store ${tarballName(version, platform)} in ${dir}: ${String(error)}`, {
        cause: error,
      });
    }
    return target;
  }

  return {
    path,
    has,
    ensure: sharedEnsure(fetchAndStore),
  };
}
