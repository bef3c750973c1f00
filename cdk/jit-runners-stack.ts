import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { AppSecrets } from './constructs/app-secrets.ts';
import type { JitConfigParameters } from './constructs/jit-config-parameters.ts';
import type { Monitoring } from './constructs/monitoring.ts';
import type { RunnerLauncherResources } from './constructs/runner-launcher.ts';
import type { StateTable } from './constructs/state-table.ts';
import type { DeploymentConfig, DeploymentConfigInput } from './deployment-config.ts';
import { JitRunners } from './jit-runners.ts';
import type { JitRunnersPool } from './pool-props.ts';

export { METRICS_NAMESPACE_ENV } from './jit-runners.ts';

export interface JitRunnersStackProps extends StackProps {
  /**
   * Deploy-time configuration; see {@link DeploymentConfigInput} for every property and its default.
   * @default {}
   */
  readonly config?: DeploymentConfigInput;
  /**
   * Runner pools in matching order (see {@link JitRunnersPool}).
   * @default one pool `default` from `config`
   */
  readonly pools?: readonly JitRunnersPool[];
  /**
   * The state table's listing-index projection; `all` only for stacks deployed before keys-only (see StateTable).
   * @default 'keys-only'
   */
  readonly listIndexProjection?: 'keys-only' | 'all';
}

/**
 * The repository's own CDK app deploys this: one stack holding one {@link JitRunners}. The construct's
 * id is `Default`, which CDK leaves out of logical ids, so a stack deployed before the construct existed
 * keeps every logical id (the retained state table above all) instead of replacing its resources.
 */
export class JitRunnersStack extends Stack {
  readonly runners: JitRunners;

  constructor(scope: Construct, id: string, props: JitRunnersStackProps = {}) {
    super(scope, id, props);
    this.runners = new JitRunners(this, 'Default', {
      ...(props.config === undefined ? {} : { config: props.config }),
      ...(props.pools === undefined ? {} : { pools: props.pools }),
      ...(props.listIndexProjection === undefined ? {} : { listIndexProjection: props.listIndexProjection }),
    });
  }

  get config(): DeploymentConfig {
    return this.runners.config;
  }
  get table(): StateTable {
    return this.runners.table;
  }
  get secrets(): AppSecrets {
    return this.runners.secrets;
  }
  get handOff(): JitConfigParameters {
    return this.runners.handOff;
  }
  get runnerLogGroup(): logs.LogGroup {
    return this.runners.runnerLogGroup;
  }
  get launcher(): RunnerLauncherResources {
    return this.runners.launcher;
  }
  get deadLetterQueue(): sqs.Queue {
    return this.runners.deadLetterQueue;
  }
  get functions(): JitRunners['functions'] {
    return this.runners.functions;
  }
  get functionUrl(): lambda.FunctionUrl {
    return this.runners.functionUrl;
  }
  get monitoring(): Monitoring {
    return this.runners.monitoring;
  }
}
