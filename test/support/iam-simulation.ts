import {
  type EvaluationResult,
  runSimulation,
  runUnsafeSimulation,
  type Simulation,
  type SimulationIdentityPolicy,
} from '@cloud-copilot/iam-simulate';

/**
 * IAM claims about a synthesized template, evaluated offline by @cloud-copilot/iam-simulate: the
 * identity policies attached to a role are read from the template, every CloudFormation reference in
 * them is resolved the way CloudFormation would resolve it in one fixed account and region, and a
 * request (action, resource ARN, context keys) is evaluated against them.
 *
 * ```ts
 * const iam = templateIam(template.toJSON());
 * const webhook = iam.role(logicalIdOfTheWebhookRole);
 * expect(await webhook.decide('dynamodb:DeleteItem', iam.arnOf(tableId), { 'dynamodb:LeadingKeys': ['JOB#1'] }))
 *   .toBe('ImplicitlyDenied');
 * ```
 */

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

/** The parts of a synthesized template this helper reads. */
export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Parameters?: Record<string, unknown>;
}

export type Decision = EvaluationResult;
export type ContextKeys = Record<string, string | string[]>;

export interface SimulateOptions {
  /**
   * Skip the simulator's validation of actions, ARNs and context keys (`runUnsafeSimulation`). Only for
   * keys its data does not know (e.g. `codebuild:buildArn`); a test that uses it should say so.
   */
  unsafe?: boolean;
  /** A resource policy of the target (a KMS key policy, a bucket policy), already resolved. */
  resourcePolicy?: unknown;
  /** The account owning the resource; default {@link ACCOUNT}. */
  resourceAccount?: string;
}

/** One role of the template, its identity policies resolved. */
export interface SimulatedRole {
  readonly logicalId: string;
  readonly arn: string;
  readonly policies: SimulationIdentityPolicy[];
  /** Allowed / ImplicitlyDenied / ExplicitlyDenied; throws when the simulator refuses the request as invalid. */
  decide(action: string, resource: string, context?: ContextKeys, options?: SimulateOptions): Promise<Decision>;
  /** Shorthand: `decide(...) === 'Allowed'`. */
  can(action: string, resource: string, context?: ContextKeys, options?: SimulateOptions): Promise<boolean>;
}

export interface TemplateIam {
  /** Resolves any template value (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, pseudo parameters). */
  resolve(value: unknown): unknown;
  /** The ARN of a resource (`Fn::GetAtt [id, Arn]`, or the ARN its Ref names for secrets). */
  arnOf(logicalId: string): string;
  /** The physical id or name `Ref` yields for a resource. */
  refOf(logicalId: string): string;
  role(logicalId: string): SimulatedRole;
  /** Logical ids of the resources of a type, e.g. `AWS::IAM::Role`. */
  idsOfType(type: string): string[];
}

const short = (logicalId: string) =>
  logicalId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 17)
    .padEnd(17, '0');

/**
 * Resolves template values and simulates requests of the template's roles. References resolve to
 * fixed, recognisable values: a resource's `Ref` is its name property when it has one (TableName,
 * FunctionName, …), else an id derived from its logical id (`lt-…`, `sg-…`, …).
 */
export function templateIam(json: TemplateJson, overrides: Record<string, string> = {}): TemplateIam {
  const resources = json.Resources;
  const resourceOf = (id: string) => {
    const r = resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  };

  function refOf(id: string): string {
    if (overrides[id] !== undefined) return overrides[id];
    const pseudo: Record<string, string> = {
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': REGION,
      'AWS::Partition': PARTITION,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'SimulatedStack',
      'AWS::NoValue': '',
    };
    if (pseudo[id] !== undefined) return pseudo[id];
    if (json.Parameters?.[id] !== undefined) return `parameter-${id}`;
    const r = resourceOf(id);
    const p = r.Properties ?? {};
    const named = (key: string) => (p[key] === undefined ? undefined : String(resolve(p[key])));
    switch (r.Type) {
      case 'AWS::DynamoDB::Table':
        return named('TableName') ?? `table-${id}`;
      case 'AWS::Lambda::Function':
        return named('FunctionName') ?? `function-${id}`;
      case 'AWS::IAM::Role':
        return named('RoleName') ?? `role-${id}`;
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName') ?? `/log-group/${id}`;
      case 'AWS::SSM::Parameter':
        return named('Name') ?? `/parameter/${id}`;
      case 'AWS::CodeBuild::Project':
        return named('Name') ?? `project-${id}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${named('QueueName') ?? id}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
      case 'AWS::EC2::LaunchTemplate':
        return `lt-${short(id)}`;
      case 'AWS::EC2::SecurityGroup':
        return `sg-${short(id)}`;
      case 'AWS::KMS::Key':
        return `key-${short(id)}`;
      case 'AWS::SNS::Topic':
        return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${named('TopicName') ?? id}`;
      case 'AWS::S3::Bucket':
        return named('BucketName') ?? `bucket-${short(id)}`;
      default:
        return `${id}-physical`;
    }
  }

  function getAtt(id: string, attribute: string): string {
    const key = `${id}.${attribute}`;
    if (overrides[key] !== undefined) return overrides[key];
    const r = resourceOf(id);
    const ref = refOf(id);
    const arn = (service: string, resource: string, region = REGION) =>
      `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${resource}`;
    if (attribute === 'Arn') {
      switch (r.Type) {
        case 'AWS::DynamoDB::Table':
          return arn('dynamodb', `table/${ref}`);
        case 'AWS::Lambda::Function':
          return arn('lambda', `function:${ref}`);
        case 'AWS::IAM::Role':
          return `arn:${PARTITION}:iam::${ACCOUNT}:role/${ref}`;
        case 'AWS::Logs::LogGroup':
          return arn('logs', `log-group:${ref}:*`);
        case 'AWS::CodeBuild::Project':
          return arn('codebuild', `project/${ref}`);
        case 'AWS::SQS::Queue':
          return arn('sqs', ref.split('/').pop() ?? id);
        case 'AWS::KMS::Key':
          return arn('kms', `key/${ref}`);
        case 'AWS::SecretsManager::Secret':
          return ref;
        case 'AWS::S3::Bucket':
          return `arn:${PARTITION}:s3:::${ref}`;
        default:
          return arn('unknown', `${r.Type}/${id}`);
      }
    }
    if (r.Type === 'AWS::EC2::LaunchTemplate' && attribute === 'LaunchTemplateId') return ref;
    if (r.Type === 'AWS::EC2::SecurityGroup' && attribute === 'GroupId') return ref;
    if (r.Type === 'AWS::KMS::Key' && attribute === 'KeyId') return ref;
    if (r.Type === 'AWS::SQS::Queue' && attribute === 'QueueName') return ref.split('/').pop() ?? id;
    if (r.Type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return ref;
    return `${id}.${attribute}`;
  }

  function sub(template: string, variables: Record<string, unknown>): string {
    return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (variables[name] !== undefined) return String(resolve(variables[name]));
      const [id, attribute] = name.split('.');
      return attribute === undefined ? refOf(name) : getAtt(id as string, attribute);
    });
  }

  function resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [[fn, arg]] = entries as [[string, unknown]];
      switch (fn) {
        case 'Ref':
          return refOf(String(arg));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return getAtt(String(id), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Sub':
          return Array.isArray(arg)
            ? sub(String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>)
            : sub(String(arg), {});
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (resolve(list) as unknown[])[Number(resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return String(resolve(text)).split(separator);
        }
      }
      if (fn.startsWith('Fn::')) throw new Error(`iam-simulation: cannot resolve ${fn}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  }

  /** The identity policies of a role: inline `Policies`, AWS::IAM::Policy and customer managed policies naming it. */
  function policiesOf(roleId: string): SimulationIdentityPolicy[] {
    const role = resourceOf(roleId);
    if (role.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is a ${role.Type}, not a role`);
    const namesRole = (roles: unknown) =>
      Array.isArray(roles) && roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }));
    const inline = ((role.Properties?.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>).map(
      (p) => ({ name: `${roleId}/${p.PolicyName}`, policy: resolve(p.PolicyDocument) }),
    );
    const attached = Object.entries(resources)
      .filter(
        ([, r]) =>
          (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && namesRole(r.Properties?.Roles),
      )
      .map(([id, r]) => ({ name: id, policy: resolve(r.Properties?.PolicyDocument) }));
    const managedArns = (resolve(role.Properties?.ManagedPolicyArns ?? []) as string[]).filter(Boolean);
    const managedInTemplate = Object.entries(resources)
      .filter(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && managedArns.includes(refOf(id)))
      .map(([id, r]) => ({ name: id, policy: resolve(r.Properties?.PolicyDocument) }));
    return [...inline, ...attached, ...managedInTemplate];
  }

  function role(logicalId: string): SimulatedRole {
    const arn = getAtt(logicalId, 'Arn');
    const policies = policiesOf(logicalId);
    const decide = async (
      action: string,
      resource: string,
      context: ContextKeys = {},
      options: SimulateOptions = {},
    ): Promise<Decision> => {
      const simulation: Simulation = {
        request: {
          principal: arn,
          action,
          resource: { resource, accountId: options.resourceAccount ?? ACCOUNT },
          contextVariables: context,
        },
        identityPolicies: policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(options.resourcePolicy === undefined ? {} : { resourcePolicy: options.resourcePolicy }),
      };
      if (options.unsafe) return runUnsafeSimulation(simulation, {});
      const result = await runSimulation(simulation, {});
      if (result.resultType === 'error') {
        throw new Error(
          `iam-simulation: ${action} on ${resource} is not a valid request: ${JSON.stringify(result.errors)}`,
        );
      }
      if (result.resultType !== 'single') {
        throw new Error(`iam-simulation: ${resource} is a pattern; simulate one concrete ARN`);
      }
      // A context key the simulator dropped as inapplicable would make a "denied" row pass for nothing.
      const ignored = result.result.ignoredContextKeys ?? [];
      if (ignored.length > 0) {
        throw new Error(`iam-simulation: ${action} on ${resource} ignores the context keys ${ignored.join(', ')}`);
      }
      return result.overallResult;
    };
    return {
      logicalId,
      arn,
      policies,
      decide,
      can: async (action, resource, context, options) =>
        (await decide(action, resource, context, options)) === 'Allowed',
    };
  }

  return {
    resolve,
    refOf,
    arnOf: (id) => {
      const r = resourceOf(id);
      return r.Type === 'AWS::SecretsManager::Secret' ? refOf(id) : getAtt(id, 'Arn');
    },
    role,
    idsOfType: (type) =>
      Object.entries(resources)
        .filter(([, r]) => r.Type === type)
        .map(([id]) => id),
  };
}
