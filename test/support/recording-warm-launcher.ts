import { type LaunchSummary, LaunchTransientError } from '../../functions/ports/launcher.ts';
import type {
  WarmBootRequest,
  WarmHandoffRequest,
  WarmLaunch,
  WarmRunnerLauncher,
} from '../../functions/ports/warm-launcher.ts';
import { RecordingLauncher } from './recording-launcher.ts';

/**
 * The recording launcher with warm runners: `bootWarm` records a boot (listed under the warm name until it is
 * stopped), `handOffWarm` records the JIT config handed (the runner is then listed under the job's runner
 * name). `goneOnHandoff` makes the next hand-offs fail as a runner that died would.
 */
export class RecordingWarmLauncher extends RecordingLauncher implements WarmRunnerLauncher {
  readonly boots: (WarmBootRequest & { maxIdleMs: number })[] = [];
  readonly handoffs: WarmHandoffRequest[] = [];
  /** Warm names whose hand-off fails (the runner died). */
  readonly goneOnHandoff = new Set<string>();
  /** Boot failures, in order. */
  readonly bootFailures: Error[] = [];
  /** Boots answer `ready` (the local launcher's shape); false: they stay `booting`. */
  bootsReady = true;
  /** Launches a previous process made: listed, but never booted by this instance. */
  readonly inherited: LaunchSummary[] = [];
  bootedAt = 0;

  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch & { ready: boolean }> {
    const failure = this.bootFailures.shift();
    if (failure) throw failure;
    this.boots.push(request);
    return { launchId: `warm-${request.warmName}`, warmName: request.warmName, ready: this.bootsReady };
  }

  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    if (this.goneOnHandoff.has(request.warm.warmName) || this.stopped.includes(request.warm.launchId)) {
      throw new LaunchTransientError(`warm runner ${request.warm.warmName} is gone`);
    }
    this.handoffs.push(request);
  }

  /** Cold launches plus live warm runners (a handed one under its job's runner name). */
  override async listActive(): Promise<LaunchSummary[]> {
    const cold = await super.listActive();
    const warm = this.boots
      .filter((b) => !this.stopped.includes(`warm-${b.warmName}`))
      .map((b) => {
        const handed = this.handoffs.find((h) => h.warm.warmName === b.warmName);
        return {
          launchId: `warm-${b.warmName}`,
          runnerName: handed?.runnerName ?? b.warmName,
          startedAt: this.bootedAt,
        };
      });
    const inherited = this.inherited.filter((l) => !this.stopped.includes(l.launchId));
    return [...cold, ...warm, ...inherited];
  }

  /** Warm runners booted and not stopped. */
  liveWarm(): string[] {
    return this.boots.map((b) => b.warmName).filter((n) => !this.stopped.includes(`warm-${n}`));
  }
}
