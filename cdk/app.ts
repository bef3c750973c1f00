import { App } from 'aws-cdk-lib';
import { configFromContext, DeploymentConfigError } from './deployment-config.ts';
import { JitRunnersStack } from './jit-runners-stack.ts';
import { addNagChecks } from './nag.ts';

/**
 * `npx cdk synth|deploy [-c stackName=JitRunners] [-c appId=123] [-c launcher=ec2 ...]`. No lookups:
 * synth works offline without AWS credentials (account/region come from the deploy environment).
 */
const app = new App();
try {
  const stackName = String(app.node.tryGetContext('stackName') ?? 'JitRunners');
  new JitRunnersStack(app, stackName, {
    stackName,
    description: 'jit-runners: ephemeral just-in-time GitHub Actions runners',
    config: configFromContext((key) => app.node.tryGetContext(key)),
  });
} catch (error) {
  if (error instanceof DeploymentConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
addNagChecks(app);
app.synth();
