import { buildCore, type CoreOverrides } from '../../functions/composition/build-core.ts';
import type { Config } from '../../functions/config/config.ts';
import type { GitHubPort } from '../../functions/ports/github.ts';
import type { RunnerLauncher } from '../../functions/ports/launcher.ts';
import type { Dispatcher, Logger } from '../../functions/ports/runtime.ts';
import type { JobRepository, Store } from '../../functions/ports/store.ts';
import { silentLogger } from './capture-logger.ts';

export interface TestProvisionerDeps {
  config: Config;
  store: Store;
  github: GitHubPort;
  launcher: RunnerLauncher;
  /** The fake clock. */
  now: () => number;
  owner?: string;
  dispatcher?: Dispatcher;
  /** Replaces the store's job repository (for example one that counts its calls). */
  jobs?: JobRepository;
  /** What the baseline gate's request for the workaround does (default: nothing). */
  requestWorkaround?: CoreOverrides['requestWorkaround'];
  /** Where the core logs (default: nowhere). */
  logger?: Logger;
}

/**
 * The provisioner as every root wires it (composition/build-core.ts), over the specs' fakes: jitter
 * fixed at the midpoint, no token bucket, the workaround request recorded instead of run.
 */
export function testProvisioner(deps: TestProvisionerDeps) {
  return testCore(deps).provisionJob;
}

/** The whole core over the specs' fakes, wired as {@link testProvisioner} wires it. */
export function testCore(deps: TestProvisionerDeps) {
  const store = deps.jobs ? { ...deps.store, jobs: deps.jobs } : deps.store;
  return buildCore({
    config: deps.config,
    store,
    github: deps.github,
    launcher: deps.launcher,
    dispatcher: deps.dispatcher ?? { dispatch: async () => undefined },
    clock: { now: deps.now },
    logger: deps.logger ?? silentLogger,
    metrics: { count() {}, measure() {} },
    owner: deps.owner ?? 'p1',
    webhookSecrets: () => [],
    random: () => 0.5,
    githubRateLimit: false,
    overrides: { requestWorkaround: deps.requestWorkaround ?? (() => undefined) },
  });
}
