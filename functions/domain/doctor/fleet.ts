import { CheckStatus, checkFrom, type DoctorCheck, DoctorCheckId, type Finding, finding } from '../doctor-check.ts';
import { normaliseLabels } from '../labels.ts';
import { type RunnerPool, shadowedBy } from '../runner-pool.ts';

// ───────────── check 7: allow-list entries ─────────────

/** An installation as the allow-list check reads it. */
export interface InstallationCoverage {
  readonly account: string;
  readonly repositorySelection: 'all' | 'selected';
  /** `owner/repo` of the selected repositories (selection `selected` only). */
  readonly repositories?: readonly string[];
}

/** One configured repository entry: `owner/repo` or `owner/*`, and the variable it comes from. */
export interface RepositoryEntry {
  readonly variable: string;
  readonly entry: string;
}

/** Whether an installation covers the entry: its account is the owner, and for `owner/repo` the repository is selected. */
export function coveredBy(entry: string, installations: readonly InstallationCoverage[]): boolean {
  const [owner = '', repo = ''] = entry.toLowerCase().split('/');
  return installations.some((inst) => {
    if (inst.account.toLowerCase() !== owner) return false;
    if (repo === '*' || inst.repositorySelection === 'all') return true;
    return (inst.repositories ?? []).some((r) => r.toLowerCase() === `${owner}/${repo}`);
  });
}

/** Check 7: every allow-list (and queued-job discovery) entry is one an installation covers. */
export function evaluateAllowlist(
  entries: readonly RepositoryEntry[],
  installations: readonly InstallationCoverage[],
): DoctorCheck {
  if (entries.length === 0) {
    return checkFrom(
      DoctorCheckId.allowlist,
      [],
      'REPO_ALLOWLIST is empty: every repository the App is installed on is served',
    );
  }
  const findings: Finding[] = entries
    .filter((e) => !coveredBy(e.entry, installations))
    .map((e) =>
      finding(
        CheckStatus.warn,
        `${e.variable} entry ${e.entry}: no installation of the App covers it`,
        `install the App on ${e.entry.split('/')[0]}${e.entry.endsWith('/*') ? '' : ` (with ${e.entry} selected)`}, or remove the entry`,
      ),
    );
  const variables = [...new Set(entries.map((e) => e.variable))].join(' and ');
  return checkFrom(
    DoctorCheckId.allowlist,
    findings,
    `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} of ${variables}, each covered by an installation`,
  );
}

// ───────────── check 8: pools ─────────────

/**
 * Labels every self-hosted pool shares by nature (`self-hosted` and the OS names). Two pools sharing only
 * these are not reported: a job asking for no more than `[self-hosted, linux]` landing in the first
 * listed pool is the usual intent.
 */
const COMMON_LABELS = new Set(['self-hosted', 'linux', 'windows', 'macos']);

/**
 * Check 8: pools that can never be chosen (an earlier pool covers all their labels; start-up refuses
 * those, so this guards configurations from elsewhere), and overlaps: two pools both covering a label set
 * beyond the common labels that is not the whole of the first one's labels, so a job asking for just that
 * set lands in the first pool although it asked for less than what makes that pool special (a `[self-hosted,
 * linux, x64]` job in a `gpu` pool listed before a `docker` pool). A later pool that extends an earlier
 * one (`x64`, then `x64 + gpu`) is the documented pattern and not reported.
 */
export function evaluatePools(pools: readonly RunnerPool[]): DoctorCheck {
  const findings: Finding[] = [];
  pools.forEach((pool, index) => {
    const by = shadowedBy(pools, index);
    if (by) {
      findings.push(
        finding(
          CheckStatus.warn,
          `pool ${pool.name} can never be chosen: ${by.name} (listed earlier) covers all its labels`,
          `list ${pool.name} before ${by.name}, or give it a label ${by.name} lacks`,
        ),
      );
    }
  });
  for (let i = 0; i < pools.length; i++) {
    const first = pools[i];
    if (!first) continue;
    const firstLabels = normaliseLabels(first.labels);
    for (let j = i + 1; j < pools.length; j++) {
      const second = pools[j];
      if (!second || shadowedBy(pools, j)) continue;
      const secondLabels = new Set(normaliseLabels(second.labels));
      const shared = firstLabels.filter((l) => secondLabels.has(l));
      if (shared.length === firstLabels.length) continue; // second extends first: a job for first's labels is first's
      if (!shared.some((l) => !COMMON_LABELS.has(l))) continue;
      findings.push(
        finding(
          CheckStatus.warn,
          `pools ${first.name} and ${second.name} overlap: a job asking for [${shared.join(', ')}] lands in ${first.name}`,
          `add a pool with exactly [${shared.join(', ')}] before both, or give one of them a label the job must ask for`,
        ),
      );
    }
  }
  return checkFrom(
    DoctorCheckId.pools,
    findings,
    `${pools.length} ${pools.length === 1 ? 'pool' : 'pools'} (${pools.map((p) => p.name).join(', ')}): each can be chosen, none overlaps`,
  );
}

// ───────────── check 9: runner folders (local launcher) ─────────────

export const ScriptState = {
  ok: 'ok',
  missing: 'missing',
  notExecutable: 'not-executable',
  notFile: 'not-a-file',
} as const;
export type ScriptState = (typeof ScriptState)[keyof typeof ScriptState];

/** What the filesystem says about one runner folder. */
export interface RunnerFolderFacts {
  readonly path: string;
  /** `RUNNER_DIR`, or `pool NAME runnerDir`. */
  readonly usedBy: readonly string[];
  readonly kind: 'directory' | 'missing' | 'not-a-directory';
  /** `config.sh` and `run.sh`, as the local launcher requires them (executable files). */
  readonly scripts: { readonly 'config.sh': ScriptState; readonly 'run.sh': ScriptState };
}

/**
 * Check 9 (local mode): every runner folder the local launcher copies has an executable `run.sh` (JIT
 * runners) and `config.sh` (the regular-runner workaround; only a warning under `BASELINE_POLICY=off`,
 * where no workaround runs).
 */
export function evaluateRunnerFolders(folders: readonly RunnerFolderFacts[], baselineOff: boolean): DoctorCheck {
  if (folders.length === 0) {
    return checkFrom(DoctorCheckId.runnerDir, [], 'no pool uses the local launcher');
  }
  const findings: Finding[] = [];
  for (const folder of folders) {
    const who = folder.usedBy.join(', ');
    const fix = `extract actions-runner-linux-<arch>-<version>.tar.gz into ${folder.path}, or point ${who} at such a folder`;
    if (folder.kind !== 'directory') {
      findings.push(
        finding(
          CheckStatus.fail,
          `${who}: ${folder.path} ${folder.kind === 'missing' ? 'does not exist' : 'is not a folder'}`,
          fix,
        ),
      );
      continue;
    }
    for (const script of ['run.sh', 'config.sh'] as const) {
      const state = folder.scripts[script];
      if (state === ScriptState.ok) continue;
      const why =
        state === ScriptState.missing
          ? 'has no'
          : state === ScriptState.notExecutable
            ? 'has a non-executable'
            : 'has an unusable';
      const status = script === 'config.sh' && baselineOff ? CheckStatus.warn : CheckStatus.fail;
      findings.push(
        finding(
          status,
          `${who}: ${folder.path} ${why} ${script}: it is not an actions runner folder`,
          state === ScriptState.notExecutable ? `chmod +x ${folder.path}/${script}` : fix,
        ),
      );
    }
  }
  return checkFrom(
    DoctorCheckId.runnerDir,
    findings,
    folders.length === 1
      ? `${folders[0]?.path} holds config.sh and run.sh`
      : `${folders.length} runner folders hold config.sh and run.sh`,
    folders.length === 1 ? [] : folders.map((f) => `${f.usedBy.join(', ')}: ${f.path}`),
  );
}
