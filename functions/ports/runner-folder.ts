import type { RunnerFolderFacts } from '../domain/doctor/fleet.ts';

/** Looks at a local runner folder for `doctor` (the local launcher's requirements: executable `config.sh` and `run.sh`). */
export interface RunnerFolderProbe {
  inspect(path: string): Promise<Omit<RunnerFolderFacts, 'usedBy'>>;
}
