/** A scope's baseline registration: the regular runner that initialised its runner metadata (docs/design.md "State"). */
export const BaselineMethod = { workaround: 'workaround', observed: 'observed', manual: 'manual' } as const;
export type BaselineMethod = (typeof BaselineMethod)[keyof typeof BaselineMethod];

export const BaselineState = {
  /** A regular runner has been registered and seen online for the scope. */
  present: 'present',
  /** A metadata-missing signal was seen; the workaround is needed. */
  missing: 'missing',
  /** One process was elected to run the workaround (see `healingOwner`). */
  healing: 'healing',
  /** The workaround failed; see `reason`. */
  failed: 'failed',
} as const;
export type BaselineState = (typeof BaselineState)[keyof typeof BaselineState];

/** The `BASELINE#<scope>` item. */
export interface Baseline {
  scopeKey: string;
  state: BaselineState;
  method?: BaselineMethod;
  runnerId?: number;
  runnerName?: string;
  verifiedOnlineAt?: number;
  healingOwner?: string;
  healingUntil?: number;
  /** How many times the workaround ran for this scope. */
  workarounds: number;
  /** Installation that can act on the scope (lets `jit-runners baseline ensure` run it again). */
  installationId?: number;
  reason?: string;
  updatedAt: number;
  version: number;
}
