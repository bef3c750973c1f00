import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';
import { type RunnerUnderTest, runnersOf, unsafeRows } from '../support/iam-matrix.ts';
import { ACCOUNT, REGION, type TemplateIam, templateIam } from '../support/iam-simulation.ts';
import { type Synthesized, synthesize } from './synth-helpers.ts';

/**
 * Runner isolation, evaluated offline: the synthesized template's runner-role policies (and the hand-off
 * key's policy) against requests made in one runner's own request context, by
 * @cloud-copilot/iam-simulate. Every row names the request and the context it is made in.
 *
 * Which rows run unvalidated (`runUnsafeSimulation`, listed at the end of the run):
 * - a CodeBuild runner's `ssm:GetParameter` rows, the only action whose statement names
 *   `codebuild:buildArn`: the simulator's data lists that key for CodeBuild's own actions only, so its
 *   validated mode refuses it on an SSM request, although CodeBuild documents it as a policy variable of
 *   the service role for calls made from the build. The runner's other rows name no statement that reads
 *   the key, so they run validated without it;
 * - every `kms:Decrypt` row: the validated mode keeps a variable condition key only when the variable
 *   follows a "/" (`aws:ResourceTag/…`), so it would drop `kms:EncryptionContext:PARAMETER_ARN`.
 * The EC2 rows (`ec2:SourceInstanceARN`, an AWS-wide key) and all others run validated.
 *
 * Each row can fail: the last block removes the tag condition from a copy of the template and shows
 * the "cannot read another runner's hand-off" rows flip, so they test the condition and nothing else.
 */

const SUBNETS = ['subnet-0123456789abcdef0'];

afterAll(() => {
  const actions = [...new Set([...unsafeRows].map((row) => row.split(' ')[2]))].sort();
  console.info(
    `${unsafeRows.size} rows ran with runUnsafeSimulation (a CodeBuild runner's ssm:GetParameter rows, every kms:Decrypt row): ${actions.join(', ')}`,
  );
});
const TWO_POOLS: JitRunnersPool[] = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], codebuild: { computeType: 'BUILD_GENERAL1_SMALL' } },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    ec2: { architecture: 'arm64', subnetIds: SUBNETS, vpcId: 'vpc-0123456789abcdef0' },
  },
];

const STACKS: { name: string; synth: () => Synthesized }[] = [
  { name: 'a CodeBuild stack', synth: () => synthesize({ appId: 7, launcher: 'codebuild' }) },
  {
    name: 'an EC2 stack',
    synth: () => synthesize({ appId: 7, launcher: 'ec2', vpcId: 'vpc-0123456789abcdef0', subnetIds: SUBNETS }),
  },
];

/** The matrix for one runner role: `a` and `b` are two runners of it (or of another pool: `other`). */
function isolationRows(get: () => { iam: TemplateIam; a: RunnerUnderTest; b: RunnerUnderTest }) {
  it('A can read its own hand-off, decrypted through SSM', async () => {
    const { a } = get();
    expect(await a.can('ssm:GetParameter', a.handoff, a.tagged(a))).toBe(true);
    expect(await a.canDecrypt(a.handoff)).toBe(true);
  });

  it("A cannot read B's hand-off, nor the workaround's registration token of another runner", async () => {
    const { a, b } = get();
    expect(await a.decide('ssm:GetParameter', b.handoff, a.tagged(b))).toBe('ImplicitlyDenied');
    expect(await a.decide('ssm:GetParameter', b.baselineHandoff, a.tagged(b))).toBe('ImplicitlyDenied');
  });

  it('A cannot read a hand-off that carries no reader tag, nor list or batch-read the path', async () => {
    const { a } = get();
    expect(await a.decide('ssm:GetParameter', a.handoff, a.context())).toBe('ImplicitlyDenied');
    expect(await a.decide('ssm:GetParameters', a.handoff, a.tagged(a))).toBe('ImplicitlyDenied');
    expect(await a.decide('ssm:GetParametersByPath', a.handoff, a.tagged(a))).toBe('ImplicitlyDenied');
    expect(await a.decide('ssm:DescribeParameters', '*', a.context())).toBe('ImplicitlyDenied');
  });

  it('A can delete no hand-off, its own included, and can neither write nor re-tag one', async () => {
    const { a, b } = get();
    for (const target of [a, b]) {
      for (const action of [
        'ssm:DeleteParameter',
        'ssm:PutParameter',
        'ssm:AddTagsToResource',
        'ssm:RemoveTagsFromResource',
      ]) {
        expect(await a.decide(action, target.handoff, a.tagged(target)), `${action} on ${target.name}`).toBe(
          'ImplicitlyDenied',
        );
      }
    }
    expect(await a.decide('ssm:DeleteParameters', a.handoff, a.context())).toBe('ImplicitlyDenied');
  });

  it("A cannot decrypt B's hand-off directly, nor any hand-off outside SSM", async () => {
    const { a, b } = get();
    // KMS sees B's parameter ARN as encryption context only when SSM decrypts B's value, which SSM does
    // only after GetParameter allowed it; and A cannot call KMS directly for the same context.
    expect(await a.canDecrypt(b.handoff, { viaService: false })).toBe(false);
    expect(await a.canDecrypt(a.handoff, { viaService: false })).toBe(false);
    expect(await a.canDecrypt(`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/elsewhere/secret`)).toBe(false);
  });

  it('A cannot read the state table, the App private key or the webhook secret', async () => {
    const { iam, a } = get();
    const [table] = iam.idsOfType('AWS::DynamoDB::Table');
    const tableArn = iam.arnOf(table as string);
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DeleteItem']) {
      expect(await a.decide(action, tableArn, a.context()), action).toBe('ImplicitlyDenied');
    }
    const secrets = iam.idsOfType('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(await a.decide('secretsmanager:GetSecretValue', iam.arnOf(secret), a.context()), secret).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  it("A cannot list log streams, nor write a stream that is not a runner's", async () => {
    const { a } = get();
    expect(await a.decide('logs:DescribeLogStreams', a.logGroupArn, a.context())).toBe('ImplicitlyDenied');
    expect(await a.decide('logs:PutLogEvents', a.streamArn('forged'), a.context())).toBe('ImplicitlyDenied');
    expect(await a.decide('logs:CreateLogStream', a.streamArn('forged'), a.context())).toBe('ImplicitlyDenied');
  });
}

describe.each(STACKS)('runner isolation in $name (IAM matrix, evaluated offline)', ({ synth }) => {
  let iam: TemplateIam;
  let a: RunnerUnderTest;
  let b: RunnerUnderTest;
  beforeAll(() => {
    const s = synth();
    iam = templateIam(s.json);
    const [runner] = runnersOf(s, iam);
    if (!runner) throw new Error('no runner role');
    a = runner.instance('A');
    b = runner.instance('B');
  });

  isolationRows(() => ({ iam, a, b }));

  it('A writes its own stream; what IAM cannot tell apart is written down', async () => {
    expect(await a.can('logs:CreateLogStream', a.ownStream, a.context())).toBe(true);
    expect(await a.can('logs:PutLogEvents', a.ownStream, a.context())).toBe(true);
    // The limit (docs/deploy.md "Threat model"): IAM cannot bind a stream name to one instance or build
    // (their ARNs, the only per-runner values a policy can name, contain a colon, which a stream name
    // cannot), so a runner that learnt another runner's stream name could write it. The names are
    // unguessable (an instance id / build uuid), no runner can list them, and a line there is a hint
    // that runner-events confirms through GitHub and the platform before it acts.
    expect(await a.can('logs:PutLogEvents', b.ownStream, a.context())).toBe(true);
  });
});

describe('runner isolation across the pools of a two-pool stack (IAM matrix, evaluated offline)', () => {
  let iam: TemplateIam;
  let build: RunnerUnderTest;
  let instance: RunnerUnderTest;
  beforeAll(() => {
    const s = synthesize({ appId: 7 }, 'Pools', TWO_POOLS);
    iam = templateIam(s.json);
    const runners = runnersOf(s, iam);
    const cb = runners.find((r) => r.kind === 'codebuild');
    const ec2 = runners.find((r) => r.kind === 'ec2');
    if (!cb || !ec2) throw new Error('expected a CodeBuild and an EC2 runner role');
    build = cb.instance('A');
    instance = ec2.instance('B');
  });

  describe('a build of the CodeBuild pool against an instance of the EC2 pool', () => {
    isolationRows(() => ({ iam, a: build, b: instance }));
  });
  describe('an instance of the EC2 pool against a build of the CodeBuild pool', () => {
    isolationRows(() => ({ iam, a: instance, b: build }));
  });

  it("neither pool's runners write the other pool's log group", async () => {
    expect(await build.decide('logs:PutLogEvents', instance.ownStream, build.context())).toBe('ImplicitlyDenied');
    expect(await instance.decide('logs:PutLogEvents', build.ownStream, instance.context())).toBe('ImplicitlyDenied');
  });
});

describe('the matrix can fail: without the tag condition the cross-runner rows flip', () => {
  const flipped: string[] = [];
  afterAll(() => {
    // Printed once, so a reader of the run sees which rows the condition alone holds.
    console.info(`rows held by the reader-tag condition alone: ${flipped.join('; ')}`);
  });

  it.each(STACKS)('in $name', async ({ name, synth }) => {
    const s = synth();
    const json = structuredClone(s.json) as typeof s.json;
    for (const r of Object.values(json.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const doc = r.Properties.PolicyDocument as { Statement: { Sid?: string; Condition?: unknown }[] };
      for (const st of doc.Statement) if (st.Sid === 'JitConfigPickUp') delete st.Condition;
    }
    const iam = templateIam(json);
    const [runner] = runnersOf({ ...s, json }, iam);
    if (!runner) throw new Error('no runner role');
    const a = runner.instance('A');
    const b = runner.instance('B');
    expect(await a.decide('ssm:GetParameter', b.handoff, a.tagged(b))).toBe('Allowed');
    expect(await a.decide('ssm:GetParameter', a.handoff, a.context())).toBe('Allowed');
    flipped.push(`${name}: read B's hand-off, read an untagged hand-off`);
  });
});

describe('the other side of the hand-off: who may write it (IAM matrix, evaluated offline)', () => {
  let s: Synthesized;
  let iam: TemplateIam;
  let handoff: string;
  const reader = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
  beforeAll(() => {
    s = synthesize({ appId: 7, launcher: 'codebuild' });
    iam = templateIam(s.json);
    handoff = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${s.stack.runners.handOff.prefix}/jr-42-1-${'a'.repeat(32)}`;
  });
  const roleOf = (fn: 'webhook' | 'provisioner' | 'runnerEvents' | 'reconciler') =>
    iam.role(s.stack.getLogicalId(s.stack.runners.functions[fn].role.node.defaultChild as never));
  const withTags = (keys: string[]) => ({
    'aws:RequestTag/jit-runners:reader': reader,
    'aws:TagKeys': keys,
  });

  it('the launching functions write a hand-off only with its reader tag, and delete it', async () => {
    for (const fn of ['provisioner', 'runnerEvents', 'reconciler'] as const) {
      const role = roleOf(fn);
      const tags = withTags(['jit-runners:reader', 'jit-runners:runner']);
      expect(await role.decide('ssm:PutParameter', handoff, tags), fn).toBe('Allowed');
      expect(await role.decide('ssm:AddTagsToResource', handoff, tags), fn).toBe('Allowed');
      expect(await role.decide('ssm:PutParameter', handoff, { 'aws:TagKeys': ['jit-runners:runner'] }), fn).toBe(
        'ImplicitlyDenied',
      );
      expect(await role.decide('ssm:PutParameter', handoff, withTags(['jit-runners:reader', 'owner'])), fn).toBe(
        'ImplicitlyDenied',
      );
      expect(await role.decide('ssm:DeleteParameter', handoff, {}), fn).toBe('Allowed');
      // They write hand-offs; reading one back is no function's business.
      expect(await role.decide('ssm:GetParameter', handoff, {}), fn).toBe('ImplicitlyDenied');
    }
  });

  it('the internet-facing webhook can neither write nor delete a hand-off', async () => {
    const webhook = roleOf('webhook');
    const tags = withTags(['jit-runners:reader', 'jit-runners:runner']);
    expect(await webhook.decide('ssm:PutParameter', handoff, tags)).toBe('ImplicitlyDenied');
    expect(await webhook.decide('ssm:DeleteParameter', handoff, {})).toBe('ImplicitlyDenied');
  });
});
