import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EnvName } from '../../config/env-names.ts';
import { ConfigError } from '../../domain/errors.ts';
import { awsErrorInfo } from '../aws/aws-error.ts';

/** Codes that mean the deployment is wrong (no such parameter, no permission), not that AWS is busy. */
const DEPLOYMENT_MISTAKES = new Set([
  'ParameterNotFound',
  'ParameterVersionNotFound',
  'AccessDeniedException',
  'AccessDenied',
  'InvalidKeyId',
  'ValidationException',
]);

/**
 * Reads the pool list the stack stored in the SSM String parameter `RUNNER_POOLS_PARAMETER` names (a
 * list too long for Lambda's 4 KB environment). Called once per cold start by the Lambda composition.
 * A missing parameter or permission is a {@link ConfigError} naming the variable and the parameter;
 * anything else (throttling, network) is rethrown, so the cold start fails and the next invocation
 * reads again. `client`: the function's SSM client; without one, a client is made for this read.
 */
export async function readRunnerPoolsParameter(name: string, client: SSMClient = new SSMClient({})): Promise<string> {
  let value: string | undefined;
  try {
    const out = await client.send(new GetParameterCommand({ Name: name }));
    value = out.Parameter?.Value;
  } catch (error) {
    const { code } = awsErrorInfo(error);
    if (DEPLOYMENT_MISTAKES.has(code)) {
      throw new ConfigError(
        EnvName.runnerPoolsParameter,
        `cannot read ${name} (${code}); check the parameter exists and the function role may ssm:GetParameter it`,
      );
    }
    throw error;
  }
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(EnvName.runnerPoolsParameter, `${name} has no value; it should hold the pool list (JSON)`);
  }
  return value;
}
