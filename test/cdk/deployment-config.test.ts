import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checksummedTarballs,
  configFromContext,
  DeploymentConfigError,
  resolveDeploymentConfig,
} from '../../cdk/deployment-config.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

const error = (fn: () => unknown): DeploymentConfigError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DeploymentConfigError) return e;
    throw e;
  }
  throw new Error('expected a DeploymentConfigError');
};

describe('resolveDeploymentConfig', () => {
  it('defaults to a CodeBuild x64 fleet pinned to the default runner version', () => {
    const c = resolveDeploymentConfig();
    expect(c).toMatchObject({
      appId: undefined,
      launcher: 'codebuild',
      architecture: 'x64',
      labels: ['self-hosted', 'linux', 'x64'],
      scope: 'repo',
      runnerVersion: DEFAULT_RUNNER_VERSION,
      baselinePolicy: 'on-error',
      allowlist: [],
      discoverQueuedJobs: [],
      reconcileIntervalSeconds: 60,
      logRetentionDays: 30,
      provisionerRetryAttempts: 2,
      codebuildComputeType: 'BUILD_GENERAL1_MEDIUM',
      webhookReservedConcurrency: 50,
      githubApiUrl: 'https://api.github.com',
      githubServerUrl: 'https://github.com',
    });
  });

  it('takes the repositories whose queued jobs are discovered, each named and served by the allowlist', () => {
    expect(
      resolveDeploymentConfig({ allowlist: ['octo/*'], discoverQueuedJobs: [' octo/app ', 'octo/api'] })
        .discoverQueuedJobs,
    ).toEqual(['octo/app', 'octo/api']);
    expect(error(() => resolveDeploymentConfig({ discoverQueuedJobs: ['octo/*'] })).message).toMatch(
      /discoverQueuedJobs.*owner\/repo/,
    );
    expect(
      error(() => resolveDeploymentConfig({ allowlist: ['octo/app'], discoverQueuedJobs: ['other/app'] })).property,
    ).toBe('discoverQueuedJobs');
  });

  it('passes the job and scope limits through, within the ranges the functions accept', () => {
    expect(resolveDeploymentConfig({ maxTheftsPerJob: 0, maxWorkaroundsPerScope: 5 })).toMatchObject({
      maxAttemptsPerJob: 3,
      maxTheftsPerJob: 0,
      maxWorkaroundsPerScope: 5,
    });
    expect(error(() => resolveDeploymentConfig({ maxTheftsPerJob: 101 })).message).toMatch(/maxTheftsPerJob/);
    expect(error(() => resolveDeploymentConfig({ maxWorkaroundsPerScope: -1 })).message).toMatch(
      /maxWorkaroundsPerScope/,
    );
  });

  it("takes every setting of the table a deployment may set, with the functions' defaults and ranges", () => {
    expect(resolveDeploymentConfig()).toMatchObject({
      maxHealsPerJob: 10,
      breakerFailureThreshold: 3,
      breakerMaxBackoffSeconds: 30,
      runnerNamePrefix: 'jr',
      runnerVersionFloor: '2.329.0',
      logLevel: 'INFO',
    });
    expect(resolveDeploymentConfig({ maxHealsPerJob: 20, logLevel: 'DEBUG' })).toMatchObject({
      maxHealsPerJob: 20,
      logLevel: 'DEBUG',
    });
    expect(error(() => resolveDeploymentConfig({ maxHealsPerJob: 0 })).message).toBe(
      'jit-runners deployment config "maxHealsPerJob": must be a whole number from 1 to 100 (got 0)',
    );
    expect(error(() => resolveDeploymentConfig({ breakerMaxBackoffSeconds: 3_601 })).property).toBe(
      'breakerMaxBackoffSeconds',
    );
    expect(error(() => resolveDeploymentConfig({ runnerNamePrefix: 'Acme' })).message).toContain(
      'must be 1-16 lower-case letters/digits starting with a letter',
    );
    expect(error(() => resolveDeploymentConfig({ logLevel: 'trace' as never })).message).toContain(
      'must be one of DEBUG, INFO, WARN, ERROR',
    );
  });

  it("checks pinned versions against the deployment's own version floor", () => {
    expect(error(() => resolveDeploymentConfig({ runnerVersionFloor: '2.331.0' })).message).toMatch(
      /runnerVersion.*2\.330\.0 is below 2\.331\.0/,
    );
  });

  it('derives arm64 labels, instance type and compute type from the architecture', () => {
    const c = resolveDeploymentConfig({ architecture: 'arm64' });
    expect(c.labels).toEqual(['self-hosted', 'linux', 'arm64']);
    expect(c.instanceType).toBe('m7g.large');
    expect(c.codebuildComputeType).toBe('BUILD_GENERAL1_LARGE');
  });

  it('asks for a VPC and subnets with the ec2 launcher, saying how to pass them', () => {
    const e = error(() => resolveDeploymentConfig({ launcher: 'ec2' }));
    expect(e.property).toBe('vpcId');
    expect(e.message).toContain('-c vpcId=vpc-… -c subnetIds=subnet-a,subnet-b');
    expect(error(() => resolveDeploymentConfig({ launcher: 'ec2', vpcId: 'vpc-0abc' })).property).toBe('subnetIds');
  });

  it('refuses a runner version without checksums, and tells where to add them', () => {
    const e = error(() => resolveDeploymentConfig({ runnerVersion: '2.999.0' }));
    expect(e.property).toBe('runnerVersion');
    expect(e.message).toContain('runner/checksums.json has no SHA-256 for actions-runner-linux-x64-2.999.0.tar.gz');
    expect(error(() => resolveDeploymentConfig({ runnerFallbackVersion: '2.999.0' })).property).toBe(
      'runnerFallbackVersion',
    );
  });

  it('refuses versions below the registration floor and loose versions', () => {
    expect(error(() => resolveDeploymentConfig({ runnerVersion: '2.300.0' })).message).toMatch(/below 2\.329\.0/);
    expect(error(() => resolveDeploymentConfig({ runnerVersion: 'latest' })).message).toMatch(/exact version/);
  });

  it("accepts runnerVersion 'auto', checking the version it starts from against the checksum table", () => {
    expect(resolveDeploymentConfig({ runnerVersion: 'auto' }).runnerVersion).toBe('auto');
    expect(resolveDeploymentConfig({ runnerVersion: 'auto', architecture: 'arm64' }).runnerVersion).toBe('auto');
    const e = error(() => resolveDeploymentConfig({ runnerVersion: 'auto' }, new Set()));
    expect(e.property).toBe('runnerVersion');
    expect(e.message).toContain(`no SHA-256 for actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`);
  });

  it('accepts a version that the checksum table covers', () => {
    const tarballs = new Set(['actions-runner-linux-x64-2.331.0.tar.gz']);
    expect(resolveDeploymentConfig({ runnerVersion: '2.331.0' }, tarballs).runnerVersion).toBe('2.331.0');
  });

  it('rejects labels of the other architecture', () => {
    const e = error(() => resolveDeploymentConfig({ labels: ['self-hosted', 'linux', 'ARM64'] }));
    expect(e.property).toBe('labels');
    expect(e.message).toContain('set architecture=arm64');
  });

  it('rejects schedules that are not whole minutes', () => {
    const e = error(() => resolveDeploymentConfig({ reconcileIntervalSeconds: 90 }));
    expect(e.message).toContain('use a multiple of 60');
    expect(error(() => resolveDeploymentConfig({ reconcileIntervalSeconds: 30 })).property).toBe(
      'reconcileIntervalSeconds',
    );
  });

  it.each([
    [{ allowlist: ['not a repo'] }, 'allowlist'],
    [{ appId: 0 }, 'appId'],
    [{ subnetIds: ['sn-1'] }, 'subnetIds'],
    [{ scope: 'enterprise' as never }, 'scope'],
    [{ launcher: 'fargate' as never }, 'launcher'],
    [{ githubApiUrl: 'ftp://x' }, 'githubApiUrl'],
    [{ provisionerRetryAttempts: 3 }, 'provisionerRetryAttempts'],
    [{ alarmTopicArn: 'oncall' }, 'alarmTopicArn'],
    [{ instanceType: 'big' }, 'instanceType'],
  ])('names the property of a bad value: %o', (input, property) => {
    expect(error(() => resolveDeploymentConfig(input)).property).toBe(property);
  });

  it("reserves the webhook's concurrency unless 'unreserved' is asked for, and says how to fix a bad value", () => {
    expect(resolveDeploymentConfig({ webhookReservedConcurrency: 5 }).webhookReservedConcurrency).toBe(5);
    expect(resolveDeploymentConfig({ webhookReservedConcurrency: 'unreserved' }).webhookReservedConcurrency).toBe(
      undefined,
    );
    for (const bad of [0, 1001, 2.5]) {
      const e = error(() => resolveDeploymentConfig({ webhookReservedConcurrency: bad }));
      expect(e.property).toBe('webhookReservedConcurrency');
      expect(e.message).toContain("from 1 to 1000, or 'unreserved'");
    }
  });
});

describe('checksummedTarballs', () => {
  it('lists the tarballs of runner/checksums.json', () => {
    const tarballs = checksummedTarballs(join(process.cwd(), 'runner/checksums.json'));
    expect(tarballs.has(`actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`)).toBe(true);
    expect(tarballs.has(`actions-runner-linux-arm64-${DEFAULT_RUNNER_VERSION}.tar.gz`)).toBe(true);
  });
});

describe('configFromContext', () => {
  it('parses -c values: numbers, booleans and comma lists', () => {
    const context: Record<string, string> = {
      appId: '123',
      launcher: 'ec2',
      useSpot: 'true',
      subnetIds: 'subnet-0a, subnet-0b',
      labels: 'self-hosted,linux,x64,gpu',
      reconcileIntervalSeconds: '120',
      discoverQueuedJobs: 'octo/app,octo/api',
      maxHealsPerJob: '4',
      logLevel: 'WARN',
    };
    expect(configFromContext((k) => context[k])).toEqual({
      appId: 123,
      launcher: 'ec2',
      useSpot: true,
      subnetIds: ['subnet-0a', 'subnet-0b'],
      labels: ['self-hosted', 'linux', 'x64', 'gpu'],
      reconcileIntervalSeconds: 120,
      discoverQueuedJobs: ['octo/app', 'octo/api'],
      maxHealsPerJob: 4,
      logLevel: 'WARN',
    });
  });

  it("reads the webhook's reserved concurrency as a number or 'unreserved'", () => {
    const read = (value: string) =>
      configFromContext((k) => (k === 'webhookReservedConcurrency' ? value : undefined)).webhookReservedConcurrency;
    expect(read('20')).toBe(20);
    expect(read('unreserved')).toBe('unreserved');
    expect(error(() => read('none')).property).toBe('webhookReservedConcurrency');
  });

  it('names the key of an unparsable value', () => {
    expect(error(() => configFromContext((k) => (k === 'appId' ? 'abc' : undefined))).property).toBe('appId');
    expect(error(() => configFromContext((k) => (k === 'useSpot' ? 'yes' : undefined))).property).toBe('useSpot');
  });
});
