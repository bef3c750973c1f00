import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
  type Output,
} from '@aws-sdk/client-cloudformation';

/** The outputs of a jit-runners deployment the operator CLI reads (cdk/jit-runners.ts declares them). */
export const StackOutput = {
  tableName: 'TableName',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  provisionerFunctionName: 'ProvisionerFunctionName',
  adminFunctionName: 'AdminFunctionName',
  webhookUrl: 'WebhookUrl',
} as const;
export type StackOutput = (typeof StackOutput)[keyof typeof StackOutput];

/** The output values by the CLI's names for them (`tableName`, …). */
export type StackOutputs = Record<keyof typeof StackOutput, string>;

/** The stack does not exist in the region (CloudFormation's ValidationError), or has none of our outputs. */
export class StackNotFoundError extends Error {
  constructor(
    readonly stackName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StackNotFoundError';
  }
}

/**
 * The output whose key is `name`, or, for the construct inside another app's stack, `<construct id>` + `name`
 * + CDK's 8-character hash (`RunnersTableName1A2B3C4D`). Two deployments in one stack: the first one listed.
 */
function findOutput(outputs: readonly Output[], name: string): string | undefined {
  const exact = outputs.find((o) => o.OutputKey === name);
  if (exact?.OutputValue) return exact.OutputValue;
  const pattern = new RegExp(`^[A-Za-z0-9]*${name}[0-9A-F]{8}$`);
  return outputs.find((o) => o.OutputKey !== undefined && pattern.test(o.OutputKey))?.OutputValue;
}

/** One DescribeStacks of `stackName`; its jit-runners outputs, or why they are not there. */
export async function readStackOutputs(client: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (e.name === 'ValidationError' && /does not exist/i.test(e.message ?? '')) {
      throw new StackNotFoundError(stackName, `stack ${stackName} does not exist`, { cause: error });
    }
    throw error;
  }
  const stack = stacks.Stacks?.[0];
  if (!stack) throw new StackNotFoundError(stackName, `stack ${stackName} does not exist`);
  const outputs = stack.Outputs ?? [];
  const found: Partial<StackOutputs> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(StackOutput) as [keyof typeof StackOutput, StackOutput][]) {
    const value = findOutput(outputs, name);
    if (value === undefined) missing.push(name);
    else found[key] = value;
  }
  if (missing.length === Object.values(StackOutput).length) {
    throw new StackNotFoundError(
      stackName,
      `stack ${stackName} has no jit-runners outputs (is it a jit-runners stack?)`,
    );
  }
  if (missing.length > 0) {
    throw new StackNotFoundError(
      stackName,
      `stack ${stackName} lacks the output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: deploy this release (npx cdk deploy) to add ${missing.length > 1 ? 'them' : 'it'}`,
    );
  }
  return found as StackOutputs;
}
