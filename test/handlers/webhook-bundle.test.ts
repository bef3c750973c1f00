import { resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackBuildOptions } from './build-handlers.ts';

/** The store repositories only the other functions use (the webhook reads and writes job items only). */
const OTHER_REPOSITORIES = [
  'dynamo-baselines.ts',
  'dynamo-breakers.ts',
  'dynamo-locks.ts',
  'dynamo-pools.ts',
  'dynamo-runners.ts',
  'dynamo-versions.ts',
];
/** GitHub API clients: the webhook only checks signatures (`@octokit/webhooks-methods`). */
const GITHUB_CLIENTS = ['@octokit/core', '@octokit/auth-app', '@octokit/plugin-retry', '@octokit/plugin-throttling'];

describe('webhook bundle (what the function on GitHub’s 10 s path carries)', () => {
  let inputs: Record<string, number> = {};
  beforeAll(async () => {
    const result = await build({
      ...stackBuildOptions('codebuild'),
      entryPoints: [resolve('functions/handlers/webhook.ts')],
      outfile: 'webhook.mjs',
      write: false,
      metafile: true,
    });
    const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint);
    inputs = Object.fromEntries(Object.entries(output?.inputs ?? {}).map(([path, i]) => [path, i.bytesInOutput]));
  }, 60_000);

  const bytesOf = (match: (path: string) => boolean) =>
    Object.entries(inputs)
      .filter(([path]) => match(path))
      .reduce((sum, [, bytes]) => sum + bytes, 0);

  it('carries the jobs repository and none of the store repositories only the other functions use', () => {
    expect(bytesOf((p) => p.endsWith('adapters/dynamodb/dynamo-jobs.ts'))).toBeGreaterThan(1000);
    // What may stay is a module's constant table (an object with computed keys, which esbuild keeps):
    // ~130 bytes. With the whole store the six repositories were ~4 KB.
    expect(bytesOf((p) => OTHER_REPOSITORIES.some((file) => p.endsWith(`/${file}`)))).toBeLessThan(500);
  });

  it('carries no GitHub API client', () => {
    for (const pkg of GITHUB_CLIENTS) {
      const bytes = bytesOf((p) => p.includes(`node_modules/${pkg}/`));
      expect(bytes, pkg).toBe(0);
    }
  });
});
