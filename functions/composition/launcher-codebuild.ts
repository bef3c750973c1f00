import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeBuildLauncher } from '../adapters/codebuild/codebuild-launcher.ts';
import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { Config } from '../config/config.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';

/** The CodeBuild launcher of the Lambda functions; only bundles built for `LAUNCHER=codebuild` carry it. */
export function createCodeBuildLauncher(config: Config, handoff: JitConfigHandoff): RunnerLauncher {
  return new CodeBuildLauncher({
    client: new CodeBuildClient({}),
    handoff,
    projectName: config.aws.codebuildProjectName ?? '',
  });
}
