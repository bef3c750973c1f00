import type { Dispatcher, Logger } from '../../ports/runtime.ts';

export interface InProcessDispatcherOptions {
  /** Jobs provisioned at once; the rest wait in memory (they are durable in the store regardless). */
  concurrency?: number;
  logger: Logger;
}

/**
 * Local stand-in for Lambda `Invoke` (Event): a bounded in-memory queue feeding the provisioner.
 * Losing this queue (crash) loses nothing: jobs are durable, and start-up recovery and the
 * reconciler re-dispatch every open job.
 */
export class InProcessDispatcher implements Dispatcher {
  private handler: ((jobId: number) => Promise<unknown>) | undefined;
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  /** Jobs being provisioned now, and those dispatched again meanwhile (run once more afterwards). */
  private readonly inFlight = new Set<number>();
  private readonly again = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly concurrency: number;

  constructor(private readonly options: InProcessDispatcherOptions) {
    this.concurrency = options.concurrency ?? 64;
  }

  /** Set once the provisioner exists (it needs this dispatcher, so it cannot be a constructor argument). */
  setHandler(handler: (jobId: number) => Promise<unknown>): void {
    this.handler = handler;
    this.pump();
  }

  async dispatch(jobId: number, options?: { delayMs?: number }): Promise<void> {
    if (this.stopped) return;
    const delay = options?.delayMs ?? 0;
    if (delay > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.dispatch(jobId);
      }, delay);
      timer.unref();
      this.timers.add(timer);
      return;
    }
    // Collapse repeated dispatches of a job that is already waiting: the provisioner is idempotent
    // anyway (lease), this only saves store requests.
    if (this.queued.has(jobId)) return;
    // Never run one job twice at once: this process's lease lets its own holder re-take a job, so a
    // second concurrent run would race the first. Run it once more after the current run instead.
    if (this.inFlight.has(jobId)) {
      this.again.add(jobId);
      return;
    }
    this.queued.add(jobId);
    this.queue.push(jobId);
    this.pump();
  }

  /** Resolves when nothing is queued or running (delayed dispatches excluded). */
  async idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (this.running < this.concurrency && this.queue.length > 0) {
      const jobId = this.queue.shift() as number;
      this.queued.delete(jobId);
      this.inFlight.add(jobId);
      this.running++;
      handler(jobId)
        .catch((error: unknown) => {
          this.options.logger.error('provisioning failed; the reconciler will retry', {
            jobId,
            error: error instanceof Error ? error.message : String(error),
          });
        })
        .finally(() => {
          this.running--;
          this.inFlight.delete(jobId);
          if (this.again.delete(jobId)) void this.dispatch(jobId);
          this.pump();
          if (this.running === 0 && this.queue.length === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}
