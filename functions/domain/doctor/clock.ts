import { CheckStatus, checkFrom, type DoctorCheck, DoctorCheckId, finding } from '../doctor-check.ts';

/**
 * Beyond this the App JWTs depend on @octokit/auth-app's correction: it issues `iat` 30 s in the past,
 * so a clock more than that ahead of GitHub's gets its first JWT refused, and auth-app re-sends it with
 * the difference read from the refusal's `Date` header.
 */
export const CLOCK_SKEW_WARN_MS = 30_000;
/**
 * Beyond this things break outright: the runner refuses to work ("The local machine's clock may be out of
 * sync with the server time by more than five minutes."), and a JWT's 10-minute life no longer covers the
 * difference without the correction.
 */
export const CLOCK_SKEW_FAIL_MS = 5 * 60_000;

export interface ClockFacts {
  /** GitHub's time minus this machine's, in ms (positive: this clock is behind). */
  readonly skewMs: number;
  /** How far the measurement can be off (half the round trip plus the `Date` header's one-second resolution). */
  readonly uncertaintyMs: number;
}

const seconds = (ms: number) => `${Math.round(Math.abs(ms) / 1000)} s`;

/** Check 5: this machine's clock against the `Date` header of GitHub's answer. */
export function evaluateClock(facts: ClockFacts): DoctorCheck {
  const abs = Math.abs(facts.skewMs);
  const direction = facts.skewMs > 0 ? 'behind' : 'ahead of';
  const text =
    abs < 1000
      ? `this machine's clock agrees with GitHub's (within ±${seconds(facts.uncertaintyMs)})`
      : `this machine's clock is ${seconds(facts.skewMs)} ${direction} GitHub's (±${seconds(facts.uncertaintyMs)})`;
  const fix = 'synchronise the clock with NTP (timedatectl set-ntp true, or chrony)';
  if (abs > CLOCK_SKEW_FAIL_MS)
    return checkFrom(DoctorCheckId.clock, [finding(CheckStatus.fail, `${text}: more than 5 min`, fix)], '');
  if (abs > CLOCK_SKEW_WARN_MS)
    return checkFrom(DoctorCheckId.clock, [finding(CheckStatus.warn, `${text}: more than 30 s`, fix)], '');
  return checkFrom(DoctorCheckId.clock, [], `${text}`);
}
