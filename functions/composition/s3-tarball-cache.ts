import { S3Client } from '@aws-sdk/client-s3';
import { createReleaseAssetDownloader } from '../adapters/github/release-assets.ts';
import { s3ObjectCalls } from '../adapters/s3/s3-object-calls.ts';
import { createS3RunnerTarballCache } from '../adapters/s3/s3-runner-tarball-cache.ts';
import { RunnerPlatform } from '../domain/release-checksums.ts';
import type { RunnerTarballs } from './build-core.ts';

/** The reconciler's tarball cache in the stack's bucket, for both machine types a pool may have. */
export function s3TarballCache(bucket: string): RunnerTarballs {
  return {
    cache: createS3RunnerTarballCache({
      bucket,
      s3: s3ObjectCalls(new S3Client({})),
      assets: createReleaseAssetDownloader(),
    }),
    platforms: [RunnerPlatform.linuxX64, RunnerPlatform.linuxArm64],
  };
}
