import type { CfnElement } from 'aws-cdk-lib';
import { CodeBuildRunner } from '../../cdk/constructs/codebuild-runner.ts';
import { ReaderKey } from '../../cdk/constructs/jit-config-parameters.ts';
import { READER_TAG } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import type { Synthesized } from '../cdk/synth-helpers.ts';
import { ACCOUNT, type ContextKeys, type Decision, PARTITION, REGION, type TemplateIam } from './iam-simulation.ts';

/**
 * The runners of a synthesized stack as the IAM matrix (test/cdk/iam-matrix.test.ts) asks about them:
 * each runner role, and concrete runners of it (an instance or a build with its own ARN, hand-off
 * parameter and log stream) that make requests in their own request context.
 */

export type RunnerKind = 'codebuild' | 'ec2';

/** One runner: a build or an instance of a runner role, and what belongs to it. */
export interface RunnerUnderTest {
  readonly name: string;
  readonly kind: RunnerKind;
  /** The build or instance ARN: the value of its request key and of its hand-off's reader tag. */
  readonly arn: string;
  /** Its hand-off parameter's ARN. */
  readonly handoff: string;
  /** The hand-off of a regular runner (the workaround's registration token) launched beside it. */
  readonly baselineHandoff: string;
  readonly logGroupArn: string;
  /** The log stream its platform writes: `ec2/<instance id>` or `codebuild/<build uuid>`. */
  readonly ownStream: string;
  streamArn(streamName: string): string;
  /** Its request context: the key that carries its ARN on every request it signs. */
  context(): ContextKeys;
  /** Its request context on a parameter tagged with `reader`'s ARN. */
  tagged(reader: RunnerUnderTest): ContextKeys;
  decide(action: string, resource: string, context: ContextKeys): Promise<Decision>;
  can(action: string, resource: string, context: ContextKeys): Promise<boolean>;
  /** kms:Decrypt of the hand-off key for `parameterArn`'s value (identity and key policy), through SSM unless told. */
  canDecrypt(parameterArn: string, options?: { viaService?: boolean }): Promise<boolean>;
}

export interface RunnerRoleUnderTest {
  readonly kind: RunnerKind;
  readonly roleId: string;
  instance(label: string): RunnerUnderTest;
}

/**
 * Rows that ran through `runUnsafeSimulation`: a CodeBuild runner's rows of the actions whose statements
 * read `codebuild:buildArn`, and every kms:Decrypt row (`kms:EncryptionContext:PARAMETER_ARN`).
 */
export const unsafeRows = new Set<string>();

const hex = (label: string, length: number) =>
  [...label.toLowerCase()]
    .map((c) => c.charCodeAt(0).toString(16))
    .join('')
    .padEnd(length, '0')
    .slice(0, length);

/** The runner roles of a stack, in pool order. */
export function runnersOf(s: Synthesized, iam: TemplateIam): RunnerRoleUnderTest[] {
  const deployment = s.stack.runners;
  const prefix = deployment.handOff.prefix;
  const idOf = (construct: { node: { defaultChild?: unknown } }) =>
    s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const [keyId] = iam.idsOfType('AWS::KMS::Key');
  if (!keyId) throw new Error('no KMS key in the template');
  const keyArn = iam.arnOf(keyId);
  // The unvalidated engine loads a resource policy without a name unless it comes as a validated
  // policy (iam-policy's `ValidatedPolicy` shape), and then fails reading the name.
  const namedKeyPolicy = {
    __validated: true,
    policyDocument: iam.resolve(s.json.Resources[keyId]?.Properties.KeyPolicy),
    metadata: { name: keyId },
  };
  const parameterArn = (name: string) => `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

  return deployment.runners.map((pool, poolIndex) => {
    const kind: RunnerKind = pool.launcher instanceof CodeBuildRunner ? 'codebuild' : 'ec2';
    const roleId = idOf(pool.launcher.runnerRole as never);
    const role = iam.role(roleId);
    // The actions of the statements that name the build key: only a row of one of those needs the key
    // (and so the unvalidated engine); any other row is the same request without it, validated.
    const keyed = new Set(
      role.policies.flatMap((p) =>
        ((p.policy as { Statement: { Action: string | string[]; Condition?: unknown }[] }).Statement ?? [])
          .filter((st) => JSON.stringify(st.Condition ?? {}).includes(ReaderKey.build))
          .flatMap((st) => [st.Action].flat()),
      ),
    );
    const logGroup = iam.refOf(idOf(pool.logGroup as never));
    const logGroupArn = `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${logGroup}`;
    const project = pool.launcher instanceof CodeBuildRunner ? iam.refOf(idOf(pool.launcher.project)) : '';

    const instance = (label: string): RunnerUnderTest => {
      const id = `${poolIndex}${hex(label, 16)}`;
      const uuid = `${hex(label, 8)}-0000-4000-8000-${id.slice(0, 12).padEnd(12, '0')}`;
      const arn =
        kind === 'ec2'
          ? `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-${id}`
          : `arn:${PARTITION}:codebuild:${REGION}:${ACCOUNT}:build/${project}:${uuid}`;
      const readerKey = kind === 'ec2' ? ReaderKey.instance : ReaderKey.build;
      const context = (): ContextKeys => ({ [readerKey]: arn });
      const streamArn = (stream: string) => `${logGroupArn}:log-stream:${stream}`;
      const row = (action: string, resource: string) => `${kind} ${label}: ${action} ${resource}`;
      const decide = (action: string, resource: string, ctx: ContextKeys) => {
        // The simulator's data lists codebuild:buildArn for CodeBuild's actions only, so its validated
        // mode refuses the key on any other request: the rows whose statements name it run unvalidated,
        // and are recorded; every other row runs validated, without the key it does not read.
        if (!(ReaderKey.build in ctx)) return role.decide(action, resource, ctx);
        if (!keyed.has(action)) {
          const { [ReaderKey.build]: _unread, ...rest } = ctx;
          return role.decide(action, resource, rest);
        }
        unsafeRows.add(row(action, resource));
        return role.decide(action, resource, ctx, { unsafe: true });
      };
      const runner: RunnerUnderTest = {
        name: label,
        kind,
        arn,
        handoff: parameterArn(`${prefix}/jr-${poolIndex}${label.charCodeAt(0)}-1-${hex(label, 32)}`),
        baselineHandoff: parameterArn(`${prefix}/jr-baseline-octo-repo-${hex(label, 4)}-${hex(`${label}b`, 32)}`),
        logGroupArn,
        ownStream: streamArn(kind === 'ec2' ? `ec2/i-${id}` : `codebuild/${uuid}`),
        streamArn,
        context,
        tagged: (reader) => ({ ...context(), [`aws:ResourceTag/${READER_TAG}`]: reader.arn }),
        decide,
        can: async (action, resource, ctx) => (await decide(action, resource, ctx)) === 'Allowed',
        canDecrypt: async (parameter, options = {}) => {
          const ctx: ContextKeys = {
            ...context(),
            'kms:EncryptionContext:PARAMETER_ARN': parameter,
            ...(options.viaService === false ? {} : { 'kms:ViaService': `ssm.${REGION}.amazonaws.com` }),
          };
          // Always unvalidated: the simulator's validation keeps a variable condition key only when its
          // variable follows a "/" (`aws:ResourceTag/…`), so it would drop `kms:EncryptionContext:PARAMETER_ARN`
          // and the row would pass for nothing.
          unsafeRows.add(row('kms:Decrypt', parameter));
          return (
            (await role.decide('kms:Decrypt', keyArn, ctx, { unsafe: true, resourcePolicy: namedKeyPolicy })) ===
            'Allowed'
          );
        },
      };
      return runner;
    };
    return { kind, roleId, instance };
  });
}
