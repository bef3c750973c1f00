import { JitRunnersError } from '../domain/errors.ts';
import type { RunnerPlatform } from '../domain/release-checksums.ts';

export class LauncherError extends JitRunnersError {
  readonly area = 'launcher';
}
/** Throttled or a temporary AWS/local failure: retry later. */
export class LaunchTransientError extends LauncherError {}
/** No capacity (instance limits, concurrent build limit): retry later, maybe elsewhere. */
export class LaunchCapacityError extends LauncherError {}
/** Misconfiguration (access denied, missing project/template): do not retry. */
export class LaunchConfigError extends LauncherError {}

export interface LaunchRequest {
  runnerName: string;
  jobId: number;
  attempt: number;
  scopeKey: string;
  labels: readonly string[];
  runnerVersion: string;
  /**
   * The SHA-256 the runner's tarball must have, per Linux architecture, when `runnerVersion` came from the
   * version record (an adopted release: its digests are the release notes', not `runner/checksums.json`'s).
   * Both architectures travel because the runner, not the functions, knows which machine it is on (the
   * bootstrap picks by `JR_ARCH` or `uname -m`). Absent: the bootstrap's own checksum table decides.
   * Not a secret.
   */
  runnerSha256?: RunnerTarballDigests;
  /**
   * Name of the pool the runner starts in (locally: a fresh copy of that pool's `runnerDir`). Absent: the
   * launcher's own default, as before pools.
   */
  pool?: string;
  /** Secret: handed to the runner out of band, never logged or put in plain env/user data. */
  encodedJitConfig: string;
}

/** Lower-case hex SHA-256 of `actions-runner-<platform>-<version>.tar.gz`, for the platforms the bootstrap runs on. */
export type RunnerTarballDigests = Partial<Record<Extract<RunnerPlatform, 'linux-x64' | 'linux-arm64'>, string>>;

export interface RegularRunnerRequest {
  runnerName: string;
  scopeKey: string;
  /** `config.sh --url` */
  url: string;
  /** Secret registration token for `config.sh --token`. */
  registrationToken: string;
  labels: readonly string[];
  runnerVersion: string;
  /** The pool it starts in, as {@link LaunchRequest.pool}. */
  pool?: string;
}

export interface Launch {
  /** Build id, instance id, or local process id: whatever `stop` needs. */
  launchId: string;
}

export interface LaunchSummary {
  launchId: string;
  runnerName: string;
  startedAt: number;
}

/** Starts and stops ephemeral runners. One adapter per platform (local, codebuild, ec2). */
export interface RunnerLauncher {
  readonly kind: string;
  /**
   * Starts a JIT runner. Must be idempotent per `runnerName` where the platform allows it
   * (CodeBuild idempotencyToken, EC2 ClientToken): a retried launch must not start a second runner.
   */
  launch(request: LaunchRequest): Promise<Launch>;
  /** Starts a regular runner (`config.sh` then `run.sh`) for the metadata workaround. */
  launchRegular(request: RegularRunnerRequest): Promise<Launch>;
  /** Stops a launch; a launch already gone is success. */
  stop(launchId: string): Promise<void>;
  /** Launches still running (for orphan cleanup). */
  listActive(): Promise<LaunchSummary[]>;
  /**
   * Deletes the secret handed to `runnerName` out of band, once the runner has read it (its job is in
   * progress, it is online) or its build/instance ended. Absent for launchers that hand nothing out of
   * band (the local launcher passes the config to the process it starts). A hand-off already gone is
   * success.
   */
  dropHandoff?(runnerName: string): Promise<void>;
}
