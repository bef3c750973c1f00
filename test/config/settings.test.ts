import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { DEPLOYABLE_KEYS, SETTINGS, settingRows } from '../../functions/config/settings.ts';
import { DEFAULT_BREAKER_MAX_BACKOFF_MS, DEFAULT_BREAKER_THRESHOLD } from '../../functions/domain/breaker-policy.ts';
import { DEFAULT_RUNNER_NAME_PREFIX } from '../../functions/domain/runner-name.ts';
import { DEFAULT_RUNNER_VERSION, DEFAULT_RUNNER_VERSION_FLOOR } from '../../functions/domain/runner-version.ts';

describe('the settings table', () => {
  it('has one row per variable name, and no row without a name', () => {
    expect(Object.keys(SETTINGS).sort()).toEqual(Object.keys(EnvName).sort());
    const names = settingRows().map((r) => r.env);
    expect(new Set(names).size).toBe(names.length);
  });

  it('parses every default, and an unset or blank variable exactly like its default', () => {
    for (const row of settingRows()) {
      const unset = row.schema.safeParse(undefined);
      expect(unset.success, row.env).toBe(true);
      expect(row.schema.safeParse('  ').data, row.env).toEqual(unset.data);
      if (row.default !== undefined) expect(row.schema.safeParse(row.default).data, row.env).toEqual(unset.data);
    }
  });

  it('gives every deployable setting one CDK prop of its own, and only those', () => {
    const props = DEPLOYABLE_KEYS.map((k) => SETTINGS[k].deploy.prop);
    expect(new Set(props).size).toBe(props.length);
    for (const row of settingRows()) expect('deploy' in row, row.env).toBe(row.source === 'deployment');
  });

  it('lets a deployment set the settings the README promises, LOG_LEVEL and the breaker included', () => {
    const deployable = DEPLOYABLE_KEYS.map((k) => EnvName[k]);
    expect(deployable).toEqual(
      expect.arrayContaining([
        EnvName.breakerFailureThreshold,
        EnvName.breakerMaxBackoffSeconds,
        EnvName.runnerNamePrefix,
        EnvName.runnerVersionFloor,
        EnvName.logLevel,
        EnvName.maxHealsPerJob,
      ]),
    );
  });

  it("references the domain's own defaults instead of repeating them", () => {
    const config = parseConfig({ env: {} });
    expect(config.runner.version).toBe(DEFAULT_RUNNER_VERSION);
    expect(config.runner.versionFloor).toBe(DEFAULT_RUNNER_VERSION_FLOOR);
    expect(config.runner.namePrefix).toBe(DEFAULT_RUNNER_NAME_PREFIX);
    expect(config.limits.breakerFailureThreshold).toBe(DEFAULT_BREAKER_THRESHOLD);
    expect(config.limits.breakerMaxBackoffSeconds * 1000).toBe(DEFAULT_BREAKER_MAX_BACKOFF_MS);
  });
});

describe('MAX_HEALS_PER_JOB', () => {
  it('bounds the failure-handling steps of one job: 10 by default, 1 to 100', () => {
    expect(parseConfig({ env: {} }).limits.maxHealsPerJob).toBe(10);
    expect(parseConfig({ env: { MAX_HEALS_PER_JOB: '25' } }).limits.maxHealsPerJob).toBe(25);
    for (const bad of ['0', '101', 'lots']) {
      expect(() => parseConfig({ env: { MAX_HEALS_PER_JOB: bad } }), bad).toThrow(/^MAX_HEALS_PER_JOB: /);
    }
  });
});
