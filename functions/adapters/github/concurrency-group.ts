/**
 * The slice of a Bottleneck group that `@octokit/plugin-throttling` uses (`group.key(id).schedule(...)`),
 * as a plain semaphore. Why not Bottleneck: each Bottleneck hop defers through timers, which cost a few
 * milliseconds per request; a promise queue bounds concurrency the same way without that latency.
 */
export interface ScheduleOptions {
  /** plugin-throttling schedules retries with weight 0: they must not wait behind new requests. */
  weight?: number;
}

export interface ConcurrencyLimiter {
  schedule<T>(options: ScheduleOptions, task: (...args: never[]) => T | Promise<T>, ...args: unknown[]): Promise<T>;
}

export interface ConcurrencyGroup {
  key(id?: string): ConcurrencyLimiter;
}

function semaphore(max: number): ConcurrencyLimiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      running += 1;
      next();
    }
  };
  return {
    async schedule<T>(options: ScheduleOptions, task: (...args: never[]) => T | Promise<T>, ...args: unknown[]) {
      const run = () => (task as (...a: unknown[]) => T | Promise<T>)(...args);
      if (options?.weight === 0 || max === Number.POSITIVE_INFINITY) return run();
      if (running < max) running += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await run();
      } finally {
        release();
      }
    },
  };
}

/** At most `max` tasks at once per key; `Infinity` never waits. */
export function concurrencyGroup(max: number): ConcurrencyGroup {
  const limiters = new Map<string, ConcurrencyLimiter>();
  return {
    key(id = '') {
      let limiter = limiters.get(id);
      if (!limiter) {
        limiter = semaphore(max);
        limiters.set(id, limiter);
      }
      return limiter;
    },
  };
}
