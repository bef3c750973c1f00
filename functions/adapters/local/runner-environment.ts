import { LaunchConfigError } from '../../ports/launcher.ts';

/** Used when the parent has no PATH (e.g. started by a bare supervisor). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Names the launcher sets itself or that must never reach a runner (docs/design.md "Local mode"). */
const FORBIDDEN_EXTRA_NAME = [
  /^AWS_/i,
  /^ACTIONS_RUNNER_INPUT_/i,
  /^GITHUB_APP_/i,
  /^GITHUB_WEBHOOK_/i,
  /TOKEN|SECRET|PASSWORD|PRIVATE_KEY|CREDENTIAL/i,
] as const;

/**
 * Checks the launcher's `env` option once, at construction: extra variables are for settings such as
 * RUNNER_VERSION or a proxy, never credentials. Only the variable's name goes in the message.
 */
export function assertSafeExtraEnvironment(extra: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(extra)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new LaunchConfigError(`local launcher env: invalid variable name ${JSON.stringify(name)}`);
    }
    if (FORBIDDEN_EXTRA_NAME.some((pattern) => pattern.test(name))) {
      throw new LaunchConfigError(`local launcher env: ${name} must not be passed to runner processes`);
    }
  }
}

export interface RunnerEnvironmentInput {
  /** The runner's own copy: its HOME, so nothing is read from or written to the server user's home. */
  home: string;
  tmpDir: string;
  runnerVersion: string;
  /** The server's environment: only PATH and LANG are read from it. */
  parent: Readonly<Record<string, string | undefined>>;
  extra?: Readonly<Record<string, string>>;
  /** Per-launch secrets (ACTIONS_RUNNER_INPUT_JITCONFIG); set last so nothing can override them. */
  secrets?: Readonly<Record<string, string>>;
}

/**
 * The whole environment of a runner process: built from an allow-list, never by copying and deleting,
 * so a secret added to the server's environment later can never leak into a runner.
 */
export function runnerEnvironment(input: RunnerEnvironmentInput): Record<string, string> {
  return {
    PATH: input.parent.PATH || DEFAULT_PATH,
    HOME: input.home,
    LANG: input.parent.LANG || 'C.UTF-8',
    TMPDIR: input.tmpDir,
    // The real runner refuses to start as root without it; the local launcher often runs as root in containers.
    RUNNER_ALLOW_RUNASROOT: '1',
    ...input.extra,
    RUNNER_VERSION: input.runnerVersion,
    ...input.secrets,
  };
}
