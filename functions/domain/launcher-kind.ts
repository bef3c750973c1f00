/** Where runners run: a local process, a CodeBuild build, or an EC2 instance. */
export const LauncherKind = { local: 'local', codebuild: 'codebuild', ec2: 'ec2' } as const;
export type LauncherKind = (typeof LauncherKind)[keyof typeof LauncherKind];
