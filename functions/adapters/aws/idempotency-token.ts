import { createHash } from 'node:crypto';

/**
 * A launch idempotency token derived from the runner name (CodeBuild `idempotencyToken`, EC2
 * `ClientToken`, both at most 64 ASCII characters). Why derived, not random: a Lambda retry or a
 * provisioner crash between "launch" and "record" repeats the call with the same runner name, and the
 * platform then answers with the first launch instead of starting a second runner for the job.
 * `variant` separates calls whose parameters differ on purpose (EC2 on-demand fallback after a spot
 * capacity error): reusing a token with other parameters is an `IdempotentParameterMismatch`.
 */
export function idempotencyToken(runnerName: string, variant = ''): string {
  return createHash('sha256').update(`jit-runners\0${runnerName}\0${variant}`).digest('hex').slice(0, 64);
}
