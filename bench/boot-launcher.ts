import { decodeJitConfig } from '../functions/adapters/sandbox/jit-config.ts';
import {
  type Launch,
  type LaunchRequest,
  type LaunchSummary,
  LaunchTransientError,
  type RegularRunnerRequest,
} from '../functions/ports/launcher.ts';
import type {
  WarmBootRequest,
  WarmHandoffRequest,
  WarmLaunch,
  WarmRunnerLauncher,
} from '../functions/ports/warm-launcher.ts';

/** Simulated platform latencies of the boot phase (ms). */
export interface BootLatencies {
  /** StartBuild/RunInstances answered (the launch request accepted). */
  launchMs: number;
  /** A build or instance boots: image, tarball from the cache, verify, extract (cold only; a warm runner did it). */
  coldBootMs: number;
  /** The runner's own start: `run.sh` → its first message poll. */
  runnerStartMs: number;
  /** A warm runner reads its hand-off (the SSM parameter poll, the FIFO read locally). */
  handoffReadMs: number;
}

/** One runner as the platform saw it. */
export interface SimulatedRunner {
  runnerName: string;
  warmName?: string;
  /** The runner name the session the runner opened belongs to, by the credential it presented. */
  sessionFor?: string;
  sessionStatus?: number;
  error?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A launcher that sleeps the platform's latencies and then does what a runner does first: it decodes its JIT
 * config and opens a broker session at the GitHub simulator with the credential it carries, so the simulator
 * sees the runner poll with its minted credentials. Cold: launch → boot → runner start → session. Warm: boot
 * (in the background, before any job) → ready; a hand-off → read → runner start → session.
 */
export class SimulatedBootLauncher implements WarmRunnerLauncher {
  readonly kind = 'bench-boot';
  readonly runners: SimulatedRunner[] = [];
  readonly coldLaunches: string[] = [];
  readonly handoffs: string[] = [];
  private readonly warm = new Map<
    string,
    { ready: Promise<void>; isReady: boolean; startedAt: number; handed: boolean; stopped: boolean }
  >();
  /** Hand-offs to a warm runner that had finished booting (a hit), by the job's runner name. */
  readonly readyHandoffs = new Set<string>();
  private readonly live = new Map<string, LaunchSummary>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly latencies: BootLatencies) {}

  async launch(request: LaunchRequest): Promise<Launch> {
    await sleep(this.latencies.launchMs);
    const launchId = `cold-${request.runnerName}`;
    this.coldLaunches.push(request.runnerName);
    this.live.set(launchId, { launchId, runnerName: request.runnerName, startedAt: Date.now() });
    this.track(
      (async () => {
        await sleep(this.latencies.coldBootMs + this.latencies.runnerStartMs);
        await this.poll(request);
      })(),
    );
    return { launchId };
  }

  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch> {
    await sleep(this.latencies.launchMs);
    const launchId = `warm-${request.warmName}`;
    const entry = {
      ready: sleep(this.latencies.coldBootMs),
      isReady: false,
      startedAt: Date.now(),
      handed: false,
      stopped: false,
    };
    entry.ready = entry.ready.then(() => {
      entry.isReady = true;
    });
    this.warm.set(request.warmName, entry);
    this.live.set(launchId, { launchId, runnerName: request.warmName, startedAt: Date.now() });
    return { launchId, warmName: request.warmName };
  }

  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    const warm = this.warm.get(request.warm.warmName);
    if (!warm || warm.stopped || warm.handed)
      throw new LaunchTransientError(`warm runner ${request.warm.warmName} is gone`);
    warm.handed = true;
    this.handoffs.push(request.runnerName);
    if (warm.isReady) this.readyHandoffs.add(request.runnerName);
    this.live.set(request.warm.launchId, {
      launchId: request.warm.launchId,
      runnerName: request.runnerName,
      startedAt: warm.startedAt,
    });
    this.track(
      (async () => {
        await warm.ready;
        await sleep(this.latencies.handoffReadMs + this.latencies.runnerStartMs);
        await this.poll(request, request.warm.warmName);
      })(),
    );
  }

  /** How many warm runners have booted (their boot latency passed) and wait unclaimed. */
  readyWarm(): number {
    return [...this.warm.values()].filter((w) => w.isReady && !w.stopped && !w.handed).length;
  }

  private async poll(request: LaunchRequest, warmName?: string): Promise<void> {
    const runner: SimulatedRunner = { runnerName: request.runnerName, ...(warmName ? { warmName } : {}) };
    this.runners.push(runner);
    try {
      const files = decodeJitConfig(request.encodedJitConfig);
      const broker = String(files['.runner'].serverUrlV2 || `${files['.runner'].serverUrl}/_broker`).replace(
        /\/+$/,
        '',
      );
      const answer = await fetch(`${broker}/sessions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${files['.credentials'].data.accessToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ version: request.runnerVersion }),
      });
      runner.sessionStatus = answer.status;
      const body = (await answer.json().catch(() => ({}))) as { agent?: { name?: string } };
      if (body.agent?.name !== undefined) runner.sessionFor = body.agent.name;
    } catch (error) {
      runner.error = String(error);
    }
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves when every simulated runner started so far has polled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    return { launchId: `regular-${request.runnerName}` };
  }
  async stop(launchId: string): Promise<void> {
    this.live.delete(launchId);
    const warm = this.warm.get(launchId.replace(/^warm-/, ''));
    if (warm) warm.stopped = true;
  }
  async listActive(): Promise<LaunchSummary[]> {
    return [...this.live.values()];
  }
}
