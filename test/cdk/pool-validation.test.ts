import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DeploymentConfigError } from '../../cdk/deployment-config.ts';
import { JitRunners } from '../../cdk/jit-runners.ts';
import { type JitRunnersPool, poolsFromJson, resolvePools } from '../../cdk/pool-props.ts';
import { DEFAULT_RUNNER_VERSION } from '../../functions/domain/runner-version.ts';

const DEFAULTS = {
  runnerVersion: '2.330.0',
  runnerVersionFloor: '2.329.0',
  runnerTimeoutMinutes: 360,
  tarballs: new Set(['actions-runner-linux-x64-2.330.0.tar.gz', 'actions-runner-linux-arm64-2.330.0.tar.gz']),
};
const EC2 = { subnetIds: ['subnet-0a'], vpcId: 'vpc-0a' };

function refusal(pools: JitRunnersPool[]): string {
  try {
    resolvePools(pools, DEFAULTS);
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentConfigError);
    return (error as Error).message;
  }
  throw new Error('the pools were accepted');
}

describe('pool validation', () => {
  it('accepts a CodeBuild and an EC2 pool and applies the defaults', () => {
    const [cb, ec2] = resolvePools(
      [
        { name: 'x64', labels: ['Self-Hosted', 'linux'], codebuild: {} },
        { name: 'arm', labels: ['self-hosted', 'arm64'], ec2: { ...EC2, architecture: 'arm64' } },
      ],
      DEFAULTS,
    );
    expect(cb).toMatchObject({
      kind: 'codebuild',
      labels: ['self-hosted', 'linux'],
      computeType: 'BUILD_GENERAL1_MEDIUM',
      docker: false,
      timeoutMinutes: 360,
      image: 'amazon-linux-2023',
    });
    expect(ec2).toMatchObject({
      kind: 'ec2',
      instanceTypes: ['m7g.large'],
      spot: false,
      rootVolumeGiB: 30,
      docker: false,
    });
  });

  it('refuses two pools with one name, naming the pool', () => {
    expect(
      refusal([
        { name: 'x64', labels: ['a'], codebuild: {} },
        { name: 'x64', labels: ['b'], codebuild: {} },
      ]),
    ).toBe(
      'jit-runners deployment config "pools": pool "x64": name: is used by two pools; give each pool its own name',
    );
  });

  it('refuses a pool with both codebuild and ec2, and one with neither', () => {
    expect(refusal([{ name: 'both', labels: ['a'], codebuild: {}, ec2: EC2 }])).toContain(
      'set exactly one of codebuild or ec2; split it into two pools to have both',
    );
    expect(refusal([{ name: 'none', labels: ['a'] }])).toContain(
      'set where its runners run: codebuild: {…} or ec2: { subnetIds: […] }',
    );
  });

  it('refuses an EC2 pool without subnets, or without a VPC for its security group', () => {
    expect(refusal([{ name: 'e', labels: ['a'], ec2: { subnetIds: [] } }])).toContain(
      'pool "e": ec2.subnetIds: an EC2 pool needs at least one subnet with outbound HTTPS to GitHub (NAT or public IP); list its subnet ids',
    );
    expect(refusal([{ name: 'e', labels: ['a'], ec2: { subnetIds: ['subnet-0a'] } }])).toContain(
      'ec2.vpcId: set the VPC of the subnets (the construct creates an outbound-only security group in it) or give securityGroupIds',
    );
    expect(refusal([{ name: 'e', labels: ['a'], ec2: { subnetIds: ['sub-1'], vpcId: 'vpc-0a' } }])).toContain(
      'ec2.subnetIds: "sub-1" is not a subnet id (subnet-…)',
    );
  });

  it('refuses Docker on CodeBuild Lambda compute, which cannot run it', () => {
    expect(
      refusal([{ name: 'l', labels: ['a'], codebuild: { computeType: 'BUILD_LAMBDA_2GB', docker: true } }]),
    ).toContain(
      'codebuild.docker: CodeBuild Lambda compute (BUILD_LAMBDA_2GB) cannot run Docker; use a BUILD_GENERAL1_* compute type or drop docker',
    );
  });

  it('refuses the Ubuntu image on arm64 and a CodeBuild VPC without subnets', () => {
    expect(refusal([{ name: 'u', labels: ['a'], codebuild: { architecture: 'arm64', image: 'ubuntu' } }])).toContain(
      'CodeBuild has no curated Ubuntu image for arm64; use amazon-linux-2023 or a custom ECR image',
    );
    expect(refusal([{ name: 'v', labels: ['a'], codebuild: { vpc: { vpcId: 'vpc-0a', subnetIds: [] } } }])).toContain(
      'codebuild.vpc.subnetIds: a VPC needs at least one private subnet',
    );
  });

  it('refuses instance types of the other architecture and more than 20 types', () => {
    expect(
      refusal([{ name: 'g', labels: ['a'], ec2: { ...EC2, instanceTypes: ['m7i.large', 'm7g.large'] } }]),
    ).toContain('ec2.instanceTypes: m7g.large is arm64 but the pool is x64; set ec2.architecture or pick x64 types');
    const types = Array.from({ length: 21 }, (_, i) => `m${i + 1}i.large`);
    expect(refusal([{ name: 'g', labels: ['a'], ec2: { ...EC2, instanceTypes: types } }])).toContain('list at most 20');
  });

  it('refuses a label of the other architecture', () => {
    expect(refusal([{ name: 'x', labels: ['self-hosted', 'arm64'], codebuild: {} }])).toContain(
      'labels: contains "arm64" but the pool\'s runners are x64; set codebuild.architecture or drop the label',
    );
  });

  it('refuses a pool an earlier pool covers, saying how to order them', () => {
    expect(
      refusal([
        { name: 'any', labels: ['self-hosted', 'linux', 'gpu'], codebuild: {} },
        { name: 'gpu', labels: ['self-hosted', 'gpu'], codebuild: {} },
      ]),
    ).toContain(
      'pool "gpu": labels: can never be chosen: pool "any" is listed earlier and has all of its labels; list "gpu" first',
    );
  });

  it('refuses a runner version without checksums, and reserved tag keys', () => {
    expect(refusal([{ name: 'v', labels: ['a'], runnerVersion: '2.331.0', codebuild: {} }])).toContain(
      'runner/checksums.json has no SHA-256 for actions-runner-linux-x64-2.331.0.tar.gz',
    );
    expect(refusal([{ name: 't', labels: ['a'], codebuild: {}, tags: { 'jit-runners:pool': 'x' } }])).toContain(
      'keys starting with aws: or jit-runners: are reserved; rename the tag',
    );
  });

  it("accepts 'auto', the pool's own or the deployment's, checking the start version against the checksum table", () => {
    const [own] = resolvePools([{ name: 'a', labels: ['a'], runnerVersion: 'auto', codebuild: {} }], DEFAULTS);
    expect(own?.runnerVersion).toBe('auto');
    const [inherited] = resolvePools([{ name: 'b', labels: ['b'], codebuild: {} }], {
      ...DEFAULTS,
      runnerVersion: 'auto',
    });
    expect(inherited?.runnerVersion).toBeUndefined();
    expect(() =>
      resolvePools([{ name: 'c', labels: ['c'], runnerVersion: 'auto', codebuild: {} }], {
        ...DEFAULTS,
        tarballs: new Set(),
      }),
    ).toThrow(`no SHA-256 for actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`);
  });

  it('refuses a bad pool name and a label with a comma', () => {
    expect(refusal([{ name: 'Big_Pool', labels: ['a'], codebuild: {} }])).toContain(
      'pool at index 0: name "Big_Pool" must be 1-32 characters of a-z 0-9 -',
    );
    expect(refusal([{ name: 'c', labels: ['a,b'], codebuild: {} }])).toContain('a label cannot contain a comma');
  });

  it('refuses a single-pool property in config next to pools, saying where it goes', () => {
    const app = new App();
    expect(
      () =>
        new JitRunners(new Stack(app, 'S'), 'R', {
          config: { launcher: 'ec2' },
          pools: [{ name: 'a', labels: ['a'], codebuild: {} }],
        }),
    ).toThrow(
      'jit-runners deployment config "launcher": shapes the single default pool; with pools set it in each pool (labels, codebuild: {…} or ec2: {…}) and drop it from config',
    );
  });

  it('reads pools from -c JSON and names what is wrong with it', () => {
    expect(poolsFromJson('[{"name":"a","labels":["a"],"codebuild":{}}]', 'pools')).toEqual([
      { name: 'a', labels: ['a'], codebuild: {} },
    ]);
    expect(() => poolsFromJson('{', 'pools')).toThrow(/"pools": is not valid JSON .*; give a JSON array of pools/);
    expect(() => poolsFromJson('[{"name":"a","runnerPolicies":[{}]}]', 'poolsFile')).toThrow(
      'runnerPolicies must be a list of managed policy ARNs',
    );
  });
});
