export const RunnerState = {
  launched: 'launched',
  /** Warm runners (kind `warm`): booted, waiting to be up. Claimable (after the ready ones). */
  booting: 'booting',
  /** Warm: up, waiting for its hand-off. */
  ready: 'ready',
  /** Warm: a job claimed it (one conditional write); its job's runner runs in it from the hand-off on. */
  claimed: 'claimed',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
} as const;
export type RunnerState = (typeof RunnerState)[keyof typeof RunnerState];

export const RunnerKind = { jit: 'jit', baseline: 'baseline', warm: 'warm' } as const;
export type RunnerKind = (typeof RunnerKind)[keyof typeof RunnerKind];

/** The `RUNNER#<name>` item: runner ↔ job ↔ launch. */
export interface RunnerRecord {
  name: string;
  kind: RunnerKind;
  scopeKey: string;
  installationId: number;
  jobId?: number;
  runnerId?: number;
  launchId?: string;
  version: string;
  state: RunnerState;
  /** Job GitHub actually gave this runner (may differ from `jobId`: JIT runners match by labels). */
  tookJobId?: number;
  createdAt: number;
  updatedAt: number;
  /** Warm runners: the pool it waits in (a warm runner has no scope until its claim: `scopeKey` is empty). */
  pool?: string;
  /** Warm: when the launcher reported it up. */
  readyAt?: number;
  /** Warm: when a job claimed it, and the name of the job's runner it now serves (registered under that name). */
  claimedAt?: number;
  servesRunnerName?: string;
}
