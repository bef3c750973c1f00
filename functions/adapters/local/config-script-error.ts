import { LauncherError } from '../../ports/launcher.ts';

/**
 * `config.sh` exited non-zero while registering the workaround's regular runner. `output` is the tail of
 * what it printed with the registration token removed. Neither transient nor config on its own: GitHub
 * answers both a bad token and an outage through it, so callers treat it as a failed attempt.
 */
export class ConfigScriptError extends LauncherError {
  constructor(
    readonly runnerName: string,
    readonly exitCode: number | null,
    readonly exitSignal: string | null,
    readonly output: string,
  ) {
    const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${exitSignal ?? 'a signal'}`;
    super(`config.sh for runner ${runnerName} ${how}${output ? `:\n${output}` : ' without output'}`);
  }
}
