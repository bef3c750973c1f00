/**
 * Delay before re-provisioning after a transient failure: exponential from 1 s, capped at 30 s,
 * with full jitter between half and all of it so a burst of failing jobs does not retry in lockstep.
 */
export function retryDelayMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
