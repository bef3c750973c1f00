import { describe, expect, it } from 'vitest';
import { demoLabels } from '../../functions/cli/demo.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { withSandboxPools } from '../../functions/config/sandbox-pools.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

const sandbox = (env: Record<string, string> = {}) => withSandboxPools(parseConfig({ env }), env);

describe('withSandboxPools (npm start / npm run demo in the sandbox)', () => {
  it('gives the sandbox two sample pools, x64 first, both with the default launcher, folder and version', () => {
    expect(sandbox().pools).toEqual([
      {
        name: 'linux-x64',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'local',
        runnerVersion: DEFAULT_RUNNER_VERSION,
      },
      {
        name: 'linux-arm64',
        labels: ['self-hosted', 'linux', 'arm64'],
        launcher: 'local',
        runnerVersion: DEFAULT_RUNNER_VERSION,
      },
    ]);
    expect(sandbox({ RUNNER_DIR: '/opt/runner' }).pools.map((p) => p.runnerDir)).toEqual([
      '/opt/runner',
      '/opt/runner',
    ]);
  });

  it('keeps the configuration as parsed when RUNNER_POOLS, RUNNER_POOLS_FILE or RUNNER_LABELS is set', () => {
    const gpu = JSON.stringify([{ name: 'gpu', labels: ['self-hosted', 'gpu'] }]);
    expect(sandbox({ RUNNER_POOLS: gpu }).pools.map((p) => p.name)).toEqual(['gpu']);
    expect(sandbox({ RUNNER_LABELS: 'self-hosted,linux' }).pools).toMatchObject([
      { name: 'default', labels: ['self-hosted', 'linux'] },
    ]);
    const file = withSandboxPools(parseConfig({ env: {} }), { RUNNER_POOLS_FILE: '/etc/pools.yaml' });
    expect(file.pools.map((p) => p.name)).toEqual(['default']);
  });

  it('keeps the configuration as parsed with a GitHub App', () => {
    const config = { ...parseConfig({ env: {} }), mode: 'github' as const };
    expect(withSandboxPools(config, {}).pools.map((p) => p.name)).toEqual(['default']);
  });
});

describe('demoLabels (the demo job asks for)', () => {
  const config = sandbox();

  it('asks for the first pool by default, a named pool with --pool, exact labels with --labels', () => {
    expect(demoLabels(config, undefined, undefined)).toEqual(['self-hosted', 'linux', 'x64']);
    expect(demoLabels(config, 'linux-arm64', undefined)).toEqual(['self-hosted', 'linux', 'arm64']);
    expect(demoLabels(config, undefined, 'Self-Hosted, GPU')).toEqual(['self-hosted', 'gpu']);
  });

  it('names the pools there are when --pool names none', () => {
    expect(demoLabels(config, 'gpu', undefined)).toBe(
      'demo: no pool named "gpu" (pools: linux-x64 [self-hosted, linux, x64]; linux-arm64 [self-hosted, linux, arm64])',
    );
  });
});
