import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../config/config.ts';
import { UsageError } from './cli-args.ts';
import type { FleetClient } from './fleet-client.ts';
import { createLocalFleetClient } from './local-fleet-client.ts';

/** The options every operator command takes: where it talks to, and how it prints. */
export const TARGET_OPTIONS = {
  json: { type: 'boolean' },
  stack: { type: 'string' },
  region: { type: 'string' },
} as const;

export const TARGET_USAGE = `  --json            print the view as JSON (stable field names, ISO 8601 times)
  --stack NAME      a deployed stack instead of the local server, with your AWS credentials (the
                    standard chain: AWS_PROFILE, SSO, environment); reads go to its table, actions
                    through its functions
  --region R        the stack's region (default: AWS_REGION or the profile's)`;

/** Checks `--stack`/`--region` before anything reads the configuration or the network. */
export function checkTarget(command: string, values: Record<string, string | boolean | undefined>): void {
  const { stack, region } = values;
  if (typeof stack === 'string' && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stack))
    throw new UsageError(`${command}: --stack: expected a CloudFormation stack name, got '${stack}'`);
  if (typeof region === 'string' && typeof stack !== 'string')
    throw new UsageError(`${command}: --region needs --stack NAME`);
  if (typeof region === 'string' && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    throw new UsageError(`${command}: --region: expected an AWS region such as eu-west-1, got '${region}'`);
}

/**
 * The composition of the operator CLI: a deployed stack's client with `--stack` (its AWS SDK clients loaded
 * only then), else the local server's on `PORT` from this machine's configuration.
 */
export async function openFleetClient(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FleetClient> {
  if (typeof values.stack === 'string') {
    const { createAwsFleetClient } = await import('./aws-fleet-client.ts');
    return createAwsFleetClient({
      stack: values.stack,
      ...(typeof values.region === 'string' ? { region: values.region } : {}),
    });
  }
  const config = parseConfig({ env, readFile: (p) => readFileSync(p, 'utf8'), parseYaml }, 'local');
  return createLocalFleetClient({
    port: config.local.port,
    baselineOnlineSeconds: config.timeouts.baselineOnlineSeconds,
  });
}
