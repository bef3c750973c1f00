import { Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BACKLOG_INDEX, LIST_INDEX } from '../../functions/adapters/dynamodb/table-schema.ts';

export interface OperatorAccessProps {
  readonly table: dynamodb.Table;
  readonly deadLetterQueue: sqs.Queue;
  /** ARNs of the functions the CLI invokes: the admin entry (reconciler) and the provisioner (redrive). */
  readonly adminFunctionArn: string;
  readonly provisionerFunctionArn: string;
}

/**
 * What `jit-runners … --stack NAME` needs, as one customer-managed policy (docs/deploy.md "Operator access"):
 * read this stack's outputs, read the state table (items and the two listing indexes; never write), invoke the
 * admin entry and the provisioner, and peek at, and delete from, the dead-letter queue. Nothing else: no
 * secret, no webhook function, no table write, no launch.
 */
export class OperatorAccess extends Construct {
  readonly policy: iam.ManagedPolicy;
  readonly #statements: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stackArn = stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${stack.stackName}/*`,
    });
    const table = props.table.tableArn;
    this.#statements = [
      new iam.PolicyStatement({
        sid: 'ReadStackOutputs',
        actions: ['cloudformation:DescribeStacks'],
        resources: [stackArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadState',
        // The fleet view reads items (jobs, baselines, breakers, runners, pool slots, the version record) and
        // the listed items back in batches; the indexes project keys only.
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [table],
      }),
      new iam.PolicyStatement({
        sid: 'ListState',
        actions: ['dynamodb:Query'],
        resources: [`${table}/index/${LIST_INDEX.name}`, `${table}/index/${BACKLOG_INDEX.name}`],
      }),
      new iam.PolicyStatement({
        sid: 'AdminAndRedrive',
        // RequestResponse invokes of the admin entry; Event invokes of the provisioner with a dead letter's payload.
        actions: ['lambda:InvokeFunction'],
        resources: [props.adminFunctionArn, props.provisionerFunctionArn],
      }),
      new iam.PolicyStatement({
        sid: 'DeadLetters',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [props.deadLetterQueue.queueArn],
      }),
    ];
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `jit-runners operator CLI for ${stack.stackName}: outputs, table reads, admin and redrive invokes, DLQ`,
      statements: this.#statements,
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${Token.isUnresolved(stack.stackName) ? '<AWS::StackName>' : stack.stackName}/*]`,
      reason:
        'A stack ARN ends in the stack id CloudFormation assigns at creation; the wildcard covers only the ids of this one stack name, for DescribeStacks (read-only).',
    });
  }

  /** Gives an operator identity the policy (attached to a role, user or group; else its statements). */
  grant(grantable: iam.IGrantable): void {
    const principal = grantable.grantPrincipal as Partial<Pick<iam.IRole, 'addManagedPolicy'>>;
    if (typeof principal.addManagedPolicy === 'function') {
      principal.addManagedPolicy(this.policy);
      return;
    }
    for (const statement of this.#statements) grantable.grantPrincipal.addToPrincipalPolicy(statement.copy());
  }
}
