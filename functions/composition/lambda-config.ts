import type { SSMClient } from '@aws-sdk/client-ssm';
import { readRunnerPoolsParameter } from '../adapters/ssm/runner-pools-parameter.ts';
import { type Config, parseConfig } from '../config/config.ts';
import { EnvName } from '../config/env-names.ts';
import { SETTINGS } from '../config/settings.ts';

/**
 * The configuration of a Lambda function, once per cold start: `parseConfig(env, 'lambda')`, after
 * reading the pool list from SSM when the stack put it there (`RUNNER_POOLS_PARAMETER`: the list did not
 * fit the 4 KB environment). The parameter's value is parsed exactly as `RUNNER_POOLS`. Nothing is read
 * when the variable is unset or invalid, or when a pool list is also set: `parseConfig` then reports
 * that with its usual one line. `ssm`: the function's SSM client, if it has one; else one is made.
 */
export async function loadLambdaConfig(
  env: Readonly<Record<string, string | undefined>>,
  ssm?: () => SSMClient,
): Promise<Config> {
  const parameter = SETTINGS.runnerPoolsParameter.schema.safeParse(env[EnvName.runnerPoolsParameter]);
  const name = parameter.success ? parameter.data : undefined;
  const listSet = [EnvName.runnerPools, EnvName.runnerPoolsFile].some((v) => (env[v] ?? '').trim() !== '');
  if (name === undefined || listSet) return parseConfig({ env }, 'lambda');
  const runnerPoolsParameterValue = await readRunnerPoolsParameter(name, ssm?.());
  return parseConfig({ env, runnerPoolsParameterValue }, 'lambda');
}
