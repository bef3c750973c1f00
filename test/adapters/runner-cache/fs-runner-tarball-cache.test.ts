import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsRunnerTarballCache } from '../../../functions/adapters/runner-cache/fs-runner-tarball-cache.ts';
import { GitHubRequestError, type ReleaseAssetPort } from '../../../functions/ports/github.ts';
import {
  TarballChecksumMismatchError,
  TarballUnavailableError,
} from '../../../functions/ports/runner-tarball-cache.ts';

const URL = 'https://github.example/actions/runner/releases/download/v2.331.0/actions-runner-linux-x64-2.331.0.tar.gz';
const BYTES = new TextEncoder().encode('a runner tarball, 2.331.0');
const SHA = createHash('sha256').update(BYTES).digest('hex');

/** Release assets served from memory, counting downloads. */
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

describe('createFsRunnerTarballCache', () => {
  let dir: string;
  let assets: FakeAssets;
  const cache = () => createFsRunnerTarballCache({ dir: join(dir, 'runner-cache'), assets });
  const tarball = () => join(dir, 'runner-cache', 'actions-runner-linux-x64-2.331.0.tar.gz');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jr-runner-cache-'));
    assets = new FakeAssets();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads a tarball once, verifies it and keeps it under its release name', async () => {
    const c = cache();
    expect(await c.has('2.331.0', 'linux-x64')).toBe(false);
    expect(c.path('2.331.0', 'linux-x64')).toBe(tarball());

    expect(await c.ensure('2.331.0', 'linux-x64', SHA, URL)).toBe(tarball());
    expect(await c.ensure('2.331.0', 'linux-x64', SHA.toUpperCase(), URL)).toBe(tarball());
    // A second cache over the same directory (a restart) finds it too.
    expect(await cache().ensure('2.331.0', 'linux-x64', SHA, URL)).toBe(tarball());

    expect(assets.downloads).toEqual([URL]);
    expect(await c.has('2.331.0', 'linux-x64')).toBe(true);
    expect(new Uint8Array(await readFile(tarball()))).toEqual(BYTES);
    expect(await readdir(join(dir, 'runner-cache'))).toEqual(['actions-runner-linux-x64-2.331.0.tar.gz']);
  });

  it('shares one download between concurrent calls for the same tarball', async () => {
    const c = cache();
    await Promise.all([1, 2, 3].map(() => c.ensure('2.331.0', 'linux-x64', SHA, URL)));
    expect(assets.downloads).toHaveLength(1);
  });

  it('refuses a tarball whose SHA-256 is not the expected one, naming both, and keeps nothing of it', async () => {
    assets.body = new TextEncoder().encode('tampered bytes');
    const actual = createHash('sha256').update(assets.body).digest('hex');
    const c = cache();

    const error = await c.ensure('2.331.0', 'linux-x64', SHA, URL).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TarballChecksumMismatchError);
    expect(error).toMatchObject({ version: '2.331.0', platform: 'linux-x64', expected: SHA, actual });
    expect((error as Error).message).toContain(`expected sha256 ${SHA}, got ${actual}`);
    expect(await c.has('2.331.0', 'linux-x64')).toBe(false);
    expect(await readdir(join(dir, 'runner-cache')).catch(() => [])).toEqual([]);
    // Never cached: the next call downloads (and refuses) again.
    await expect(c.ensure('2.331.0', 'linux-x64', SHA, URL)).rejects.toBeInstanceOf(TarballChecksumMismatchError);
    expect(assets.downloads).toHaveLength(2);
  });

  it('reports a failed download as unavailable and writes nothing', async () => {
    assets.failure = new GitHubRequestError('GET github.example failed with 503', 503, 'GET', '', undefined);
    const error = await cache()
      .ensure('2.331.0', 'linux-x64', SHA, URL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarballUnavailableError);
    expect((error as Error).message).toContain('cannot download actions-runner-linux-x64-2.331.0.tar.gz');
    expect(await readdir(join(dir, 'runner-cache')).catch(() => [])).toEqual([]);
  });

  it('writes through a temporary file and a rename: a failed rename leaves neither file', async () => {
    // Something that is not a file already holds the name: the rename onto it fails.
    await mkdir(tarball(), { recursive: true });
    const error = await cache()
      .ensure('2.331.0', 'linux-x64', SHA, URL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarballUnavailableError);
    expect(await readdir(join(dir, 'runner-cache'))).toEqual(['actions-runner-linux-x64-2.331.0.tar.gz']);
    expect(await readdir(tarball())).toEqual([]);
  });
});
