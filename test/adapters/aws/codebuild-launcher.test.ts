import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  type StartBuildCommandInput,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { idempotencyToken } from '../../../functions/adapters/aws/idempotency-token.ts';
import { CodeBuildLauncher } from '../../../functions/adapters/codebuild/codebuild-launcher.ts';
import { JitConfigHandoff } from '../../../functions/adapters/ssm/jit-config-handoff.ts';
import {
  LaunchCapacityError,
  LaunchConfigError,
  type LaunchRequest,
  LaunchTransientError,
} from '../../../functions/ports/launcher.ts';
import { awsError } from './aws-errors.ts';

const codebuild = mockClient(CodeBuildClient);
const ssm = mockClient(SSMClient);
const NOW = Date.UTC(2026, 2, 1, 12);

const launcher = () =>
  new CodeBuildLauncher({
    client: new CodeBuildClient({ region: 'eu-west-1' }),
    handoff: new JitConfigHandoff({
      client: new SSMClient({ region: 'eu-west-1' }),
      prefix: '/jr/jit',
      nameKey: 'functions-only key',
      clock: { now: () => NOW },
    }),
    projectName: 'jr-runners',
    clock: { now: () => NOW },
    maxBuildAgeMs: 3_600_000,
  });

const request: LaunchRequest = {
  runnerName: 'jr-42-1',
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/repo',
  labels: ['self-hosted', 'linux', 'x64'],
  runnerVersion: '2.330.0',
  encodedJitConfig: 'SECRET-JIT-CONFIG',
};

const BUILD_ARN = 'arn:aws:codebuild:eu-west-1:111122223333:build/jr-runners:b1';
const HANDOFF = /^\/jr\/jit\/jr-42-1-[0-9a-f]{32}$/;
/** Every command sent to either client, in order: the hand-off must follow the launch. */
let sent: string[] = [];

const envOf = (input: StartBuildCommandInput | undefined) =>
  Object.fromEntries((input?.environmentVariablesOverride ?? []).map((v) => [v.name, v.value]));

/** StartBuild answers like CodeBuild: the build with the environment it was started with. */
function startBuildAnswers(id = 'jr-runners:b1', arn = BUILD_ARN) {
  codebuild.on(StartBuildCommand).callsFake((input: { environmentVariablesOverride?: unknown[] }) => {
    sent.push('StartBuild');
    return { build: { id, arn, environment: { environmentVariables: input.environmentVariablesOverride } } };
  });
}

describe('CodeBuildLauncher', () => {
  beforeEach(() => {
    codebuild.reset();
    ssm.reset();
    sent = [];
    ssm.on(PutParameterCommand).callsFake(() => {
      sent.push('PutParameter');
      return { Version: 1 };
    });
    codebuild.on(StopBuildCommand).callsFake(() => {
      sent.push('StopBuild');
      return {};
    });
  });

  it('starts the build first, with only an unguessable parameter name in its environment, then writes the hand-off tagged with the build ARN', async () => {
    startBuildAnswers();
    const launch = await launcher().launch(request);
    expect(launch).toEqual({ launchId: 'jr-runners:b1' });
    expect(sent).toEqual(['StartBuild', 'PutParameter']);
    const start = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(start).toMatchObject({ projectName: 'jr-runners', idempotencyToken: idempotencyToken('jr-42-1') });
    const env = envOf(start);
    expect(env).toEqual({
      JR_MODE: 'jit',
      JR_PARAMETER: expect.stringMatching(HANDOFF),
      JR_RUNNER_NAME: 'jr-42-1',
      JR_RUNNER_VERSION: '2.330.0',
    });
    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put).toEqual({
      Name: env.JR_PARAMETER,
      Value: 'SECRET-JIT-CONFIG',
      Type: 'SecureString',
      Tier: 'Advanced',
      Policies: JSON.stringify([
        { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: new Date(NOW + 15 * 60_000).toISOString() } },
      ]),
      Tags: [
        { Key: 'jit-runners:reader', Value: BUILD_ARN },
        { Key: 'jit-runners:runner', Value: 'jr-42-1' },
      ],
      Description: 'jit-runners hand-off: one runner reads it; the functions delete it',
    });
    expect(put).not.toHaveProperty('Overwrite');
    expect(JSON.stringify(start)).not.toContain('SECRET-JIT-CONFIG');
  });

  it("passes the adopted version's tarball digests as JR_RUNNER_SHA256_X64 / _ARM64, never in the hand-off", async () => {
    startBuildAnswers();
    const x64 = 'a'.repeat(64);
    const arm64 = 'b'.repeat(64);
    await launcher().launch({
      ...request,
      runnerVersion: '2.331.0',
      runnerSha256: { 'linux-x64': x64, 'linux-arm64': arm64 },
    });
    const start = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(start?.environmentVariablesOverride).toEqual([
      { name: 'JR_MODE', value: 'jit', type: 'PLAINTEXT' },
      { name: 'JR_PARAMETER', value: expect.stringMatching(HANDOFF), type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_NAME', value: 'jr-42-1', type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_VERSION', value: '2.331.0', type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_SHA256_X64', value: x64, type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_SHA256_ARM64', value: arm64, type: 'PLAINTEXT' },
    ]);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe('SECRET-JIT-CONFIG');
  });

  it('passes only the digests it has (an arm64 digest missing from the release notes stays unset)', async () => {
    startBuildAnswers();
    await launcher().launch({ ...request, runnerSha256: { 'linux-x64': 'c'.repeat(64) } });
    const env = envOf(codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input);
    expect(env.JR_RUNNER_SHA256_X64).toBe('c'.repeat(64));
    expect(env).not.toHaveProperty('JR_RUNNER_SHA256_ARM64');
  });

  it('encrypts with the given KMS key', async () => {
    startBuildAnswers();
    const withKey = new CodeBuildLauncher({
      client: new CodeBuildClient({ region: 'eu-west-1' }),
      handoff: new JitConfigHandoff({
        client: new SSMClient({ region: 'eu-west-1' }),
        prefix: '/jr/jit',
        kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
        nameKey: 'functions-only key',
        clock: { now: () => NOW },
      }),
      projectName: 'jr-runners',
    });
    await withKey.launch(request);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.KeyId).toBe(
      'arn:aws:kms:eu-west-1:111122223333:key/k1',
    );
  });

  it("names each runner's hand-off with a keyed suffix: the same on a retry, another per runner and per key", async () => {
    startBuildAnswers();
    const other = new CodeBuildLauncher({
      client: new CodeBuildClient({ region: 'eu-west-1' }),
      handoff: new JitConfigHandoff({
        client: new SSMClient({ region: 'eu-west-1' }),
        prefix: '/jr/jit',
        nameKey: 'another key',
      }),
      projectName: 'jr-runners',
    });
    await launcher().launch(request);
    await launcher().launch(request);
    await launcher().launch({ ...request, runnerName: 'jr-42-2', attempt: 2 });
    await other.launch(request);
    const [a, again, b, keyed] = codebuild
      .commandCalls(StartBuildCommand)
      .map((c) => envOf(c.args[0].input).JR_PARAMETER);
    // A retry repeats the first call exactly, so StartBuild's idempotency token returns the first build.
    expect(again).toBe(a);
    expect(b).not.toBe(a);
    expect(b).toMatch(/^\/jr\/jit\/jr-42-2-[0-9a-f]{32}$/);
    expect(keyed).not.toBe(a);
  });

  it('writes the name the build was told when a retried StartBuild returns the first build, and takes ParameterAlreadyExists as written', async () => {
    // The first try: StartBuild succeeded and the hand-off was written, but the answer was lost.
    const first = '/jr/jit/jr-42-1-0123456789abcdef0123456789abcdef';
    codebuild.on(StartBuildCommand).callsFake(() => {
      sent.push('StartBuild');
      return {
        build: {
          id: 'jr-runners:b1',
          arn: BUILD_ARN,
          environment: { environmentVariables: [{ name: 'JR_PARAMETER', value: first, type: 'PLAINTEXT' }] },
        },
      };
    });
    ssm.on(PutParameterCommand).callsFake(() => {
      sent.push('PutParameter');
      throw awsError('ParameterAlreadyExists');
    });
    expect(await launcher().launch(request)).toEqual({ launchId: 'jr-runners:b1' });
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name)).toEqual([first]);
    expect(sent).toEqual(['StartBuild', 'PutParameter']);
  });

  it('derives the same idempotency token when the same runner is launched again, and a new one per runner', async () => {
    startBuildAnswers();
    await launcher().launch(request);
    await launcher().launch(request);
    await launcher().launch({ ...request, runnerName: 'jr-42-2', attempt: 2 });
    const tokens = codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input.idempotencyToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('starts a regular runner with url and labels, the registration token only in its hand-off', async () => {
    startBuildAnswers('jr-runners:b2', 'arn:aws:codebuild:eu-west-1:111122223333:build/jr-runners:b2');
    await launcher().launchRegular({
      runnerName: 'jr-baseline-octo-repo-ab12',
      scopeKey: 'octo/repo',
      url: 'https://github.com/octo/repo',
      registrationToken: 'SECRET-REG-TOKEN',
      labels: ['jit-runners-baseline-ab12'],
      runnerVersion: '2.330.0',
    });
    expect(sent).toEqual(['StartBuild', 'PutParameter']);
    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put?.Value).toBe('SECRET-REG-TOKEN');
    expect(put?.Tags).toEqual([
      { Key: 'jit-runners:reader', Value: 'arn:aws:codebuild:eu-west-1:111122223333:build/jr-runners:b2' },
      { Key: 'jit-runners:runner', Value: 'jr-baseline-octo-repo-ab12' },
    ]);
    const input = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(envOf(input)).toEqual({
      JR_MODE: 'regular',
      JR_PARAMETER: expect.stringMatching(/^\/jr\/jit\/jr-baseline-octo-repo-ab12-[0-9a-f]{32}$/),
      JR_RUNNER_NAME: 'jr-baseline-octo-repo-ab12',
      JR_RUNNER_VERSION: '2.330.0',
      JR_URL: 'https://github.com/octo/repo',
      JR_LABELS: 'jit-runners-baseline-ab12',
    });
    expect(put?.Name).toBe(envOf(input).JR_PARAMETER);
    expect(JSON.stringify(input)).not.toContain('SECRET-REG-TOKEN');
  });

  it.each([
    ['ThrottlingException', LaunchTransientError],
    ['AccountLimitExceededException', LaunchCapacityError],
    ['AccessDeniedException', LaunchConfigError],
    ['ResourceNotFoundException', LaunchConfigError],
  ])('translates StartBuild %s and writes no hand-off', async (code, type) => {
    codebuild.on(StartBuildCommand).rejects(awsError(code));
    await expect(launcher().launch(request)).rejects.toBeInstanceOf(type);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it.each([
    ['AccessDeniedException', LaunchConfigError],
    ['ThrottlingException', LaunchTransientError],
    ['SomethingNewException', LaunchTransientError],
  ])(
    'stops the build when the hand-off cannot be written after it (%s), so no runner waits for it',
    async (code, type) => {
      startBuildAnswers();
      ssm.on(PutParameterCommand).callsFake(() => {
        sent.push('PutParameter');
        throw awsError(code, 'echoing SECRET-JIT-CONFIG');
      });
      const error = await launcher()
        .launch(request)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(String((error as Error).message)).not.toContain('SECRET-JIT-CONFIG');
      expect(sent).toEqual(['StartBuild', 'PutParameter', 'StopBuild']);
      expect(codebuild.commandCalls(StopBuildCommand)[0]?.args[0].input).toEqual({ id: 'jr-runners:b1' });
    },
  );

  it("deletes the runner's hand-off by its name, and takes one already gone as deleted", async () => {
    startBuildAnswers();
    await launcher().launch(request);
    const name = envOf(codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input).JR_PARAMETER;
    ssm.on(DeleteParameterCommand).resolvesOnce({}).rejectsOnce(awsError('ParameterNotFound'));
    await launcher().dropHandoff('jr-42-1');
    await launcher().dropHandoff('jr-42-1');
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: name },
      { Name: name },
    ]);
    ssm.on(DeleteParameterCommand).rejects(awsError('AccessDeniedException'));
    await expect(launcher().dropHandoff('jr-42-1')).rejects.toBeInstanceOf(LaunchConfigError);
  });

  it('stops a build with StopBuild and treats a vanished build as stopped', async () => {
    codebuild.on(StopBuildCommand).resolvesOnce({}).rejectsOnce(awsError('ResourceNotFoundException'));
    await launcher().stop('jr-runners:b1');
    await launcher().stop('jr-runners:gone');
    expect(codebuild.commandCalls(StopBuildCommand).map((c) => c.args[0].input)).toEqual([
      { id: 'jr-runners:b1' },
      { id: 'jr-runners:gone' },
    ]);
    codebuild.on(StopBuildCommand).rejects(awsError('ThrottlingException'));
    await expect(launcher().stop('jr-runners:b1')).rejects.toBeInstanceOf(LaunchTransientError);
  });

  it('lists in-progress builds newest first and stops paging past the maximum build age', async () => {
    const env = (name: string) => ({
      type: 'LINUX_CONTAINER' as const,
      image: 'img',
      computeType: 'BUILD_GENERAL1_SMALL' as const,
      environmentVariables: [{ name: 'JR_RUNNER_NAME', value: name }],
    });
    codebuild
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: ['p:1', 'p:2'], nextToken: 'n2' })
      .resolvesOnce({ ids: ['p:3'], nextToken: 'n3' });
    codebuild
      .on(BatchGetBuildsCommand)
      .resolvesOnce({
        builds: [
          { id: 'p:1', buildStatus: 'IN_PROGRESS', startTime: new Date(NOW - 60_000), environment: env('jr-1-1') },
          { id: 'p:2', buildStatus: 'SUCCEEDED', startTime: new Date(NOW - 120_000), environment: env('jr-2-1') },
        ],
      })
      .resolvesOnce({
        builds: [
          { id: 'p:3', buildStatus: 'IN_PROGRESS', startTime: new Date(NOW - 7_200_000), environment: env('jr-3-1') },
        ],
      });
    const active = await launcher().listActive();
    expect(active).toEqual([
      { launchId: 'p:1', runnerName: 'jr-1-1', startedAt: NOW - 60_000 },
      { launchId: 'p:3', runnerName: 'jr-3-1', startedAt: NOW - 7_200_000 },
    ]);
    const lists = codebuild.commandCalls(ListBuildsForProjectCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { projectName: 'jr-runners', sortOrder: 'DESCENDING' },
      { projectName: 'jr-runners', sortOrder: 'DESCENDING', nextToken: 'n2' },
    ]);
    expect(codebuild.commandCalls(BatchGetBuildsCommand).map((c) => c.args[0].input)).toEqual([
      { ids: ['p:1', 'p:2'] },
      { ids: ['p:3'] },
    ]);
  });
});
