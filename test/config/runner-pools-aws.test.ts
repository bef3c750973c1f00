import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ConfigSources, parseConfig } from '../../functions/config/config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

/** The variables every Lambda gets from the stack, secrets from their ARNs. */
const lambdaEnv = {
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:key',
  GITHUB_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:hook',
  LAUNCHER: 'codebuild',
};
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const localEnv = {
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: 's3cret-value',
  RUNNER_DIR: '/opt/runner',
};

const x64 = {
  name: 'x64',
  labels: ['self-hosted', 'linux', 'x64'],
  launcher: 'codebuild',
  codebuild: { projectName: 'JitRunners-x64' },
};
const arm64 = {
  name: 'arm64',
  labels: ['self-hosted', 'linux', 'arm64'],
  launcher: 'ec2',
  maxRunners: 10,
  ec2: {
    launchTemplateId: 'lt-0123456789abcdef0',
    instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
    subnetIds: ['subnet-0123456789abcdef0'],
    spot: true,
  },
};
const list = (...pools: unknown[]) => JSON.stringify(pools);

function messageOf(env: Record<string, string>, context: 'local' | 'lambda', sources: Partial<ConfigSources> = {}) {
  try {
    parseConfig({ env, ...sources }, context);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('pool resources (codebuild, ec2)', () => {
  it('parses each pool with its CodeBuild project or EC2 launch template, instance types, subnets and spot', () => {
    const config = parseConfig({ env: { ...lambdaEnv, RUNNER_POOLS: list(x64, arm64) } }, 'lambda');
    expect(config.pools).toEqual([
      { ...x64, runnerVersion: DEFAULT_RUNNER_VERSION },
      { ...arm64, runnerVersion: DEFAULT_RUNNER_VERSION },
    ]);
  });

  it('fills an ec2 pool left without instance types, subnets or spot with none, none and on-demand', () => {
    const pool = { ...arm64, ec2: { launchTemplateId: 'lt-0abc' } };
    const [parsed] = parseConfig({ env: { ...lambdaEnv, RUNNER_POOLS: list(pool) } }, 'lambda').pools;
    expect(parsed?.ec2).toEqual({ launchTemplateId: 'lt-0abc', instanceTypes: [], subnetIds: [], spot: false });
  });

  it('lets a codebuild or ec2 pool without its own resources use CODEBUILD_PROJECT_NAME or EC2_LAUNCH_TEMPLATE_ID', () => {
    const env = {
      ...lambdaEnv,
      CODEBUILD_PROJECT_NAME: 'JitRunners-runner',
      EC2_LAUNCH_TEMPLATE_ID: 'lt-0fedcba',
      RUNNER_POOLS: list({ ...x64, codebuild: undefined }, { ...arm64, ec2: undefined }),
    };
    const pools = parseConfig({ env }, 'lambda').pools;
    expect(pools.map((p) => [p.name, p.codebuild, p.ec2])).toEqual([
      ['x64', undefined, undefined],
      ['arm64', undefined, undefined],
    ]);
  });

  it.each([
    [
      'a codebuild field of an ec2 pool',
      { ...arm64, codebuild: { projectName: 'p1' } },
      'RUNNER_POOLS: pool "arm64" (index 0): codebuild: is only for a pool with launcher codebuild (this pool\'s launcher is ec2)',
    ],
    [
      'an ec2 field of a pool that takes the default launcher codebuild',
      { name: 'x', labels: ['x'], ec2: arm64.ec2 },
      'RUNNER_POOLS: pool "x" (index 0): ec2: is only for a pool with launcher ec2 (this pool\'s launcher is codebuild)',
    ],
    [
      'an ec2 pool without a launch template',
      { ...arm64, ec2: { instanceTypes: ['m7g.large'] } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.launchTemplateId: is required',
    ],
    [
      'a launch template id that is not one',
      { ...arm64, ec2: { launchTemplateId: 'my-template' } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.launchTemplateId: must be a launch template id (lt- then hex)',
    ],
    [
      'an instance type that is not one',
      { ...arm64, ec2: { ...arm64.ec2, instanceTypes: ['m7g.xlarge', 'large'] } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.instanceTypes[1]: must be an instance type such as m7g.large',
    ],
    [
      'an instance type listed twice',
      { ...arm64, ec2: { ...arm64.ec2, instanceTypes: ['m7g.xlarge', 'm7g.xlarge'] } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.instanceTypes: lists an instance type twice',
    ],
    [
      'a subnet that is not one',
      { ...arm64, ec2: { ...arm64.ec2, subnetIds: ['sg-0123'] } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.subnetIds[0]: must be a subnet id (subnet- then hex)',
    ],
    [
      'spot as a string',
      { ...arm64, ec2: { ...arm64.ec2, spot: 'true' } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.spot: expected boolean, received string',
    ],
    [
      'a misspelt ec2 field',
      { ...arm64, ec2: { ...arm64.ec2, instanceType: 'm7g.large' } },
      'RUNNER_POOLS: pool "arm64" (index 0): ec2.instanceType: is not a field of ec2 (launchTemplateId, instanceTypes, subnetIds, spot)',
    ],
    [
      'a misspelt codebuild field',
      { ...x64, codebuild: { project: 'p1' } },
      'RUNNER_POOLS: pool "x64" (index 0): codebuild.project: is not a field of codebuild (projectName)',
    ],
    [
      'a project name that is not one',
      { ...x64, codebuild: { projectName: 'has space' } },
      'RUNNER_POOLS: pool "x64" (index 0): codebuild.projectName: must be a CodeBuild project name (2-255 of A-Z a-z 0-9 - _, not starting with - or _)',
    ],
  ])('refuses %s with one line naming the pool and the field', (_, pool, message) => {
    const got = messageOf({ ...lambdaEnv, RUNNER_POOLS: list(pool) }, 'lambda');
    expect(got.split('\n')).toHaveLength(1);
    expect(got).toBe(message);
  });

  it('refuses, in AWS, a codebuild or ec2 pool with neither its own resources nor the single-launcher variable', () => {
    expect(messageOf({ ...lambdaEnv, RUNNER_POOLS: list({ ...x64, codebuild: undefined }) }, 'lambda')).toBe(
      'RUNNER_POOLS: pool "x64" (index 0): codebuild: is required with launcher codebuild: { "projectName": … } (or set CODEBUILD_PROJECT_NAME)',
    );
    expect(messageOf({ ...lambdaEnv, RUNNER_POOLS: list({ ...arm64, ec2: undefined }) }, 'lambda')).toBe(
      'RUNNER_POOLS: pool "arm64" (index 0): ec2: is required with launcher ec2: { "launchTemplateId": … } (or set EC2_LAUNCH_TEMPLATE_ID)',
    );
  });

  it('refuses, in AWS, a pool of the local launcher', () => {
    const env = { ...lambdaEnv, LAUNCHER: '', RUNNER_POOLS: list({ name: 'x', labels: ['x'] }) };
    expect(messageOf(env, 'lambda')).toBe(
      'RUNNER_POOLS: pool "x" (index 0): launcher: must be codebuild or ec2 in AWS (the local launcher runs processes on this machine; or set LAUNCHER)',
    );
  });

  it('needs no single-launcher variable for LAUNCHER when every pool names its own resources', () => {
    // The stack sets LAUNCHER to the first pool's kind and no CODEBUILD_PROJECT_NAME / EC2_* with pools.
    const env = { ...lambdaEnv, LAUNCHER: 'ec2', RUNNER_POOLS: list(arm64, x64) };
    expect(parseConfig({ env }, 'lambda').pools.map((p) => p.name)).toEqual(['arm64', 'x64']);
  });

  it('does not check AWS resources in local mode, where every runner is a local process', () => {
    const env = { ...localEnv, RUNNER_POOLS: list({ ...x64, codebuild: undefined }) };
    expect(parseConfig({ env }, 'local').pools[0]?.launcher).toBe('codebuild');
  });
});

describe('RUNNER_POOLS_PARAMETER', () => {
  const env = { ...lambdaEnv, RUNNER_POOLS_PARAMETER: '/JitRunners/runner-pools' };

  it('parses the value read from the parameter exactly as RUNNER_POOLS', () => {
    const fromParameter = parseConfig({ env, runnerPoolsParameterValue: list(x64, arm64) }, 'lambda');
    const inline = parseConfig({ env: { ...lambdaEnv, RUNNER_POOLS: list(x64, arm64) } }, 'lambda');
    expect(fromParameter.pools).toEqual(inline.pools);
  });

  it('names the variable and the parameter in a parse error of its value', () => {
    expect(messageOf(env, 'lambda', { runnerPoolsParameterValue: '[{"name": "x64"' })).toMatch(
      /^RUNNER_POOLS_PARAMETER: \/JitRunners\/runner-pools is not valid JSON \(.+\)$/,
    );
    expect(messageOf(env, 'lambda', { runnerPoolsParameterValue: list({ ...x64, labels: [] }) })).toBe(
      'RUNNER_POOLS_PARAMETER: pool "x64" (index 0): labels: needs at least one label',
    );
  });

  it('says RUNNER_LABELS is ignored beside it, as beside RUNNER_POOLS', () => {
    const config = parseConfig(
      { env: { ...env, RUNNER_LABELS: 'self-hosted' }, runnerPoolsParameterValue: list(x64) },
      'lambda',
    );
    expect(config.notices).toEqual([
      "RUNNER_LABELS is ignored: RUNNER_POOLS_PARAMETER is set, and each pool's labels choose the pool",
    ]);
  });

  it('refuses RUNNER_POOLS and RUNNER_POOLS_PARAMETER together, naming both', () => {
    expect(messageOf({ ...env, RUNNER_POOLS: list(x64) }, 'lambda', { runnerPoolsParameterValue: list(x64) })).toBe(
      'RUNNER_POOLS_PARAMETER: set either RUNNER_POOLS or RUNNER_POOLS_PARAMETER, not both (the stack sets one of RUNNER_POOLS and RUNNER_POOLS_PARAMETER)',
    );
  });

  it('is refused in local mode, which reads nothing from AWS to start', () => {
    expect(messageOf({ ...localEnv, RUNNER_POOLS_PARAMETER: '/JitRunners/runner-pools' }, 'local')).toBe(
      'RUNNER_POOLS_PARAMETER: is read in AWS only; locally put the list in RUNNER_POOLS or RUNNER_POOLS_FILE (aws ssm get-parameter --name /JitRunners/runner-pools --query Parameter.Value --output text > pools.json)',
    );
  });

  it('refuses a name that is no parameter name', () => {
    expect(messageOf({ ...env, RUNNER_POOLS_PARAMETER: 'has space' }, 'lambda')).toBe(
      'RUNNER_POOLS_PARAMETER: must be an SSM parameter name or ARN',
    );
  });
});
