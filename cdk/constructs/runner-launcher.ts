import type * as iam from 'aws-cdk-lib/aws-iam';

/** What the stack needs from either runner platform (CodeBuild project or EC2 launch template). */
export interface RunnerLauncherResources {
  readonly kind: 'codebuild' | 'ec2';
  /** Environment for the functions (`CODEBUILD_PROJECT_NAME` or `EC2_*`). */
  readonly environment: Record<string, string>;
  /** The role workflow code runs with: hand-off pick-up and runner logs only. */
  readonly runnerRole: iam.IRole;
  /** Lets a function start, stop and list runners of this platform, and nothing beyond. */
  grantLaunch(grantee: iam.IGrantable): void;
}
