import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { configFromContext, DeploymentConfigError } from './deployment-config.ts';
import { JitRunnersStack } from './jit-runners-stack.ts';
import { addPolicyChecks } from './nag.ts';
import { type JitRunnersPool, poolsFromJson } from './pool-props.ts';

/**
 * `npx cdk synth|deploy [-c stackName=JitRunners] [-c appId=123] [-c launcher=ec2 ...]`, and runner pools
 * with `-c poolsFile=pools.json` (a JSON file) or `-c pools='[…]'` (JSON text). No lookups: synth works
 * offline without AWS credentials (account/region come from the deploy environment).
 */
function poolsFromContext(app: App): JitRunnersPool[] | undefined {
  const inline = app.node.tryGetContext('pools') as unknown;
  const file = app.node.tryGetContext('poolsFile') as unknown;
  if (inline !== undefined && file !== undefined) {
    throw new DeploymentConfigError('poolsFile', 'give the pools either as -c pools=… or -c poolsFile=…, not both');
  }
  if (inline !== undefined) return poolsFromJson(inline, 'pools');
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(String(file), 'utf8');
  } catch (error) {
    throw new DeploymentConfigError('poolsFile', `cannot read ${String(file)} (${(error as Error).message})`);
  }
  return poolsFromJson(text, 'poolsFile');
}

const app = new App();
try {
  const stackName = String(app.node.tryGetContext('stackName') ?? 'JitRunners');
  const pools = poolsFromContext(app);
  new JitRunnersStack(app, stackName, {
    stackName,
    description: 'jit-runners: ephemeral just-in-time GitHub Actions runners',
    config: configFromContext((key) => app.node.tryGetContext(key)),
    ...(pools === undefined ? {} : { pools }),
  });
} catch (error) {
  if (error instanceof DeploymentConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
addPolicyChecks(app);
app.synth();
