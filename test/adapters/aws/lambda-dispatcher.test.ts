import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaDispatcher } from '../../../functions/adapters/lambda/lambda-dispatcher.ts';
import { awsError } from './aws-errors.ts';

const lambda = mockClient(LambdaClient);
const dispatcher = () =>
  new LambdaDispatcher({ client: new LambdaClient({ region: 'eu-west-1' }), functionName: 'prov' });

describe('LambdaDispatcher', () => {
  beforeEach(() => lambda.reset());

  it('invokes the provisioner asynchronously with {"jobId":n}', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await dispatcher().dispatch(4242);
    const inputs = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(1);
    expect(inputs[0]?.FunctionName).toBe('prov');
    expect(inputs[0]?.InvocationType).toBe('Event');
    expect(new TextDecoder().decode(inputs[0]?.Payload as Uint8Array)).toBe('{"jobId":4242}');
  });

  it('hands a job progress to the provisioner asynchronously as {"progress":{...}}', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const progress = {
      action: 'completed' as const,
      jobId: 7,
      owner: 'o',
      repo: 'r',
      scopeKey: 'o/r',
      installationId: 1,
      runnerName: 'elsewhere',
      conclusion: 'success',
      at: 1000,
    };
    await dispatcher().dispatchProgress(progress);
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.InvocationType).toBe('Event');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({ progress });
  });

  it('fails when Lambda does not accept the event', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    await expect(dispatcher().dispatch(1)).rejects.toThrow(/expected 202/);
    lambda.on(InvokeCommand).rejects(awsError('TooManyRequestsException', 'Rate exceeded', 429));
    await expect(dispatcher().dispatch(1)).rejects.toThrow(/Rate exceeded/);
  });
});
