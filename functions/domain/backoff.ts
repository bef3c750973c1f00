/** Options of {@link backoff}. `random` returns a number in [0, 1) (e.g. `Math.random`), passed in to keep this pure. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random: () => number;
}

/**
 * Jittered, capped exponential backoff: the ceiling for `attempt` (1-based) is
 * `min(capMs, baseMs · 2^(attempt-1))`, and the wait is drawn from [ceiling/2, ceiling].
 *
 * Why "equal jitter" rather than full jitter: full jitter can draw ~0 ms, which would hammer a
 * scope GitHub just told us to leave alone; keeping half of the window spreads retries of many
 * jobs apart while guaranteeing a real pause.
 */
export function backoff(attempt: number, options: BackoffOptions): number {
  const ceiling = backoffCeiling(attempt, options);
  const r = clampUnit(options.random());
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}

/** The un-jittered window for `attempt`: `min(capMs, baseMs · 2^(attempt-1))`, never negative. */
export function backoffCeiling(attempt: number, options: Pick<BackoffOptions, 'baseMs' | 'capMs'>): number {
  const base = Math.max(0, options.baseMs);
  const cap = Math.max(0, options.capMs);
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^(n-1) overflows to Infinity for large n; Math.min with the cap keeps the result finite.
  return Math.min(cap, base * 2 ** (n - 1));
}

function clampUnit(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return Math.min(value, 1);
}
