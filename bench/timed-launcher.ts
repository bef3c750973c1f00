import { performance } from 'node:perf_hooks';
import type {
  Launch,
  LaunchRequest,
  LaunchSummary,
  RegularRunnerRequest,
  RunnerLauncher,
} from '../functions/ports/launcher.ts';
import { RecordingLauncher } from '../test/support/recording-launcher.ts';

export interface LaunchTiming {
  jobId: number;
  runnerName: string;
  launchId: string;
  /** `performance.now()` when the provisioner issued the launch. */
  calledAt: number;
  /** `performance.now()` when the platform accepted it (after the simulated launch latency). */
  doneAt: number;
}

/**
 * The recording launcher (starts nothing, waits the simulated platform latency, remembers every request)
 * plus the time of each launch, for queued→launch latency and the exactly-once check.
 */
export class TimedLauncher implements RunnerLauncher {
  readonly kind = 'bench';
  readonly inner = new RecordingLauncher();
  readonly timings: LaunchTiming[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  /** Told of every launch request as it arrives (before the simulated latency), with its `performance.now()`. */
  onLaunchRequest: ((request: LaunchRequest, calledAt: number) => void) | undefined;

  constructor(latencyMs: number) {
    this.inner.latencyMs = latencyMs;
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    const calledAt = performance.now();
    this.onLaunchRequest?.(request, calledAt);
    const launch = await this.inner.launch(request);
    this.timings.push({
      jobId: request.jobId,
      runnerName: request.runnerName,
      launchId: launch.launchId,
      calledAt,
      doneAt: performance.now(),
    });
    this.waiters = this.waiters.filter((w) => {
      if (this.timings.length < w.count) return true;
      w.resolve();
      return false;
    });
    return launch;
  }

  /** Resolves once `count` launches have completed in total, or rejects after `timeoutMs`. */
  waitForLaunches(count: number, timeoutMs: number): Promise<void> {
    if (this.timings.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`only ${this.timings.length} of ${count} launches after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ count, resolve: done });
    });
  }

  /** The runner of `launchId` ended: the platform no longer lists it (`listActive`). */
  ended(launchId: string): void {
    this.inner.stopped.push(launchId);
  }

  launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    return this.inner.launchRegular(request);
  }
  stop(launchId: string): Promise<void> {
    return this.inner.stop(launchId);
  }
  listActive(): Promise<LaunchSummary[]> {
    return this.inner.listActive();
  }
}
