import type {
  Launch,
  LaunchRequest,
  LaunchSummary,
  RegularRunnerRequest,
  RunnerLauncher,
} from '../../functions/ports/launcher.ts';

/** A launcher that starts nothing and remembers every request (use-case tests and benchmarks). */
export class RecordingLauncher implements RunnerLauncher {
  readonly kind = 'recording';
  readonly launches: LaunchRequest[] = [];
  readonly regular: RegularRunnerRequest[] = [];
  readonly stopped: string[] = [];
  /** Errors thrown by the next calls to `launch`, in order. */
  readonly failures: Error[] = [];
  latencyMs = 0;
  /** Runner names whose process, build or instance ended by itself (no stop request): no longer listed. */
  readonly ended = new Set<string>();

  async launch(request: LaunchRequest): Promise<Launch> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.launches.push(request);
    return { launchId: `rec-${request.runnerName}` };
  }
  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    this.regular.push(request);
    return { launchId: `rec-regular-${request.runnerName}` };
  }
  async stop(launchId: string): Promise<void> {
    this.stopped.push(launchId);
  }
  async listActive(): Promise<LaunchSummary[]> {
    return this.launches
      .filter((l) => !this.stopped.includes(`rec-${l.runnerName}`) && !this.ended.has(l.runnerName))
      .map((l) => ({ launchId: `rec-${l.runnerName}`, runnerName: l.runnerName, startedAt: 0 }));
  }
}
