/**
 * The order an EC2 pool's runner is tried in, and which RunInstances errors move on to the next try
 * (docs/decisions.md "AWS", spot fallback). Pure: error codes in, steps out.
 */

export const Market = { spot: 'spot', onDemand: 'on-demand' } as const;
export type Market = (typeof Market)[keyof typeof Market];

/** One RunInstances call: a market and an instance type (undefined: the launch template's own type). */
export interface LaunchTry {
  readonly market: Market;
  readonly instanceType: string | undefined;
}

/**
 * Spot across every instance type in listed order first, then on-demand across the same list. Why not
 * spot then on-demand per type: an operator lists types they accept; a cheaper spot instance of the
 * second type beats an on-demand one of the first. No types: the template's type, once per market.
 */
export function launchTries(instanceTypes: readonly string[], spot: boolean): LaunchTry[] {
  const types: (string | undefined)[] = instanceTypes.length > 0 ? [...instanceTypes] : [undefined];
  const markets: Market[] = spot ? [Market.spot, Market.onDemand] : [Market.onDemand];
  return markets.flatMap((market) => types.map((instanceType) => ({ market, instanceType })));
}

export const FallbackStep = {
  /** This type has no room in this market: try the next type (then the next market). */
  nextType: 'next-type',
  /** The whole market is closed to us (the spot quota): skip its other types, go on-demand. */
  nextMarket: 'next-market',
  /** Another type or market cannot help (throttling, permissions, a bad template, an account quota): stop. */
  stop: 'stop',
} as const;
export type FallbackStep = (typeof FallbackStep)[keyof typeof FallbackStep];

/**
 * Codes that say "not this instance type, here, now": capacity that another type may have, a type the
 * subnet's zone does not offer (`Unsupported`), a spot price above the type's cap.
 */
const NO_ROOM_FOR_TYPE = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'Unsupported',
  'SpotMaxPriceTooLow',
]);

/**
 * What to do after a RunInstances call in `market` failed with `code`; `capacity` says whether the error
 * is a capacity error at all (translate-launch-error.ts). On spot, any other capacity error (the spot
 * quota `MaxSpotInstanceCountExceeded`, a vCPU quota, a full subnet) moves on to on-demand, which has
 * quotas of its own; another spot type would hit the same spot quota. On demand, only "not this type"
 * tries another type: an account quota or a full subnet is the same for every type.
 */
export function fallbackStep(code: string, capacity: boolean, market: Market): FallbackStep {
  if (NO_ROOM_FOR_TYPE.has(code)) return FallbackStep.nextType;
  if (market === Market.spot && capacity) return FallbackStep.nextMarket;
  return FallbackStep.stop;
}

/** The index of the try after `index` once `step` is taken; undefined: none left. */
export function nextTry(tries: readonly LaunchTry[], index: number, step: FallbackStep): number | undefined {
  if (step === FallbackStep.stop) return undefined;
  const market = tries[index]?.market;
  for (let i = index + 1; i < tries.length; i++) {
    if (step === FallbackStep.nextType || tries[i]?.market !== market) return i;
  }
  return undefined;
}
