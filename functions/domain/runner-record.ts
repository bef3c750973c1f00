export const RunnerState = {
  launched: 'launched',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
} as const;
export type RunnerState = (typeof RunnerState)[keyof typeof RunnerState];

export const RunnerKind = { jit: 'jit', baseline: 'baseline' } as const;
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
}
