import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeBuildLauncher } from '../adapters/codebuild/codebuild-launcher.ts';
import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import type { PoolPlatform } from './pool-launcher.ts';

/**
 * The CodeBuild launchers of the Lambda functions, one per codebuild pool over one client; only bundles
 * built for a deployment with a codebuild pool carry this module (lambda-launcher.ts).
 */
export function codeBuildLaunchers(
  handoff: JitConfigHandoff,
): (platform: Extract<PoolPlatform, { kind: 'codebuild' }>) => RunnerLauncher {
  let client: CodeBuildClient | undefined;
  return (platform) => {
    client ??= new CodeBuildClient({});
    return new CodeBuildLauncher({ client, handoff, projectName: platform.projectName });
  };
}
