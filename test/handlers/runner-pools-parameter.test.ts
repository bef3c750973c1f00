import { generateKeyPairSync } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readRunnerPoolsParameter } from '../../functions/adapters/ssm/runner-pools-parameter.ts';
import { loadLambdaConfig } from '../../functions/composition/lambda-config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { awsError } from '../adapters/aws/aws-errors.ts';

const ssm = mockClient(SSMClient);
const client = () => new SSMClient({ region: 'eu-west-1' });
const PARAMETER = '/JitRunners/runner-pools';
const POOLS = [
  {
    name: 'x64',
    labels: ['self-hosted', 'linux', 'x64'],
    launcher: 'codebuild',
    codebuild: { projectName: 'JitRunners-x64' },
  },
  {
    name: 'arm64',
    labels: ['self-hosted', 'linux', 'arm64'],
    launcher: 'ec2',
    ec2: { launchTemplateId: 'lt-0123456789abcdef0', instanceTypes: ['m7g.large'], subnetIds: [], spot: true },
  },
];
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** A Lambda environment as the stack writes it for a long pool list (the key inline, so no secret read). */
const env = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIATESTPOOLS',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: 'pools-parameter-webhook-secret',
  LAUNCHER: 'codebuild',
  PROVISIONER_FUNCTION_NAME: 'JitRunners-provisioner',
  TABLE_NAME: 'jit-runners-pools-parameter',
  JIT_CONFIG_PARAMETER_PREFIX: '/JitRunners/jit-config',
  RUNNER_POOLS_PARAMETER: PARAMETER,
};

beforeEach(() => {
  ssm.reset();
  ssm.on(GetParameterCommand, { Name: PARAMETER }).resolves({ Parameter: { Value: JSON.stringify(POOLS) } });
});

describe('readRunnerPoolsParameter', () => {
  it('reads the String parameter by name', async () => {
    expect(await readRunnerPoolsParameter(PARAMETER, client())).toBe(JSON.stringify(POOLS));
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER }]);
  });

  it.each(['ParameterNotFound', 'AccessDeniedException'])(
    'turns %s into a ConfigError naming the variable and the parameter',
    async (code) => {
      ssm.on(GetParameterCommand).rejects(awsError(code));
      const error = await readRunnerPoolsParameter(PARAMETER, client()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('RUNNER_POOLS_PARAMETER');
      expect((error as Error).message).toBe(
        `RUNNER_POOLS_PARAMETER: cannot read ${PARAMETER} (${code}); check the parameter exists and the function role may ssm:GetParameter it`,
      );
    },
  );

  it('rethrows throttling, so the cold start fails and the next invocation reads again', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('ThrottlingException'));
    await expect(readRunnerPoolsParameter(PARAMETER, client())).rejects.toThrow(/ThrottlingException/);
  });

  it('refuses a parameter without a value', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: ' ' } });
    await expect(readRunnerPoolsParameter(PARAMETER, client())).rejects.toThrow(
      `RUNNER_POOLS_PARAMETER: ${PARAMETER} has no value; it should hold the pool list (JSON)`,
    );
  });
});

describe('loadLambdaConfig', () => {
  it('reads the pool list from the parameter and parses it as RUNNER_POOLS', async () => {
    const config = await loadLambdaConfig(env, client);
    expect(config.pools.map((p) => [p.name, p.launcher, p.codebuild ?? p.ec2])).toEqual([
      ['x64', 'codebuild', { projectName: 'JitRunners-x64' }],
      ['arm64', 'ec2', POOLS[1]?.ec2],
    ]);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('reads nothing without the parameter', async () => {
    const inline = { ...env, RUNNER_POOLS_PARAMETER: '', RUNNER_POOLS: JSON.stringify(POOLS) };
    expect((await loadLambdaConfig(inline, client)).pools.map((p) => p.name)).toEqual(['x64', 'arm64']);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it('refuses RUNNER_POOLS beside it without reading the parameter', async () => {
    await expect(loadLambdaConfig({ ...env, RUNNER_POOLS: JSON.stringify(POOLS) }, client)).rejects.toThrow(
      /^RUNNER_POOLS_PARAMETER: set either RUNNER_POOLS or RUNNER_POOLS_PARAMETER, not both/,
    );
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });
});

describe('handlers with the pool list in SSM', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, env);
  });
  afterAll(() => {
    process.env = saved;
  });

  it('read the parameter once per cold start: runner-events, two invocations', async () => {
    const { handler } = await import('../../functions/handlers/runner-events.ts');
    // Malformed events: dropped after the cold start, before any store or launcher call.
    expect(await handler({ hello: 'one' })).toEqual({ signals: 0, acted: 0, unknown: 0, dropped: 1 });
    expect(await handler({ hello: 'two' })).toEqual({ signals: 0, acted: 0, unknown: 0, dropped: 1 });
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER }]);
  });

  it('read the parameter once per cold start: webhook, two deliveries', async () => {
    const { handler } = await import('../../functions/handlers/webhook.ts');
    const delivery = {
      rawPath: '/',
      headers: { 'x-github-event': 'workflow_job', 'x-hub-signature-256': 'sha256=00' },
      body: '{}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    } as unknown as Parameters<typeof handler>[0];
    // 401: the app started (the signature is what fails); a cold start that failed would answer 500.
    for (const _ of [1, 2]) expect(await handler(delivery)).toMatchObject({ statusCode: 401 });
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER }]);
  });
});
