import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { JitConfigHandoff } from '../../../functions/adapters/ssm/jit-config-handoff.ts';
import { LaunchConfigError, LaunchTransientError } from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';

const ssm = mockClient(SSMClient);
const handoff = () => new JitConfigHandoff({ client: new SSMClient({ region: 'eu-west-1' }), prefix: '/jr/jit/' });

describe('JitConfigHandoff', () => {
  beforeEach(() => ssm.reset());

  it('stores the secret as an overwritable SecureString under prefix/runnerName and returns the name', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const name = await handoff().put('jr-42-1', 'ENCODED-JIT');
    expect(name).toBe('/jr/jit/jr-42-1');
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: '/jr/jit/jr-42-1',
        Value: 'ENCODED-JIT',
        Type: 'SecureString',
        Overwrite: true,
        Tier: 'Intelligent-Tiering',
        Description: 'jit-runners hand-off; deleted by the runner after reading',
      },
    ]);
  });

  it('uses the given KMS key', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const h = new JitConfigHandoff({ client: new SSMClient({}), prefix: '/p', kmsKeyId: 'alias/runner' });
    await h.put('jr-1-1', 'x');
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.KeyId).toBe('alias/runner');
  });

  it('translates a throttled put into a transient launch error without the secret in the message', async () => {
    ssm.on(PutParameterCommand).rejects(awsError('ThrottlingException', 'Rate exceeded for ENCODED-JIT'));
    const error = await handoff()
      .put('jr-42-1', 'ENCODED-JIT')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchTransientError);
    expect(String((error as Error).message)).not.toContain('ENCODED-JIT');
  });

  it('refuses runner names that cannot be part of a parameter name', async () => {
    await expect(handoff().put('bad name/..', 'x')).rejects.toBeInstanceOf(LaunchConfigError);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('deletes the parameter and treats an already deleted one as success', async () => {
    ssm.on(DeleteParameterCommand).rejectsOnce(awsError('ParameterNotFound')).resolves({});
    await handoff().delete('jr-42-1');
    await handoff().delete('jr-42-1');
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: '/jr/jit/jr-42-1' },
      { Name: '/jr/jit/jr-42-1' },
    ]);
  });

  it('sweeps only hand-offs older than the given age, in batches of ten, without reading values', async () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const old = Array.from({ length: 12 }, (_, i) => ({
      Name: `/jr/jit/jr-${i}-1`,
      LastModifiedDate: new Date(now - 3_600_000),
    }));
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: old.slice(0, 7), NextToken: 't2' })
      .resolvesOnce({
        Parameters: [...old.slice(7), { Name: '/jr/jit/fresh', LastModifiedDate: new Date(now - 1000) }],
      });
    ssm.on(DeleteParametersCommand).resolves({});
    expect(await handoff().sweep(now, 600_000)).toBe(12);
    const describes = ssm.commandCalls(DescribeParametersCommand).map((c) => c.args[0].input);
    expect(describes[0]).toEqual({
      ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: ['/jr/jit'] }],
      MaxResults: 50,
    });
    expect(describes[1]?.NextToken).toBe('t2');
    const deletes = ssm.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names);
    expect(deletes).toEqual([old.slice(0, 10).map((p) => p.Name), old.slice(10).map((p) => p.Name)]);
  });
});
