import { cloudWatchFilterPattern, LOG_FILTER_TERMS } from './failure-signatures.ts';
import { WARM_READY_PHRASE } from './warm-ready-line.ts';

/**
 * What the runner log subscription sends to runner-events: the failure signatures' phrases, and the warm
 * runner's ready line. Every other line stays in CloudWatch Logs (no Lambda invocation for it).
 */
export const RUNNER_LOG_FILTER_TERMS: readonly string[] = [...LOG_FILTER_TERMS, WARM_READY_PHRASE];

/** The subscription filter's pattern (CloudWatch's 1,024-character bound is checked). */
export function runnerLogFilterPattern(): string {
  return cloudWatchFilterPattern(RUNNER_LOG_FILTER_TERMS);
}
