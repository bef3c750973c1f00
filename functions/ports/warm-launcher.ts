import type { Launch, LaunchRequest, RunnerLauncher, RunnerTarballDigests } from './launcher.ts';

/**
 * Warm runners (docs/design.md "Warm runners"): a pool may keep runners booted and ready — runner extracted
 * from the verified cache, dependencies in place — that are registered nowhere and hold no credential until
 * a job arrives. The provisioner then mints the job's JIT config as for a cold launch and hands it to one
 * warm runner through the same per-runner hand-off a cold launch uses (only that build or instance can read
 * it). One job per warm runner: after its job it is gone, as every runner is.
 *
 * A launcher that can keep warm runners implements {@link WarmRunnerLauncher}; one that cannot (or a pool
 * without `warm`) launches cold, as before.
 */

/** What a warm runner is booted with: no job, no labels, no credential. */
export interface WarmBootRequest {
  /**
   * `<prefix>-warm-<pool>-<nonce>`: the warm runner's own name, decided before the boot (a retried boot
   * repeats the platform call exactly: CodeBuild idempotencyToken, EC2 ClientToken). It names its capacity
   * slot and its record until a job claims it; the job's runner is then registered under the job's runner
   * name, never this one.
   */
  warmName: string;
  pool: string;
  runnerVersion: string;
  runnerSha256?: RunnerTarballDigests;
}

/** A warm runner the launcher started, as {@link RunnerLauncher.listActive} lists it too. */
export interface WarmLaunch extends Launch {
  warmName: string;
}

/**
 * The job a claimed warm runner serves: the JIT config is the job's (minted for `runnerName`), handed to
 * the warm runner `warm` only.
 */
export interface WarmHandoffRequest extends LaunchRequest {
  warm: WarmLaunch;
}

export interface WarmRunnerLauncher extends RunnerLauncher {
  /** Boots a warm runner that waits for its hand-off (bounded: it stops itself after `maxIdleMs`). */
  bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch>;
  /**
   * Gives the job's JIT config to the warm runner `request.warm`, readable by it alone; resolves once the
   * hand-off is written (not when the runner read it). A warm runner that is gone throws
   * {@link LaunchTransientError} and the caller launches cold.
   */
  handOffWarm(request: WarmHandoffRequest): Promise<void>;
}

/** Whether `launcher` can keep warm runners. */
export function isWarmCapable(launcher: RunnerLauncher): launcher is WarmRunnerLauncher {
  const candidate = launcher as Partial<WarmRunnerLauncher>;
  return typeof candidate.bootWarm === 'function' && typeof candidate.handOffWarm === 'function';
}

/**
 * A warm runner's idle bound in whole seconds (at least 1), as every launcher hands it to the runner side
 * (the bootstrap's `JR_WARM_IDLE_SECONDS`, the local wrapper's argument): how long it waits for its hand-off
 * before it exits unregistered.
 */
export function warmIdleSeconds(maxIdleMs: number): number {
  return Math.max(1, Math.ceil(maxIdleMs / 1000));
}
