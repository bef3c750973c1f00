import { type Config, parseConfig } from '../../functions/config/config.ts';

/**
 * The configuration the provisioner specs run with: the parsed defaults (docs/design.md "Configuration")
 * with runner group 7, the 2.330.0 pin and, when given, a fallback version; one repository scope.
 */
export function provisionConfig(fallbackVersion: string | undefined): Config {
  return parseConfig({
    env: {
      RUNNER_GROUP_ID: '7',
      RUNNER_VERSION: '2.330.0',
      RUNNER_VERSION_FLOOR: '2.329.0',
      ...(fallbackVersion ? { RUNNER_FALLBACK_VERSION: fallbackVersion } : {}),
    },
  });
}
