import type { RunnerPlatform } from '../../domain/release-checksums.ts';
import type { ReleaseAssetPort } from '../../ports/github.ts';
import { type RunnerTarballCache, TarballUnavailableError, tarballName } from '../../ports/runner-tarball-cache.ts';
import { downloadVerified, sharedEnsure } from '../runner-cache/verified-tarball.ts';

/** Where the tarballs live in the fleet's bucket; the runner roles may read only under it. */
export const RUNNER_TARBALL_PREFIX = 'runner-tarballs/';
/** Object metadata key (`x-amz-meta-sha256`) holding the verified tarball's SHA-256, hex. */
export const SHA256_METADATA_KEY = 'sha256';

/**
 * The two S3 calls the cache makes, with the inputs of `HeadObjectCommand` and `PutObjectCommand` of
 * `@aws-sdk/client-s3` (bound in s3-object-calls.ts: `client.send(new HeadObjectCommand(input))`). Errors are the
 * SDK's: a missing object answers `name` `NotFound` (or `NoSuchKey`) or HTTP status 404, or 403 to a
 * caller without `s3:ListBucket`.
 */
export interface S3ObjectCalls {
  headObject(input: { Bucket: string; Key: string }): Promise<{ Metadata?: Record<string, string> | undefined }>;
  putObject(input: {
    Bucket: string;
    Key: string;
    Body: Uint8Array;
    ContentType: string;
    /** Base64 of the SHA-256: S3 recomputes it and refuses the upload on a mismatch. */
    ChecksumSHA256: string;
    Metadata: Record<string, string>;
  }): Promise<unknown>;
}

export interface S3RunnerTarballCacheOptions {
  bucket: string;
  s3: S3ObjectCalls;
  assets: ReleaseAssetPort;
}

/** `runner-tarballs/actions-runner-<platform>-<version>.tar.gz`. */
export function runnerTarballKey(version: string, platform: RunnerPlatform): string {
  return `${RUNNER_TARBALL_PREFIX}${tarballName(version, platform)}`;
}

/**
 * Whether a HeadObject error means "no such object". Without `s3:ListBucket` (the reconciler has none: it
 * may only read and write objects under `runner-tarballs/`) S3 answers 403 instead of 404 for a key that
 * does not exist, so 403 counts as absent too; a real denial then fails the PutObject that follows.
 */
function isAbsent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = $metadata?.httpStatusCode;
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'Forbidden' || status === 404 || status === 403;
}

/**
 * {@link RunnerTarballCache} in the fleet's S3 bucket (docs/design.md "What runs where"): one object per
 * tarball under `runner-tarballs/`, written by the reconciler on adopt, read by the runners' bootstrap
 * (`aws s3 cp`). The bytes are hashed (node:crypto) before any upload, so an object under the real key is
 * always verified; the upload carries the digest as `ChecksumSHA256` (S3 refuses bytes that do not match
 * it) and as `sha256` metadata. A single PutObject (an actions-runner tarball is about 200 MB, under
 * PutObject's 5 GB limit). Concurrent `ensure` calls for one tarball in this process share one download.
 */
export function createS3RunnerTarballCache(options: S3RunnerTarballCacheOptions): RunnerTarballCache {
  const { bucket, s3, assets } = options;
  const path = (version: string, platform: RunnerPlatform) => `s3://${bucket}/${runnerTarballKey(version, platform)}`;

  /** The stored object's `sha256` metadata ('' when it has none), or undefined when there is no object. */
  async function stored(version: string, platform: RunnerPlatform): Promise<string | undefined> {
    try {
      const head = await s3.headObject({ Bucket: bucket, Key: runnerTarballKey(version, platform) });
      return head.Metadata?.[SHA256_METADATA_KEY] ?? '';
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw new TarballUnavailableError(
        `cannot read s3://${bucket}/${runnerTarballKey(version, platform)}: ${String(error)}`,
        { cause: error },
      );
    }
  }

  async function fetchAndStore(
    version: string,
    platform: RunnerPlatform,
    expectedSha256: string,
    url: string,
  ): Promise<string> {
    const expected = expectedSha256.toLowerCase();
    if ((await stored(version, platform)) === expected) return path(version, platform);
    const { bytes, digest } = await downloadVerified(assets, version, platform, expected, url);
    const actual = digest.toString('hex');
    try {
      await s3.putObject({
        Bucket: bucket,
        Key: runnerTarballKey(version, platform),
        Body: bytes,
        ContentType: 'application/gzip',
        ChecksumSHA256: digest.toString('base64'),
        Metadata: { [SHA256_METADATA_KEY]: actual },
      });
    } catch (error) {
      throw new TarballUnavailableError(
        `cannot store ${tarballName(version, platform)} in s3://${bucket}/${RUNNER_TARBALL_PREFIX}: ${String(error)}`,
        { cause: error },
      );
    }
    return path(version, platform);
  }

  return {
    path,
    async has(version, platform) {
      return (await stored(version, platform)) !== undefined;
    },
    ensure: sharedEnsure(fetchAndStore),
  };
}
