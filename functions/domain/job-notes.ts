/**
 * The job-history notes that other rules read back (the canary's health in version-health.ts): each is
 * written and parsed here, side by side, so the format cannot drift between the writer and the reader.
 */

/** `runner jr-7-2 (id 55, v2.331.0) launch <launchId>`: a runner launched for the job. */
export function launchNote(runnerName: string, runnerId: number, version: string, launchId: string): string {
  return `runner ${runnerName} (id ${runnerId}, v${version}) launch ${launchId}`;
}

/** `<class> (<signature>) on runner <name>: <detail>` (the signature may be left out): a runner's failure. */
export function failureNote(
  failureClass: string,
  signature: string | undefined,
  runnerName: string,
  detail: string,
): string {
  return `${failureClass}${signature === undefined ? '' : ` (${signature})`} on runner ${runnerName}: ${detail}`;
}

const LAUNCH = /^runner (\S+) \(id \d+, v(\d+\.\d+\.\d+)\)/;
const FAILURE = /^(\S+)(?: \([^)]*\))? on runner (\S+?):/;

/** The runner and version of a {@link launchNote}, or undefined for any other note. */
export function parseLaunchNote(note: string): { runnerName: string; version: string } | undefined {
  const match = LAUNCH.exec(note);
  return match ? { runnerName: match[1] as string, version: match[2] as string } : undefined;
}

/** The failure class and runner of a {@link failureNote}, or undefined for any other note. */
export function parseFailureNote(note: string): { failureClass: string; runnerName: string } | undefined {
  const match = FAILURE.exec(note);
  return match ? { failureClass: match[1] as string, runnerName: match[2] as string } : undefined;
}
