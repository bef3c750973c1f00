import type { Job } from '../domain/job.ts';
import type { Scope } from '../domain/scope.ts';
import type { GitHubTarget } from '../ports/github.ts';

export type GateDecision =
  | { proceed: true }
  /** Wait (the workaround is running or must run first); `fail` ends the job instead (budget spent). */
  | { proceed: false; until: number; reason: string; fail?: boolean };

/**
 * Applies `BASELINE_POLICY` before a JIT mint (issue 3 §4): `off` always proceeds; `on-error` waits only
 * while a scope is known to miss its runner metadata; `proactive` makes sure a baseline exists first.
 */
export interface BaselineGate {
  beforeMint(job: Job, scope: Scope, target: GitHubTarget, now: number): Promise<GateDecision>;
}
