import type { Config } from '../../functions/config/config.ts';

/** The configuration the provisioner specs run with: the defaults of docs/design.md "Configuration", one repository scope. */
export function provisionConfig(fallbackVersion: string | undefined) {
  return {
    runner: {
      scope: 'repo' as const,
      labels: ['self-hosted', 'linux', 'x64'],
      groupId: 7,
      version: '2.330.0',
      fallbackVersion,
      versionFloor: '2.329.0',
      namePrefix: 'jr',
    },
    limits: {
      maxAttemptsPerJob: 3,
      maxTheftsPerJob: 10,
      maxWorkaroundsPerScope: 3,
      maxHealsPerJob: 10,
      breakerFailureThreshold: 3,
      breakerMaxBackoffSeconds: 30,
    },
    baselinePolicy: 'on-error' as const,
    // What parseConfig makes of the same variables without RUNNER_POOLS: one pool `default`.
    pools: [
      {
        name: 'default',
        labels: ['self-hosted', 'linux', 'x64'],
        launcher: 'local' as const,
        runnerVersion: '2.330.0',
      },
    ],
  } satisfies Pick<Config, 'runner' | 'limits' | 'baselinePolicy' | 'pools'>;
}
