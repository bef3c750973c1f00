import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeployableSettingsInput } from '../../cdk/deployment-config.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { DEPLOYABLE_KEYS, SETTINGS } from '../../functions/config/settings.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';
import { resourcesOfType, type Synthesized, synthesize } from './synth-helpers.ts';

const OTHER_VERSION = '2.331.0';

// runner/checksums.json covers the default version only; the stack must also accept a pin of another
// version here, so this file's view of it has that version's tarball too.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    const text = (fs.readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
    if (typeof text !== 'string' || !String(path).endsWith('runner/checksums.json')) return text;
    const table = JSON.parse(text) as Record<string, string>;
    table[`actions-runner-linux-x64-${OTHER_VERSION}.tar.gz`] = 'a'.repeat(64);
    return JSON.stringify(table);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

/**
 * A value other than the default for every deployable setting. Typed as every prop of the table, so a
 * new deployable row does not compile until it has a value here.
 */
const NON_DEFAULT: Required<DeployableSettingsInput> = {
  appId: 424242,
  githubApiUrl: 'https://ghes.example.com/api/v3',
  githubServerUrl: 'https://ghes.example.com',
  scope: 'org',
  labels: ['self-hosted', 'linux', 'x64', 'gpu'],
  runnerGroupId: 7,
  runnerVersion: OTHER_VERSION,
  runnerFallbackVersion: DEFAULT_RUNNER_VERSION,
  runnerVersionFloor: '2.330.0',
  runnerVersionSoakDays: 3.5,
  runnerVersionCanaryPercent: 25,
  runnerReleasesUrl: 'https://ghes.example.com/api/v3/repos/actions/runner/releases',
  baselinePolicy: 'proactive',
  allowlist: ['octo/*'],
  launcher: 'ec2',
  runnerStartTimeoutSeconds: 300,
  baselineOnlineTimeoutSeconds: 90,
  reconcileIntervalSeconds: 120,
  maxAttemptsPerJob: 5,
  maxTheftsPerJob: 4,
  maxWorkaroundsPerScope: 2,
  maxHealsPerJob: 12,
  breakerFailureThreshold: 5,
  breakerMaxBackoffSeconds: 120,
  runnerNamePrefix: 'acme',
  discoverQueuedJobs: ['octo/app'],
  failureCheckRuns: 'on',
  logLevel: 'DEBUG',
  secretsCacheSeconds: 60,
};

const asVariable = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
type Environment = Record<string, unknown>;

let s: Synthesized;
let functions: Array<{ id: string; env: Environment; logging: unknown }>;

describe('function environment of a deployed stack', () => {
  beforeAll(() => {
    s = synthesize({
      ...NON_DEFAULT,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
    });
    functions = resourcesOfType(s.json, 'AWS::Lambda::Function').map((fn) => ({
      id: fn.id,
      env: (fn.Properties.Environment as { Variables: Environment }).Variables,
      logging: fn.Properties.LoggingConfig,
    }));
  });

  it('sets a value other than the default for every deployable setting (or the check below proves nothing)', () => {
    expect(Object.keys(NON_DEFAULT).sort()).toEqual(DEPLOYABLE_KEYS.map((k) => SETTINGS[k].deploy.prop).sort());
    for (const key of DEPLOYABLE_KEYS) {
      const row = SETTINGS[key];
      const deployDefault = 'default' in row.deploy ? row.deploy.default : row.default;
      expect(asVariable(NON_DEFAULT[row.deploy.prop]), row.deploy.prop).not.toBe(
        deployDefault?.replace('{architecture}', 'x64'),
      );
    }
  });

  it('passes every deployable setting to every function under its variable name', () => {
    expect(functions.map((f) => f.id)).toHaveLength(4);
    for (const fn of functions) {
      for (const key of DEPLOYABLE_KEYS) {
        const { prop } = SETTINGS[key].deploy;
        expect(fn.env[EnvName[key]], `${fn.id} ${EnvName[key]} (${prop})`).toBe(asVariable(NON_DEFAULT[prop]));
      }
    }
  });

  it('is read back by the functions as the values the deployment chose', () => {
    for (const fn of functions) {
      // Tokens (ARNs, the table name) are resolved by CloudFormation; any string stands in for them here.
      const env = Object.fromEntries(
        Object.entries(fn.env).map(([k, v]) => [k, typeof v === 'string' ? v : `token-of-${k}`.toLowerCase()]),
      );
      env[EnvName.tableName] = 'jit-runners-state';
      const config = parseConfig({ env }, 'lambda');
      // Every limit is a deployable setting whose CDK prop has the limit's name.
      const limits = Object.keys(config.limits) as Array<keyof typeof config.limits>;
      expect(config.limits).toEqual(Object.fromEntries(limits.map((k) => [k, NON_DEFAULT[k]])));
      expect(config.runner).toMatchObject({ namePrefix: 'acme', versionFloor: '2.330.0', version: OTHER_VERSION });
      expect(config.logLevel).toBe('DEBUG');
    }
  });

  it("sets Lambda's application log filter to LOG_LEVEL, so DEBUG lines are not dropped", () => {
    for (const fn of functions) expect(fn.logging, fn.id).toMatchObject({ ApplicationLogLevel: 'DEBUG' });
  });
});
