/** The actions/runner version this release pins by default (exact semver; runner self-update disabled). */
export const DEFAULT_RUNNER_VERSION = '2.330.0';
/** GitHub refuses registration below this version (as of 2026). */
export const DEFAULT_RUNNER_VERSION_FLOOR = '2.329.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

export function parseVersion(version: string): [number, number, number] | undefined {
  const m = SEMVER.exec(version);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function isExactVersion(version: string): boolean {
  return parseVersion(version) !== undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b. Both must be exact semver. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new TypeError(`not an exact version: ${pa ? b : a}`);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
