import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { TARBALL_EXPIRATION_DAYS } from '../../cdk/constructs/runner-tarball-bucket.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';
import { EnvName } from '../../functions/config/env-names.ts';
import { type SimulatedRole, type TemplateIam, templateIam } from '../support/iam-simulation.ts';
import { resourcesOfType, type Synthesized, synthesize } from './synth-helpers.ts';

/**
 * The runner tarball cache bucket, in one synthesized two-pool stack (a CodeBuild pool and an EC2 pool,
 * so both runner roles): its settings, who learns its name, and who may do what in it, evaluated
 * offline by @cloud-copilot/iam-simulate.
 */

const POOLS: JitRunnersPool[] = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], codebuild: { computeType: 'BUILD_GENERAL1_SMALL' } },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    ec2: { architecture: 'arm64', subnetIds: ['subnet-0123456789abcdef0'], vpcId: 'vpc-0123456789abcdef0' },
  },
];

let s: Synthesized;
let iam: TemplateIam;
let bucketId: string;
let bucketName: string;
let tarball: string;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const fn = (name: 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler') =>
  iam.role(idOf(s.stack.runners.functions[name].role as never));
const runnerRoles = (): [string, SimulatedRole][] =>
  s.stack.runners.runners.map((pool) => [pool.name, iam.role(idOf(pool.launcher.runnerRole as never))]);

beforeAll(() => {
  s = synthesize({ appId: 7 }, 'Pools', POOLS);
  iam = templateIam(s.json);
  bucketId = idOf(s.stack.runners.tarballCache.bucket);
  bucketName = iam.refOf(bucketId);
  tarball = `arn:aws:s3:::${bucketName}/runner-tarballs/actions-runner-linux-x64-2.331.0.tar.gz`;
});

describe('the runner tarball cache bucket', () => {
  it('is private, TLS only, SSE-S3, unversioned, retained, and expires tarballs', () => {
    const [bucket] = resourcesOfType(s.json, 'AWS::S3::Bucket');
    expect(resourcesOfType(s.json, 'AWS::S3::Bucket')).toHaveLength(1);
    expect(s.json.Resources[bucketId]?.DeletionPolicy).toBe('Retain');
    expect(bucket?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [expect.objectContaining({ Prefix: 'runner-tarballs/', ExpirationInDays: TARBALL_EXPIRATION_DAYS })],
      },
    });
    expect(bucket?.Properties.VersioningConfiguration).toBeUndefined();
    const [policy] = resourcesOfType(s.json, 'AWS::S3::BucketPolicy');
    expect(JSON.stringify(policy?.Properties)).toContain('"aws:SecureTransport":"false"');
  });

  it('names the bucket to the reconciler alone among the functions, and to both runner platforms', () => {
    const env = (name: 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler') => {
      const properties = s.json.Resources[idOf(s.stack.runners.functions[name].fn as never)]?.Properties ?? {};
      return (properties.Environment as { Variables: Record<string, unknown> }).Variables;
    };
    expect(iam.resolve(env('reconciler')[EnvName.runnerTarballBucket])).toBe(bucketName);
    for (const other of ['webhook', 'provisioner', 'runnerEvents'] as const) {
      expect(env(other)[EnvName.runnerTarballBucket], other).toBeUndefined();
    }
    const [project] = resourcesOfType(s.json, 'AWS::CodeBuild::Project');
    expect(iam.resolve(project?.Properties.Environment)).toMatchObject({
      EnvironmentVariables: [{ Name: 'JR_RUNNER_CACHE_BUCKET', Type: 'PLAINTEXT', Value: bucketName }],
    });
    const [template] = resourcesOfType(s.json, 'AWS::EC2::LaunchTemplate');
    const data = template?.Properties.LaunchTemplateData as { UserData: { 'Fn::Base64': unknown } };
    const userData = String(iam.resolve(data.UserData['Fn::Base64']));
    expect(userData).toContain(`JR_RUNNER_CACHE_BUCKET=${bucketName} JR_PLATFORM=ec2`);
  });
});

describe('who may do what in the tarball cache (IAM, evaluated offline)', () => {
  const outside = () => `arn:aws:s3:::${bucketName}/other/actions-runner-linux-x64-2.331.0.tar.gz`;
  const bucketArn = () => `arn:aws:s3:::${bucketName}`;

  it('the reconciler reads (GetObject, which HeadObject needs) and writes tarballs, nothing outside the prefix', async () => {
    const reconciler = fn('reconciler');
    expect(await reconciler.can('s3:PutObject', tarball)).toBe(true);
    expect(await reconciler.can('s3:GetObject', tarball)).toBe(true);
    expect(await reconciler.decide('s3:PutObject', outside())).toBe('ImplicitlyDenied');
    expect(await reconciler.decide('s3:GetObject', outside())).toBe('ImplicitlyDenied');
    expect(await reconciler.decide('s3:DeleteObject', tarball)).toBe('ImplicitlyDenied');
    expect(await reconciler.decide('s3:ListBucket', bucketArn())).toBe('ImplicitlyDenied');
  });

  it('each runner role reads tarballs and cannot write, delete, list or read outside the prefix', async () => {
    const roles = runnerRoles();
    expect(roles).toHaveLength(2);
    for (const [pool, role] of roles) {
      expect(await role.can('s3:GetObject', tarball), pool).toBe(true);
      expect(await role.decide('s3:PutObject', tarball), pool).toBe('ImplicitlyDenied');
      expect(await role.decide('s3:DeleteObject', tarball), pool).toBe('ImplicitlyDenied');
      expect(await role.decide('s3:ListBucket', bucketArn()), pool).toBe('ImplicitlyDenied');
      expect(await role.decide('s3:GetObject', outside()), pool).toBe('ImplicitlyDenied');
    }
  });

  it('the webhook, the provisioner and runner-events cannot read or write it', async () => {
    for (const name of ['webhook', 'provisioner', 'runnerEvents'] as const) {
      const role = fn(name);
      expect(await role.decide('s3:GetObject', tarball), name).toBe('ImplicitlyDenied');
      expect(await role.decide('s3:PutObject', tarball), name).toBe('ImplicitlyDenied');
    }
  });
});
