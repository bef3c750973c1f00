/**
 * The package's entry point for CDK apps: `import { JitRunners } from 'jit-runners'`. Deploy-time code
 * only (the functions' own code ships prebuilt in dist/lambda); cdk-nag is not part of it.
 */
export type { CodeBuildRunner } from './constructs/codebuild-runner.ts';
export type { Ec2Runner } from './constructs/ec2-runner.ts';
export type { HandlerFunction, LauncherSet } from './constructs/handler-function.ts';
export type { PoolAlarm, PoolAlarmKind } from './constructs/monitoring.ts';
export type { RunnerLauncherResources } from './constructs/runner-launcher.ts';
export {
  type DeployableSettingsInput,
  type DeploymentConfig,
  DeploymentConfigError,
  type DeploymentConfigInput,
  type StackOnlyInput,
} from './deployment-config.ts';
export {
  ENVIRONMENT_BUDGET_BYTES,
  JitRunners,
  type JitRunnersProps,
  METRICS_NAMESPACE_ENV,
  type PoolRunners,
  RUNNER_POOLS_PARAMETER_ENV,
} from './jit-runners.ts';
export { JitRunnersStack, type JitRunnersStackProps } from './jit-runners-stack.ts';
export type {
  CodeBuildPoolOptions,
  CuratedCodeBuildImage,
  Ec2PoolOptions,
  EcrCodeBuildImage,
  JitRunnersPool,
  JitRunnersPoolAlarms,
  PoolAlarmThresholds,
  ResolvedPool,
} from './pool-props.ts';
export { poolsFromJson } from './pool-props.ts';
