import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyPrefix, STORE_ACCESS } from '../../cdk/constructs/state-table.ts';
import { Entity, itemKey } from '../../functions/adapters/dynamodb/table-schema.ts';
import { ACCOUNT, REGION, type SimulatedRole, type TemplateIam, templateIam } from '../support/iam-simulation.ts';
import { type Synthesized, synthesize } from './synth-helpers.ts';

/**
 * The function roles' IAM claims, evaluated offline against the synthesized template's policies
 * (@cloud-copilot/iam-simulate, strict mode: every action, ARN and context key validated).
 */

type FunctionKey = keyof typeof STORE_ACCESS;
const FUNCTIONS = Object.keys(STORE_ACCESS) as FunctionKey[];
const ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;
/** One key of every item kind the store writes. */
const KEYS: Record<Entity, string> = {
  job: itemKey(Entity.job, 42).pk,
  baseline: itemKey(Entity.baseline, 'org:octo').pk,
  breaker: itemKey(Entity.breaker, 'org:octo').pk,
  runner: itemKey(Entity.runner, 'jr-42-1').pk,
  lock: itemKey(Entity.lock, 'reconcile').pk,
  value: itemKey(Entity.value, 'deliveries').pk,
  mark: itemKey(Entity.mark, 'redelivery:1').pk,
  pool: itemKey(Entity.pool, 'x64').pk,
  version: itemKey(Entity.version, 'actions-runner').pk,
};
const ALL_KINDS = Object.keys(KEYS) as Entity[];

let s: Synthesized;
let iam: TemplateIam;
let roles: Record<FunctionKey, SimulatedRole>;
let table: string;

const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const on = (keys: string[]) => ({ 'dynamodb:LeadingKeys': keys });

beforeAll(() => {
  s = synthesize({ appId: 7 });
  iam = templateIam(s.json);
  roles = Object.fromEntries(FUNCTIONS.map((f) => [f, iam.role(idOf(s.stack.functions[f].role))])) as Record<
    FunctionKey,
    SimulatedRole
  >;
  table = iam.arnOf(idOf(s.stack.table.table));
});

describe('function roles on the state table', () => {
  it('holds the key prefixes the store writes (table-schema.ts)', () => {
    expect(ALL_KINDS.map((kind) => keyPrefix(kind))).toEqual(ALL_KINDS.map((kind) => `${KEYS[kind].split('#')[0]}#`));
  });

  it('the webhook cannot DeleteItem, whatever the key', async () => {
    for (const kind of ALL_KINDS) {
      expect(await roles.webhook.decide('dynamodb:DeleteItem', table, on([KEYS[kind]])), kind).toBe('ImplicitlyDenied');
    }
    expect(await roles.webhook.decide('dynamodb:BatchWriteItem', table, on([KEYS.job]))).toBe('ImplicitlyDenied');
  });

  it('the webhook can do what accept-webhook does: get, create and update job items, nothing else', async () => {
    for (const action of ITEM_ACTIONS) {
      expect(await roles.webhook.decide(action, table, on([KEYS.job])), action).toBe('Allowed');
      for (const kind of ALL_KINDS.filter((k) => k !== Entity.job)) {
        expect(await roles.webhook.decide(action, table, on([KEYS[kind]])), `${action} ${kind}`).toBe(
          'ImplicitlyDenied',
        );
      }
    }
    expect(await roles.webhook.decide('dynamodb:Query', `${table}/index/gsi1`, on(['JOB_OPEN#1']))).toBe(
      'ImplicitlyDenied',
    );
    expect(await roles.webhook.decide('dynamodb:BatchGetItem', table, on([KEYS.job]))).toBe('ImplicitlyDenied');
    expect(await roles.webhook.decide('dynamodb:Scan', table)).toBe('ImplicitlyDenied');
  });

  for (const fn of FUNCTIONS) {
    it(`${fn}: reads and writes exactly the item kinds it touches, deletes only what it must`, async () => {
      const access = STORE_ACCESS[fn];
      const role = roles[fn];
      for (const kind of ALL_KINDS) {
        const allowed = (access.items as readonly Entity[]).includes(kind);
        const readOnly = ('reads' in access ? (access.reads as readonly Entity[]) : []).includes(kind);
        for (const action of ITEM_ACTIONS) {
          const reads = readOnly && action === 'dynamodb:GetItem';
          expect(await role.decide(action, table, on([KEYS[kind]])), `${action} ${kind}`).toBe(
            allowed || reads ? 'Allowed' : 'ImplicitlyDenied',
          );
        }
        const deletes = (access.deletes as readonly Entity[]).includes(kind);
        expect(await role.decide('dynamodb:DeleteItem', table, on([KEYS[kind]])), `DeleteItem ${kind}`).toBe(
          deletes ? 'Allowed' : 'ImplicitlyDenied',
        );
      }
      // No full-table reads and no writes outside the item requests, for anyone.
      for (const action of ['dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable']) {
        expect(await role.decide(action, table), action).toBe('ImplicitlyDenied');
      }
    });
  }

  it('the listing functions query both indexes and batch-read listed items, each key checked', async () => {
    for (const fn of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
      const role = roles[fn];
      expect(await role.decide('dynamodb:Query', `${table}/index/gsi1`, on(['JOB_OPEN#3'])), fn).toBe('Allowed');
      expect(await role.decide('dynamodb:Query', `${table}/index/gsi2`, on(['BACKLOG#x64#3'])), fn).toBe('Allowed');
      // The table itself is never queried (lists are sparse indexes), nor a third index.
      expect(await role.decide('dynamodb:Query', table, on([KEYS.job])), fn).toBe('ImplicitlyDenied');
      expect(await role.decide('dynamodb:Query', `${table}/index/gsi3`, on(['x'])), fn).toBe('ImplicitlyDenied');
      expect(await role.decide('dynamodb:BatchGetItem', table, on([KEYS.job, KEYS.runner, KEYS.baseline])), fn).toBe(
        'Allowed',
      );
    }
    // One key outside the role's kinds fails the whole batch.
    expect(await roles.provisioner.decide('dynamodb:BatchGetItem', table, on([KEYS.job, KEYS.lock]))).toBe(
      'ImplicitlyDenied',
    );
  });

  it('only the reconciler writes the runner version record; the provisioning functions may only read it', async () => {
    for (const fn of ['provisioner', 'runnerEvents'] as const) {
      expect(await roles[fn].decide('dynamodb:GetItem', table, on([KEYS.version])), fn).toBe('Allowed');
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
        expect(await roles[fn].decide(action, table, on([KEYS.version])), `${fn} ${action}`).toBe('ImplicitlyDenied');
      }
    }
    expect(await roles.reconciler.decide('dynamodb:PutItem', table, on([KEYS.version]))).toBe('Allowed');
    expect(await roles.webhook.decide('dynamodb:GetItem', table, on([KEYS.version]))).toBe('ImplicitlyDenied');
  });

  it('the reconciler may delete only its own lease', async () => {
    expect(await roles.reconciler.decide('dynamodb:DeleteItem', table, on([KEYS.lock]))).toBe('Allowed');
    expect(await roles.reconciler.decide('dynamodb:DeleteItem', table, on([KEYS.job]))).toBe('ImplicitlyDenied');
  });
});

const VPC = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] };
const image = (id: string) => `arn:aws:ec2:${REGION}::image/${id}`;
const ec2Arn = (resource: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${resource}`;

describe('function roles launching EC2 runners', () => {
  let ec2: Synthesized;
  let launcher: SimulatedRole;
  let pools: Synthesized;
  let poolLauncher: SimulatedRole;

  beforeAll(() => {
    ec2 = synthesize({ appId: 7, launcher: 'ec2', ...VPC }, 'Ec2Roles');
    launcher = templateIam(ec2.json).role(
      ec2.stack.getLogicalId(ec2.stack.functions.provisioner.role.node.defaultChild as CfnElement),
    );
    pools = synthesize({ appId: 7 }, 'AmiPools', [
      { name: 'al2023', labels: ['self-hosted', 'linux', 'x64'], ec2: { subnetIds: VPC.subnetIds, vpcId: VPC.vpcId } },
      {
        name: 'golden',
        labels: ['self-hosted', 'linux', 'x64', 'golden'],
        ec2: { subnetIds: VPC.subnetIds, vpcId: VPC.vpcId, ami: { id: 'ami-0123456789abcdef0' } },
      },
      {
        name: 'shared',
        labels: ['self-hosted', 'linux', 'x64', 'shared'],
        ec2: {
          subnetIds: VPC.subnetIds,
          vpcId: VPC.vpcId,
          ami: { id: 'ami-0fedcba9876543210', owner: '444455556666' },
        },
      },
    ]);
    poolLauncher = templateIam(pools.json).role(
      pools.stack.getLogicalId(pools.stack.functions.reconciler.role.node.defaultChild as CfnElement),
    );
  });

  it("launches only images of the AMI's owner: amazon for the default Amazon Linux", async () => {
    const run = (owner: string) =>
      launcher.decide('ec2:RunInstances', image('ami-0aaaaaaaaaaaaaaaa'), { 'ec2:Owner': owner });
    expect(await run('amazon')).toBe('Allowed');
    expect(await run('999999999999')).toBe('ImplicitlyDenied');
    expect(await run('aws-marketplace')).toBe('ImplicitlyDenied');
    expect(await run(ACCOUNT)).toBe('ImplicitlyDenied');
  });

  it("with pools: each pool's image owner (amazon, the account for a custom AMI, or the owner it names), no other", async () => {
    const run = (owner: string) =>
      poolLauncher.decide('ec2:RunInstances', image('ami-0bbbbbbbbbbbbbbbb'), { 'ec2:Owner': owner });
    expect(await run('amazon')).toBe('Allowed');
    expect(await run(ACCOUNT)).toBe('Allowed');
    expect(await run('444455556666')).toBe('Allowed');
    expect(await run('999999999999')).toBe('ImplicitlyDenied');
  });

  it('tags instances, volumes and spot requests only while RunInstances creates them', async () => {
    for (const resource of ['instance/i-0123456789abcdef0', 'volume/vol-0123456789abcdef0']) {
      expect(
        await launcher.decide('ec2:CreateTags', ec2Arn(resource), { 'ec2:CreateAction': 'RunInstances' }),
        resource,
      ).toBe('Allowed');
      // Outside a launch (no create action), or during another create call: refused.
      expect(await launcher.decide('ec2:CreateTags', ec2Arn(resource)), resource).toBe('ImplicitlyDenied');
      expect(
        await launcher.decide('ec2:CreateTags', ec2Arn(resource), { 'ec2:CreateAction': 'CreateVolume' }),
        resource,
      ).toBe('ImplicitlyDenied');
    }
    expect(
      await launcher.decide('ec2:CreateTags', ec2Arn('security-group/sg-0123456789abcdef0'), {
        'ec2:CreateAction': 'RunInstances',
      }),
    ).toBe('ImplicitlyDenied');
  });

  it('never deletes tags', async () => {
    expect(await launcher.decide('ec2:DeleteTags', ec2Arn('instance/i-0123456789abcdef0'))).toBe('ImplicitlyDenied');
  });
});

/** The S3 object ARNs a role may GetObject, as synthesized (the asset objects it was granted). */
/** The objects a role may read, the tarball cache's aside (test/cdk/tarball-cache.test.ts covers those). */
function readableObjects(role: SimulatedRole): string[] {
  return role.policies.flatMap(({ policy }) =>
    (
      policy as { Statement: Array<{ Sid?: string; Action: string | string[]; Resource: string | string[] }> }
    ).Statement.filter(
      (st) => st.Sid !== 'RunnerTarballCacheRead' && [st.Action].flat().includes('s3:GetObject'),
    ).flatMap((st) => [st.Resource].flat()),
  );
}

describe('runner roles read their asset objects only', () => {
  const bucketOf = (objectArn: string) => objectArn.replace(/\/.*$/, '');

  it('CodeBuild: reads the runner source object CodeBuild fetches, no other object, no listing', async () => {
    const iamOf = templateIam(s.json);
    const runnerRole = s.stack.launcher.runnerRole;
    const role = iamOf.role(s.stack.getLogicalId(runnerRole.node.defaultChild as CfnElement));
    const objects = readableObjects(role);
    expect(objects).toHaveLength(1);
    const [object] = objects as [string];
    // The grant is exactly the object the project's S3 source names.
    const project = Object.values(s.json.Resources).find((r) => r.Type === 'AWS::CodeBuild::Project');
    const source = project?.Properties.Source as { Location: unknown } | undefined;
    const location = iamOf.resolve(source?.Location) as string;
    expect(object).toBe(`arn:aws:s3:::${location}`);
    expect(await role.decide('s3:GetObject', object)).toBe('Allowed');
    expect(await role.decide('s3:GetObject', `${bucketOf(object)}/other-asset.zip`)).toBe('ImplicitlyDenied');
    expect(await role.decide('s3:ListBucket', bucketOf(object))).toBe('ImplicitlyDenied');
    expect(await role.decide('s3:PutObject', object)).toBe('ImplicitlyDenied');
    // CodeBuild's own checks on the source bucket before the fetch.
    expect(await role.decide('s3:GetBucketLocation', bucketOf(object))).toBe('Allowed');
  });

  it('EC2: reads the bootstrap and checksums objects, no other object, no listing', async () => {
    const ec2 = synthesize({ appId: 7, launcher: 'ec2', ...VPC }, 'Ec2Assets');
    const runnerRole = ec2.stack.launcher.runnerRole;
    const role = templateIam(ec2.json).role(ec2.stack.getLogicalId(runnerRole.node.defaultChild as CfnElement));
    const objects = readableObjects(role);
    expect(objects).toHaveLength(2);
    for (const object of objects) {
      expect(object).not.toContain('*');
      expect(await role.decide('s3:GetObject', object)).toBe('Allowed');
    }
    const bucket = bucketOf(objects[0] as string);
    expect(await role.decide('s3:GetObject', `${bucket}/a-function-bundle.zip`)).toBe('ImplicitlyDenied');
    expect(await role.decide('s3:ListBucket', bucket)).toBe('ImplicitlyDenied');
    expect(await role.decide('s3:GetBucketLocation', bucket)).toBe('ImplicitlyDenied');
  });
});
