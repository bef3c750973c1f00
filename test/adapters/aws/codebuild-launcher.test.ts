import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
  StartBuildCommand,
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
    handoff: new JitConfigHandoff({ client: new SSMClient({ region: 'eu-west-1' }), prefix: '/jr/jit' }),
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

describe('CodeBuildLauncher', () => {
  beforeEach(() => {
    codebuild.reset();
    ssm.reset();
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ssm.on(DeleteParameterCommand).resolves({});
  });

  it('hands the JIT config over in SSM and starts one build with only the parameter name in its environment', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'jr-runners:b1' } });
    const launch = await launcher().launch(request);
    expect(launch).toEqual({ launchId: 'jr-runners:b1' });
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: '/jr/jit/jr-42-1',
      Value: 'SECRET-JIT-CONFIG',
      Type: 'SecureString',
    });
    const starts = codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input);
    expect(starts).toEqual([
      {
        projectName: 'jr-runners',
        idempotencyToken: idempotencyToken('jr-42-1'),
        environmentVariablesOverride: [
          { name: 'JR_MODE', value: 'jit', type: 'PLAINTEXT' },
          { name: 'JR_PARAMETER', value: '/jr/jit/jr-42-1', type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_NAME', value: 'jr-42-1', type: 'PLAINTEXT' },
          { name: 'JR_RUNNER_VERSION', value: '2.330.0', type: 'PLAINTEXT' },
        ],
      },
    ]);
    expect(JSON.stringify(starts)).not.toContain('SECRET-JIT-CONFIG');
  });

  it('derives the same idempotency token when the same runner is launched again, and a new one per runner', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'jr-runners:b1' } });
    await launcher().launch(request);
    await launcher().launch(request);
    await launcher().launch({ ...request, runnerName: 'jr-42-2', attempt: 2 });
    const tokens = codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input.idempotencyToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('starts a regular runner with url and labels, the registration token only in SSM', async () => {
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'jr-runners:b2' } });
    await launcher().launchRegular({
      runnerName: 'jr-baseline-octo-repo-ab12',
      scopeKey: 'octo/repo',
      url: 'https://github.com/octo/repo',
      registrationToken: 'SECRET-REG-TOKEN',
      labels: ['jit-runners-baseline-ab12'],
      runnerVersion: '2.330.0',
    });
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe('SECRET-REG-TOKEN');
    const input = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(input?.environmentVariablesOverride).toEqual([
      { name: 'JR_MODE', value: 'regular', type: 'PLAINTEXT' },
      { name: 'JR_PARAMETER', value: '/jr/jit/jr-baseline-octo-repo-ab12', type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_NAME', value: 'jr-baseline-octo-repo-ab12', type: 'PLAINTEXT' },
      { name: 'JR_RUNNER_VERSION', value: '2.330.0', type: 'PLAINTEXT' },
      { name: 'JR_URL', value: 'https://github.com/octo/repo', type: 'PLAINTEXT' },
      { name: 'JR_LABELS', value: 'jit-runners-baseline-ab12', type: 'PLAINTEXT' },
    ]);
    expect(JSON.stringify(input)).not.toContain('SECRET-REG-TOKEN');
  });

  it.each([
    ['ThrottlingException', LaunchTransientError],
    ['AccountLimitExceededException', LaunchCapacityError],
    ['AccessDeniedException', LaunchConfigError],
    ['ResourceNotFoundException', LaunchConfigError],
  ])('translates StartBuild %s', async (code, type) => {
    codebuild.on(StartBuildCommand).rejects(awsError(code));
    await expect(launcher().launch(request)).rejects.toBeInstanceOf(type);
  });

  it('removes the hand-off when the build cannot start, but keeps it after a transient error', async () => {
    codebuild.on(StartBuildCommand).rejectsOnce(awsError('AccessDeniedException'));
    await launcher()
      .launch(request)
      .catch(() => undefined);
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: '/jr/jit/jr-42-1' }]);

    ssm.resetHistory();
    codebuild.on(StartBuildCommand).rejectsOnce(awsError('ThrottlingException'));
    await launcher()
      .launch(request)
      .catch(() => undefined);
    expect(ssm.commandCalls(DeleteParameterCommand)).toHaveLength(0);
  });

  it('does not start a build when the hand-off fails', async () => {
    ssm.on(PutParameterCommand).rejects(awsError('AccessDeniedException'));
    await expect(launcher().launch(request)).rejects.toBeInstanceOf(LaunchConfigError);
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(0);
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
