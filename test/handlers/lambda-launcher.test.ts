import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeBuildLauncher } from '../../functions/adapters/codebuild/codebuild-launcher.ts';
import { Ec2Launcher } from '../../functions/adapters/ec2/ec2-launcher.ts';
import { JitConfigHandoff } from '../../functions/adapters/ssm/jit-config-handoff.ts';
import { createLambdaLauncher } from '../../functions/composition/lambda-launcher.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';

const handoff = new JitConfigHandoff({
  client: new SSMClient({ region: 'eu-west-1' }),
  prefix: '/JitRunners/jit-config',
  nameKey: 'functions-only key',
});
const config = (launcher: string) =>
  parseConfig(
    {
      env: {
        LAUNCHER: launcher,
        CODEBUILD_PROJECT_NAME: 'JitRunners-runner',
        EC2_LAUNCH_TEMPLATE_ID: 'lt-0123456789abcdef0',
        EC2_SUBNET_IDS: 'subnet-a,subnet-b',
      },
    },
    'local',
  );

describe('createLambdaLauncher', () => {
  afterEach(() => {
    // What the stack's esbuild `define` makes a constant; unbundled it is an ordinary global.
    globalThis.JR_BUNDLED_LAUNCHER = undefined;
  });

  it('builds the CodeBuild launcher when LAUNCHER is codebuild', async () => {
    expect(await createLambdaLauncher(config('codebuild'), handoff)).toBeInstanceOf(CodeBuildLauncher);
  });

  it('builds the EC2 launcher when LAUNCHER is ec2', async () => {
    expect(await createLambdaLauncher(config('ec2'), handoff)).toBeInstanceOf(Ec2Launcher);
  });

  it('builds the launcher a bundle was built for', async () => {
    globalThis.JR_BUNDLED_LAUNCHER = 'ec2';
    expect(await createLambdaLauncher(config('ec2'), handoff)).toBeInstanceOf(Ec2Launcher);
    globalThis.JR_BUNDLED_LAUNCHER = 'codebuild';
    expect(await createLambdaLauncher(config('codebuild'), handoff)).toBeInstanceOf(CodeBuildLauncher);
  });

  it('refuses a launcher the bundle was not built for, naming LAUNCHER and the bundled launcher', async () => {
    globalThis.JR_BUNDLED_LAUNCHER = 'codebuild';
    const error = await createLambdaLauncher(config('ec2'), handoff).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('LAUNCHER');
    expect((error as Error).message).toMatch(/is ec2, but this function was bundled for codebuild/);
  });

  it('refuses the local launcher in AWS', async () => {
    await expect(createLambdaLauncher(config('local'), handoff)).rejects.toThrow(/LAUNCHER: must be codebuild or ec2/);
  });
});
