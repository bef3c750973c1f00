import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ScriptState, ScriptState as State } from '../../domain/doctor/fleet.ts';
import type { RunnerFolderProbe } from '../../ports/runner-folder.ts';

async function script(path: string): Promise<ScriptState> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return State.notFile;
  } catch {
    return State.missing;
  }
  try {
    await access(path, fsConstants.X_OK);
    return State.ok;
  } catch {
    return State.notExecutable;
  }
}

/** The local launcher's view of a runner folder: the same checks it makes before it copies one. */
export function createRunnerFolderProbe(): RunnerFolderProbe {
  return {
    async inspect(path) {
      let kind: 'directory' | 'missing' | 'not-a-directory';
      try {
        kind = (await stat(path)).isDirectory() ? 'directory' : 'not-a-directory';
      } catch {
        kind = 'missing';
      }
      if (kind !== 'directory') return { path, kind, scripts: { 'config.sh': State.missing, 'run.sh': State.missing } };
      const [config, run] = await Promise.all([script(join(path, 'config.sh')), script(join(path, 'run.sh'))]);
      return { path, kind, scripts: { 'config.sh': config, 'run.sh': run } };
    },
  };
}
