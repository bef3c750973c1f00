import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HANDOFF_LIFETIME_MS, JitConfigHandoff } from '../../../functions/adapters/ssm/jit-config-handoff.ts';
import { LaunchConfigError, LaunchTransientError } from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';

const ssm = mockClient(SSMClient);
const NOW = Date.UTC(2026, 0, 1, 12);
const READER = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc';
const handoff = (nameKey = 'functions-only key') =>
  new JitConfigHandoff({
    client: new SSMClient({ region: 'eu-west-1' }),
    prefix: '/jr/jit/',
    nameKey,
    clock: { now: () => NOW },
  });

describe('JitConfigHandoff', () => {
  beforeEach(() => ssm.reset());

  it('plans an unguessable name per runner: the same for the same runner and key, another otherwise', () => {
    const name = handoff().plan('jr-42-1');
    expect(name).toMatch(/^\/jr\/jit\/jr-42-1-[0-9a-f]{32}$/);
    expect(handoff().plan('jr-42-1')).toBe(name);
    expect(handoff().plan('jr-42-2')).not.toBe(name);
    expect(handoff('another key').plan('jr-42-1')).not.toBe(name);
    expect(handoff().owns(name)).toBe(true);
    expect(handoff().owns('/jr/jit/jr-42-1')).toBe(false);
    expect(handoff().owns('/elsewhere/jr-42-1-0123456789abcdef0123456789abcdef')).toBe(false);
  });

  it('writes an advanced SecureString that expires, tagged with its one reader at creation, never overwriting', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const name = handoff().plan('jr-42-1');
    await handoff().write(name, 'ENCODED-JIT', READER, 'jr-42-1');
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: name,
        Value: 'ENCODED-JIT',
        Type: 'SecureString',
        Tier: 'Advanced',
        Policies: JSON.stringify([
          {
            Type: 'Expiration',
            Version: '1.0',
            Attributes: { Timestamp: new Date(NOW + HANDOFF_LIFETIME_MS).toISOString() },
          },
        ]),
        Tags: [
          { Key: 'jit-runners:reader', Value: READER },
          { Key: 'jit-runners:runner', Value: 'jr-42-1' },
        ],
        Description: 'jit-runners hand-off: one runner reads it; the functions delete it',
      },
    ]);
    expect(HANDOFF_LIFETIME_MS).toBe(15 * 60_000);
  });

  it('encrypts with the given KMS key', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const h = new JitConfigHandoff({ client: new SSMClient({}), prefix: '/p', kmsKeyId: 'key-1', nameKey: 'k' });
    await h.write(h.plan('jr-1-1'), 'x', READER, 'jr-1-1');
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.KeyId).toBe('key-1');
  });

  it('takes ParameterAlreadyExists as written (a retried launch of the same runner)', async () => {
    ssm.on(PutParameterCommand).rejects(awsError('ParameterAlreadyExists'));
    await expect(handoff().write(handoff().plan('jr-42-1'), 'ENCODED-JIT', READER, 'jr-42-1')).resolves.toBeUndefined();
  });

  it('translates failed writes without the secret in the message, unknown codes included', async () => {
    for (const [code, type] of [
      ['ThrottlingException', LaunchTransientError],
      ['AccessDeniedException', LaunchConfigError],
      ['NewKindOfException', LaunchTransientError],
    ] as const) {
      ssm.reset();
      ssm.on(PutParameterCommand).rejects(awsError(code, 'Rate exceeded for ENCODED-JIT'));
      const error = await handoff()
        .write(handoff().plan('jr-42-1'), 'ENCODED-JIT', READER, 'jr-42-1')
        .catch((e: unknown) => e);
      expect(error, code).toBeInstanceOf(type);
      expect(String((error as Error).message)).not.toContain('ENCODED-JIT');
    }
  });

  it('refuses runner names that cannot be part of a parameter name, and names it did not plan', async () => {
    expect(() => handoff().plan('bad name/..')).toThrow(LaunchConfigError);
    await expect(handoff().write('/jr/jit/other', 'x', READER, 'other')).rejects.toBeInstanceOf(LaunchConfigError);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('deletes a runner’s hand-off by its planned name and treats an already deleted one as success', async () => {
    ssm.on(DeleteParameterCommand).rejectsOnce(awsError('ParameterNotFound')).resolves({});
    await handoff().dropFor('jr-42-1');
    await handoff().dropFor('jr-42-1');
    const name = handoff().plan('jr-42-1');
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: name },
      { Name: name },
    ]);
  });

  it('sweeps only hand-offs older than the given age, in batches of ten, without reading values', async () => {
    const old = Array.from({ length: 12 }, (_, i) => ({
      Name: `/jr/jit/jr-${i}-1-0123456789abcdef0123456789abcdef`,
      LastModifiedDate: new Date(NOW - 3_600_000),
    }));
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: old.slice(0, 7), NextToken: 't2' })
      .resolvesOnce({
        Parameters: [...old.slice(7), { Name: '/jr/jit/fresh', LastModifiedDate: new Date(NOW - 1000) }],
      });
    ssm.on(DeleteParametersCommand).resolves({});
    expect(await handoff().sweep(NOW, 600_000)).toBe(12);
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
