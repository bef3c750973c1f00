import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createS3RunnerTarballCache,
  type S3ObjectCalls,
} from '../../../functions/adapters/s3/s3-runner-tarball-cache.ts';
import { GitHubRequestError, type ReleaseAssetPort } from '../../../functions/ports/github.ts';
import {
  TarballChecksumMismatchError,
  TarballUnavailableError,
} from '../../../functions/ports/runner-tarball-cache.ts';

const URL = 'https://github.example/actions/runner/releases/download/v2.331.0/actions-runner-linux-x64-2.331.0.tar.gz';
const BYTES = new TextEncoder().encode('a runner tarball, 2.331.0');
const SHA = createHash('sha256').update(BYTES).digest('hex');
const SHA_B64 = createHash('sha256').update(BYTES).digest('base64');
const KEY = 'runner-tarballs/actions-runner-linux-x64-2.331.0.tar.gz';

class FakeAssets implements ReleaseAssetPort {
  downloads: string[] = [];
  body: Uint8Array = BYTES;
  failure: Error | undefined;
  async download(url: string): Promise<Uint8Array> {
    this.downloads.push(url);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failure) throw this.failure;
    return this.body;
  }
}

/**
 * S3 as the SDK answers it: objects in memory, every call recorded with its input. (@aws-sdk/client-s3 is
 * not a dependency yet, so aws-sdk-client-mock has no command to match; the calls carry the commands' inputs.)
 */
class FakeS3 implements S3ObjectCalls {
  objects = new Map<string, { body: Uint8Array; metadata: Record<string, string> }>();
  calls: [string, unknown][] = [];
  headFailure: Error | undefined;
  putFailure: Error | undefined;
  async headObject(input: { Bucket: string; Key: string }) {
    this.calls.push(['HeadObject', input]);
    if (this.headFailure) throw this.headFailure;
    const object = this.objects.get(`${input.Bucket}/${input.Key}`);
    if (!object) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    return { Metadata: object.metadata };
  }
  async putObject(input: Parameters<S3ObjectCalls['putObject']>[0]) {
    this.calls.push(['PutObject', input]);
    if (this.putFailure) throw this.putFailure;
    this.objects.set(`${input.Bucket}/${input.Key}`, { body: input.Body, metadata: input.Metadata });
    return {};
  }
}

describe('createS3RunnerTarballCache', () => {
  let assets: FakeAssets;
  let s3: FakeS3;
  const cache = () => createS3RunnerTarballCache({ bucket: 'fleet-bucket', s3, assets });

  beforeEach(() => {
    assets = new FakeAssets();
    s3 = new FakeS3();
  });

  it('names the object runner-tarballs/actions-runner-<platform>-<version>.tar.gz in the bucket', () => {
    expect(cache().path('2.331.0', 'linux-arm64')).toBe(
      's3://fleet-bucket/runner-tarballs/actions-runner-linux-arm64-2.331.0.tar.gz',
    );
  });

  it('downloads, verifies and uploads a missing tarball with its SHA-256 as checksum and metadata', async () => {
    await expect(cache().ensure('2.331.0', 'linux-x64', SHA.toUpperCase(), URL)).resolves.toBe(
      `s3://fleet-bucket/${KEY}`,
    );
    expect(assets.downloads).toEqual([URL]);
    expect(s3.calls).toEqual([
      ['HeadObject', { Bucket: 'fleet-bucket', Key: KEY }],
      [
        'PutObject',
        {
          Bucket: 'fleet-bucket',
          Key: KEY,
          Body: BYTES,
          ContentType: 'application/gzip',
          ChecksumSHA256: SHA_B64,
          Metadata: { sha256: SHA },
        },
      ],
    ]);
  });

  it('downloads nothing when the bucket holds the tarball with the expected digest', async () => {
    s3.objects.set(`fleet-bucket/${KEY}`, { body: BYTES, metadata: { sha256: SHA } });
    await cache().ensure('2.331.0', 'linux-x64', SHA, URL);
    expect(assets.downloads).toEqual([]);
    expect(s3.calls.map(([name]) => name)).toEqual(['HeadObject']);
  });

  it('replaces an object whose recorded digest is not the expected one', async () => {
    s3.objects.set(`fleet-bucket/${KEY}`, { body: BYTES, metadata: { sha256: 'f'.repeat(64) } });
    await cache().ensure('2.331.0', 'linux-x64', SHA, URL);
    expect(assets.downloads).toEqual([URL]);
    expect(s3.objects.get(`fleet-bucket/${KEY}`)?.metadata).toEqual({ sha256: SHA });
  });

  it('refuses bytes that do not match the release digest and uploads nothing', async () => {
    assets.body = new TextEncoder().encode('tampered');
    const error = await cache()
      .ensure('2.331.0', 'linux-x64', SHA, URL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarballChecksumMismatchError);
    expect(error).toMatchObject({
      version: '2.331.0',
      platform: 'linux-x64',
      expected: SHA,
      actual: createHash('sha256').update('tampered').digest('hex'),
    });
    expect(s3.calls.map(([name]) => name)).toEqual(['HeadObject']);
    expect(s3.objects.size).toBe(0);
  });

  it('answers TarballUnavailableError when the download fails, uploading nothing', async () => {
    assets.failure = new GitHubRequestError('GET github.example failed with 502', 502, 'GET', '', undefined);
    await expect(cache().ensure('2.331.0', 'linux-x64', SHA, URL)).rejects.toBeInstanceOf(TarballUnavailableError);
    expect(s3.objects.size).toBe(0);
  });

  it('takes a 403 on HeadObject for a missing object (S3 answers so without s3:ListBucket) and uploads', async () => {
    s3.headFailure = Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } });
    await expect(cache().has('2.331.0', 'linux-x64')).resolves.toBe(false);
    await cache().ensure('2.331.0', 'linux-x64', SHA, URL);
    expect(s3.calls.filter(([name]) => name === 'PutObject')).toHaveLength(1);
  });

  it('translates a failed upload and a failed HeadObject other than absent into TarballUnavailableError', async () => {
    s3.putFailure = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    const put = await cache()
      .ensure('2.331.0', 'linux-x64', SHA, URL)
      .catch((e: unknown) => e);
    expect(put).toBeInstanceOf(TarballUnavailableError);
    expect((put as Error).cause).toBe(s3.putFailure);
    s3.headFailure = Object.assign(new Error('internal'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    await expect(cache().has('2.331.0', 'linux-x64')).rejects.toBeInstanceOf(TarballUnavailableError);
  });

  it('has answers whether the object exists', async () => {
    await expect(cache().has('2.331.0', 'linux-x64')).resolves.toBe(false);
    await cache().ensure('2.331.0', 'linux-x64', SHA, URL);
    await expect(cache().has('2.331.0', 'linux-x64')).resolves.toBe(true);
  });

  it('shares one download between concurrent ensure calls for one tarball', async () => {
    const c = cache();
    await Promise.all([c.ensure('2.331.0', 'linux-x64', SHA, URL), c.ensure('2.331.0', 'linux-x64', SHA, URL)]);
    expect(assets.downloads).toEqual([URL]);
    expect(s3.calls.filter(([name]) => name === 'PutObject')).toHaveLength(1);
  });
});
