/**
 * Runner names are a pure function of (prefix, job id, attempt). Why: if a crash loses the answer of
 * `generate-jitconfig`, the retry asks for the same name, GitHub answers 409, and we know the
 * registration is ours (docs/design.md "Crash safety") instead of minting a second runner.
 */
export const DEFAULT_RUNNER_NAME_PREFIX = 'jr';
const MAX_NAME_LENGTH = 64;

export function runnerName(prefix: string, jobId: number, attempt: number): string {
  const name = `${prefix}-${jobId}-${attempt}`;
  if (name.length > MAX_NAME_LENGTH) throw new RangeError(`runner name too long: ${name}`);
  return name;
}

/** Inverse of {@link runnerName}; undefined for names this fleet did not mint. */
export function parseRunnerName(prefix: string, name: string): { jobId: number; attempt: number } | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(name.slice(prefix.length + 1));
  if (!m) return undefined;
  return { jobId: Number(m[1]), attempt: Number(m[2]) };
}

/** Name of the regular runner the workaround registers for a scope; never matches a JIT name. */
export function baselineRunnerName(prefix: string, scopeKey: string, nonce: string): string {
  const slug = scopeKey.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 30);
  return `${prefix}-baseline-${slug}-${nonce}`.slice(0, MAX_NAME_LENGTH);
}

/** A label no job uses, so the baseline runner can never take a user's job (docs/design.md "Configuration"). */
export function baselineRunnerLabel(nonce: string): string {
  return `jit-runners-baseline-${nonce}`;
}
