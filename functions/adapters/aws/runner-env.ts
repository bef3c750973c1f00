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
