import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Launcher } from '../adapters/ec2/ec2-launcher.ts';
import type { JitConfigHandoff } from '../adapters/ssm/jit-config-handoff.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import type { PoolPlatform } from './pool-launcher.ts';

/**
 * The EC2 launchers of the Lambda functions, one per ec2 pool over one client; only bundles built for a
 * deployment with an ec2 pool carry this module (lambda-launcher.ts).
 */
export function ec2Launchers(
  handoff: JitConfigHandoff,
): (platform: Extract<PoolPlatform, { kind: 'ec2' }>) => RunnerLauncher {
  let client: EC2Client | undefined;
  return (platform) => {
    client ??= new EC2Client({});
    return new Ec2Launcher({
      client,
      handoff,
      launchTemplateId: platform.launchTemplateId,
      subnetIds: platform.subnetIds,
      instanceTypes: platform.instanceTypes,
      useSpot: platform.spot,
      // The fleet tag's value is the launch template id: unique per pool and stack, and what the IAM
      // condition on TerminateInstances names (cdk/constructs/ec2-runner.ts, TerminateOwnRunners).
      fleet: platform.launchTemplateId,
      pool: platform.pool,
    });
  };
}
