import { createHash } from 'node:crypto';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { s3ObjectCalls } from '../../../functions/adapters/s3/s3-object-calls.ts';
import { createS3RunnerTarballCache } from '../../../functions/adapters/s3/s3-runner-tarball-cache.ts';
import { RunnerPlatform } from '../../../functions/domain/release-checksums.ts';

const TARBALL = new TextEncoder().encode('a runner tarball');
const SHA = createHash('sha256').update(TARBALL).digest('hex');
const URL_ = 'https://github.com/actions/runner/releases/download/v2.331.0/actions-runner-linux-x64-2.331.0.tar.gz';

describe('s3ObjectCalls (the tarball cache on the AWS SDK)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());

  it('checks the object with HeadObject and uploads a missing one with exactly one PutObject', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    s3.on(PutObjectCommand).resolves({});
    const downloads: string[] = [];
    const cache = createS3RunnerTarballCache({
      bucket: 'fleet-tarballs',
      s3: s3ObjectCalls(new S3Client({ region: 'eu-west-1' })),
      assets: {
        download: async (url) => {
          downloads.push(url);
          return TARBALL;
        },
      },
    });

    await cache.ensure('2.331.0', RunnerPlatform.linuxX64, SHA, URL_);

    expect(downloads).toEqual([URL_]);
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'fleet-tarballs', Key: 'runner-tarballs/actions-runner-linux-x64-2.331.0.tar.gz' },
    ]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      Bucket: 'fleet-tarballs',
      Key: 'runner-tarballs/actions-runner-linux-x64-2.331.0.tar.gz',
      ChecksumSHA256: Buffer.from(SHA, 'hex').toString('base64'),
      Metadata: { sha256: SHA },
    });
  });

  it("uploads nothing for a tarball whose digest is not the release notes' one", async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    const cache = createS3RunnerTarballCache({
      bucket: 'fleet-tarballs',
      s3: s3ObjectCalls(new S3Client({ region: 'eu-west-1' })),
      assets: { download: async () => TARBALL },
    });

    await expect(cache.ensure('2.331.0', RunnerPlatform.linuxX64, 'f'.repeat(64), URL_)).rejects.toThrow(
      /SHA-256|digest|checksum/i,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
