import { describe, expect, it } from 'vitest';
import { parseConfig, versionPolicySettings } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

const DAY = 24 * 60 * 60 * 1000;
const x64 = { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] };
const arm64 = { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'] };
const pools = (list: unknown) => ({ RUNNER_POOLS: JSON.stringify(list) });

function errorOf(env: Record<string, string>): ConfigError {
  try {
    parseConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('RUNNER_VERSION=auto', () => {
  it('tracks releases, starting from this release’s default version, with the documented defaults', () => {
    const config = parseConfig({ env: { RUNNER_VERSION: 'auto' } });
    expect(config.runner.version).toBe(DEFAULT_RUNNER_VERSION);
    expect(config.versionTracking).toEqual({
      mode: 'auto',
      soakMs: 7 * DAY,
      canaryPercent: 10,
      releasesUrl: 'https://api.github.com/repos/actions/runner/releases',
    });
    expect(config.pools).toEqual([expect.objectContaining({ name: 'default', tracksRunnerVersion: true })]);
  });

  it.each(['AUTO', ' auto ', 'Auto'])('accepts %j as auto', (value) => {
    expect(parseConfig({ env: { RUNNER_VERSION: value } }).versionTracking.mode).toBe('auto');
  });

  it('keeps an exact pin working: pinned mode, the pin as the version, no pool tracking', () => {
    const config = parseConfig({ env: { RUNNER_VERSION: '2.331.0' } });
    expect(config.runner.version).toBe('2.331.0');
    expect(config.versionTracking.mode).toBe('pinned');
    expect(config.pools[0]).not.toHaveProperty('tracksRunnerVersion');
    expect(versionPolicySettings(config)).toEqual({
      pin: '2.331.0',
      soakMs: 7 * DAY,
      floor: '2.329.0',
      canaryPercent: 10,
    });
  });

  it('reads the soak in days, fractions allowed, so a test can soak for seconds', () => {
    const soak = (value: string) => parseConfig({ env: { RUNNER_VERSION_SOAK_DAYS: value } }).versionTracking.soakMs;
    expect(soak('0')).toBe(0);
    expect(soak('2.5')).toBe(2.5 * DAY);
    expect(soak('0.0001')).toBe(8_640);
    expect(soak('.5')).toBe(DAY / 2);
    expect(soak('30')).toBe(30 * DAY);
  });

  it('reads the canary share and the releases URL (trailing slash dropped)', () => {
    const config = parseConfig({
      env: {
        RUNNER_VERSION_CANARY_PERCENT: '25',
        RUNNER_RELEASES_URL: 'https://ghes.example.com/api/v3/repos/actions/runner/releases/',
      },
    });
    expect(config.versionTracking).toMatchObject({
      canaryPercent: 25,
      releasesUrl: 'https://ghes.example.com/api/v3/repos/actions/runner/releases',
    });
  });

  it('keeps RUNNER_FALLBACK_VERSION beside auto', () => {
    const config = parseConfig({ env: { RUNNER_VERSION: 'auto', RUNNER_FALLBACK_VERSION: '2.329.0' } });
    expect(config.runner.fallbackVersion).toBe('2.329.0');
  });

  it.each([
    [{ RUNNER_VERSION: 'latest' }, EnvName.runnerVersion, 'must be an exact version such as 2.330.0, or auto'],
    [{ RUNNER_VERSION: 'auto-ish' }, EnvName.runnerVersion, 'or auto'],
    [{ RUNNER_VERSION: 'auto', RUNNER_VERSION_FLOOR: '2.340.0' }, EnvName.runnerVersion, 'auto starts from'],
    [{ RUNNER_VERSION_SOAK_DAYS: 'a week' }, EnvName.runnerVersionSoakDays, 'must be a number'],
    [{ RUNNER_VERSION_SOAK_DAYS: '-1' }, EnvName.runnerVersionSoakDays, 'must be a number'],
    [{ RUNNER_VERSION_SOAK_DAYS: '1e3' }, EnvName.runnerVersionSoakDays, 'must be a number'],
    [{ RUNNER_VERSION_SOAK_DAYS: '31' }, EnvName.runnerVersionSoakDays, 'from 0 to 30'],
    [{ RUNNER_VERSION_CANARY_PERCENT: '0' }, EnvName.runnerVersionCanaryPercent, ''],
    [{ RUNNER_VERSION_CANARY_PERCENT: '101' }, EnvName.runnerVersionCanaryPercent, ''],
    [{ RUNNER_VERSION_CANARY_PERCENT: '12.5' }, EnvName.runnerVersionCanaryPercent, ''],
    [{ RUNNER_RELEASES_URL: 'ftp://mirror/releases' }, EnvName.runnerReleasesUrl, 'http(s)'],
  ])('refuses %j with one message naming %s', (env, variable, fragment) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(fragment);
    expect(error.message).not.toContain('\n');
  });

  it('treats blank values as unset', () => {
    const config = parseConfig({
      env: { RUNNER_VERSION: ' ', RUNNER_VERSION_SOAK_DAYS: '', RUNNER_VERSION_CANARY_PERCENT: '  ' },
    });
    expect(config.versionTracking).toMatchObject({ mode: 'pinned', soakMs: 7 * DAY, canaryPercent: 10 });
  });
});

describe('pools and the tracked version', () => {
  it('under auto: a pool’s exact pin wins, a pool without one tracks', () => {
    const config = parseConfig({
      env: { RUNNER_VERSION: 'auto', ...pools([{ ...x64 }, { ...arm64, runnerVersion: '2.331.0' }]) },
    });
    expect(config.pools).toEqual([
      { ...x64, launcher: 'local', runnerVersion: DEFAULT_RUNNER_VERSION, tracksRunnerVersion: true },
      { ...arm64, launcher: 'local', runnerVersion: '2.331.0' },
    ]);
    expect(versionPolicySettings(config)).not.toHaveProperty('pin');
  });

  it('under a pin: a pool may track on its own with "runnerVersion": "auto", starting from the pin', () => {
    const config = parseConfig({
      env: { RUNNER_VERSION: '2.331.0', ...pools([{ ...x64, runnerVersion: 'auto' }, { ...arm64 }]) },
    });
    expect(config.pools).toEqual([
      { ...x64, launcher: 'local', runnerVersion: '2.331.0', tracksRunnerVersion: true },
      { ...arm64, launcher: 'local', runnerVersion: '2.331.0' },
    ]);
    expect(config.versionTracking.mode).toBe('pinned');
    // Something tracks, so the policy runs without a pin; the pinned pool keeps its pin whatever it decides.
    expect(versionPolicySettings(config)).not.toHaveProperty('pin');
  });

  it('refuses a pool version that is neither exact nor auto, naming the pool', () => {
    const error = errorOf(pools([{ ...x64, runnerVersion: 'newest' }]));
    expect(error.message).toBe(
      'RUNNER_POOLS: pool "x64" (index 0): runnerVersion: must be an exact version such as 2.330.0, or auto',
    );
  });
});
