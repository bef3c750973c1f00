import type { RunnerTarballDigests } from '../../ports/launcher.ts';

/**
 * The names `runner/bootstrap.sh` reads: environment variables on CodeBuild (build overrides) and
 * instance tags on EC2 (read through IMDSv2 instance-metadata tags). None of them is a secret: the JIT
 * config or registration token stays in SSM and only the parameter NAME travels.
 */
export const RunnerEnv = {
  /** `jit` (the JIT config's files written, then run.sh) or `regular` (config.sh then run.sh, the metadata workaround). */
  mode: 'JR_MODE',
  /** SSM SecureString parameter name holding the JIT config (jit) or the registration token (regular). */
  parameter: 'JR_PARAMETER',
  runnerName: 'JR_RUNNER_NAME',
  runnerVersion: 'JR_RUNNER_VERSION',
  /**
   * SHA-256 of the linux-x64 / linux-arm64 tarball of `JR_RUNNER_VERSION`, set when the version came from the
   * version record (an adopted release); the bootstrap uses the one of its architecture instead of its
   * checksum table.
   */
  runnerSha256X64: 'JR_RUNNER_SHA256_X64',
  runnerSha256Arm64: 'JR_RUNNER_SHA256_ARM64',
  /**
   * The fleet's tarball cache bucket: the bootstrap copies `runner-tarballs/<tarball>` from it before
   * trying github.com. Not per launch: the CDK construct sets it on the project (CodeBuild) or in the
   * user data (EC2).
   */
  runnerCacheBucket: 'JR_RUNNER_CACHE_BUCKET',
  /**
   * Warm runners (ports/warm-launcher.ts): the name the runner was booted under, set on a warm boot only.
   * It stays on the build or instance after its hand-off (EC2 then carries the job's runner name in
   * `JR_RUNNER_NAME`), so a retried boot finds it and housekeeping can tell warm-booted runners apart.
   */
  warmName: 'JR_WARM_NAME',
  /**
   * Warm runners: the non-secret flag that the runner is warm, and its bound. The bootstrap prepares
   * everything, then waits this many seconds for its hand-off (`JR_PARAMETER`, planned from the warm name)
   * and exits without registering when none came.
   */
  warmIdleSeconds: 'JR_WARM_IDLE_SECONDS',
  /** Regular mode: `config.sh --url`. */
  url: 'JR_URL',
  /** Regular mode: `config.sh --labels` (comma list). */
  labels: 'JR_LABELS',
} as const;
export type RunnerEnv = (typeof RunnerEnv)[keyof typeof RunnerEnv];

export const RunnerMode = { jit: 'jit', regular: 'regular' } as const;
export type RunnerMode = (typeof RunnerMode)[keyof typeof RunnerMode];

/** Tag marking EC2 instances launched by one fleet; its value is the fleet name. */
export const FLEET_TAG = 'jit-runners:fleet';

/** The digest variables (or tags) for a launch's handed tarball digests, in a fixed order; none when absent. */
export function runnerDigestEntries(digests: RunnerTarballDigests | undefined): [RunnerEnv, string][] {
  const out: [RunnerEnv, string][] = [];
  const x64 = digests?.['linux-x64'];
  const arm64 = digests?.['linux-arm64'];
  if (x64 !== undefined) out.push([RunnerEnv.runnerSha256X64, x64]);
  if (arm64 !== undefined) out.push([RunnerEnv.runnerSha256Arm64, arm64]);
  return out;
}
