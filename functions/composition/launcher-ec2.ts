import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Launcher } from '../adapters/ec2/ec2-launcher.ts';
import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { Config } from '../config/config.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';

/** The EC2 launcher of the Lambda functions; only bundles built for `LAUNCHER=ec2` carry it. */
export function createEc2Launcher(config: Config, handoff: JitConfigHandoff): RunnerLauncher {
  const launchTemplateId = config.aws.ec2LaunchTemplateId ?? '';
  return new Ec2Launcher({
    client: new EC2Client({}),
    handoff,
    launchTemplateId,
    subnetIds: config.aws.ec2SubnetIds,
    ...(config.aws.ec2InstanceType ? { instanceType: config.aws.ec2InstanceType } : {}),
    useSpot: config.aws.ec2UseSpot,
    // The fleet tag's value is the launch template id: unique per stack and known to the IAM condition.
    fleet: launchTemplateId,
  });
}
