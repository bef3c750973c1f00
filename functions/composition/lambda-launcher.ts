import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { Config } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { ConfigError } from '../domain/errors.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import { createCodeBuildLauncher } from './launcher-codebuild.ts';
import { createEc2Launcher } from './launcher-ec2.ts';

/** The launchers a Lambda bundle can be built for. */
export type BundledLauncher = 'codebuild' | 'ec2';

declare global {
  /**
   * The launcher this bundle carries: a constant the stack's esbuild `define` puts in its place
   * (`launcherDefine` in cdk/constructs/handler-function.ts), never a variable read at run time.
   * Undefined when the sources run unbundled (tests, tsx): then both launchers can be loaded.
   */
  var JR_BUNDLED_LAUNCHER: BundledLauncher | undefined;
}

/**
 * The configured launcher (`LAUNCHER`) of a Lambda function. Why each test starts with
 * `globalThis.JR_BUNDLED_LAUNCHER`: in a bundle it is a constant, esbuild folds the test to `false` for
 * the other launcher, drops that branch, and tree-shakes the launcher module it called together with its
 * client, so a CodeBuild deployment ships no EC2 client (550 KB) and an EC2 one no CodeBuild client.
 * (Static imports on purpose: with `import()` esbuild kept more of the EC2 client, measured 1,592 KB
 * against 1,293.)
 * A bundle whose launcher is not the configured one fails its cold start with a ConfigError.
 */
export async function createLambdaLauncher(config: Config, handoff: JitConfigHandoff): Promise<RunnerLauncher> {
  if (globalThis.JR_BUNDLED_LAUNCHER !== 'ec2' && config.launcher === 'codebuild') {
    return createCodeBuildLauncher(config, handoff);
  }
  if (globalThis.JR_BUNDLED_LAUNCHER !== 'codebuild' && config.launcher === 'ec2') {
    return createEc2Launcher(config, handoff);
  }
  if (config.launcher === 'local') {
    throw new ConfigError(
      EnvName.launcher,
      'must be codebuild or ec2 in AWS (the local launcher runs processes on this machine)',
    );
  }
  throw new ConfigError(
    EnvName.launcher,
    `is ${config.launcher}, but this function was bundled for ${String(globalThis.JR_BUNDLED_LAUNCHER)}: deploy the stack with that launcher`,
  );
}
