import type { Breaker } from './breaker.ts';
import type { Classification } from './classify-failure.ts';
import { FailureClass } from './failure-class.ts';
import { backoff, EQUAL_JITTER } from './job-budget.ts';

/**
 * Per-scope circuit breaker (`BREAKER#<scope>`), as pure transitions. While a scope's breaker is
 * open no GitHub call is made for it; its jobs wait in `waiting-breaker` until `openUntil`.
 *
 *   closed ──(breaker open signal, or N consecutive 5xx)──▶ open ──(openUntil passes)──▶ half-open
 *     ▲                                                                                  │
 *     └──────────────────── success ◀─────────────────────────────────────────────────────┤
 *                            one more failure: open again, window doubled (capped) ◀──────┘
 */

/** The breaker fields a transition computes; `version`/`updatedAt` belong to the store. */
export type BreakerFields = Omit<Breaker, 'version' | 'updatedAt'>;

/** First open window ceiling (the window is jittered down to half of it). */
export const DEFAULT_BREAKER_BASE_MS = 2_000;
/** Window cap: a scope must recover soon after GitHub's breaker closes (docs/design.md "Budgets and backoff"). */
export const DEFAULT_BREAKER_MAX_BACKOFF_MS = 30_000;
export const DEFAULT_BREAKER_THRESHOLD = 3;

export interface BreakerTransition {
  breaker: BreakerFields;
  /** Whether anything changed (no change = no store write: stays quiet when healthy). */
  changed: boolean;
  /** Whether this transition opened the breaker. */
  opened: boolean;
}

export interface FailureOptions {
  now: number;
  /** GitHub (API body or runner log) said `breaker open`: open at once. */
  breakerOpenSignal: boolean;
  /** Consecutive 5xx that open the breaker. */
  threshold: number;
  maxBackoffMs: number;
  /** Returns a number in [0, 1) for jitter. */
  random: () => number;
  baseMs?: number;
  /** Why, for `jit-runners` output and logs; must not contain secrets (use a classification's detail). */
  reason?: string;
}

export function closedBreaker(scopeKey: string): BreakerFields {
  return { scopeKey, consecutiveFailures: 0, opens: 0, openUntil: 0 };
}

/** Whether calls for the scope must wait at `now`. An absent breaker is closed. */
export function isOpen(breaker: Pick<Breaker, 'openUntil'> | undefined, now: number): boolean {
  return breaker !== undefined && now < breaker.openUntil;
}

/** Milliseconds until the breaker lets calls through again (0 when closed). */
export function openRemainingMs(breaker: Pick<Breaker, 'openUntil'> | undefined, now: number): number {
  return breaker && now < breaker.openUntil ? breaker.openUntil - now : 0;
}

function fields(breaker: BreakerFields | Breaker): BreakerFields {
  const out: BreakerFields = {
    scopeKey: breaker.scopeKey,
    consecutiveFailures: breaker.consecutiveFailures,
    opens: breaker.opens,
    openUntil: breaker.openUntil,
  };
  if (breaker.reason !== undefined) out.reason = breaker.reason;
  return out;
}

/** A call for the scope succeeded: close the breaker and forget its history. */
export function recordSuccess(breaker: BreakerFields | Breaker): BreakerTransition {
  const clean =
    breaker.consecutiveFailures === 0 && breaker.opens === 0 && breaker.openUntil === 0 && breaker.reason === undefined;
  return { breaker: closedBreaker(breaker.scopeKey), changed: !clean, opened: false };
}

/**
 * A call for the scope failed with a breaker-relevant error (see {@link isBreakerFailure}).
 * Opens on a `breaker open` signal or at `threshold` consecutive failures; the window is
 * `backoff(opens)`: 2 s, 4 s, 8 s … capped at `maxBackoffMs`, jittered into [window/2, window].
 * After a window has passed, the first failure re-opens it (half-open).
 */
export function recordFailure(breaker: BreakerFields | Breaker, options: FailureOptions): BreakerTransition {
  const current = fields(breaker);
  // Why no change while open: those are answers to calls already in flight when it opened; counting
  // them would stretch the window for one burst of failures instead of one per probe.
  if (isOpen(current, options.now)) return { breaker: current, changed: false, opened: false };

  const consecutiveFailures = current.consecutiveFailures + 1;
  const threshold = Math.max(1, Math.floor(options.threshold));
  // Half-open: it opened before and no call has succeeded since (success resets `opens`), so the
  // first failed probe after the window re-opens it at once, with a doubled window.
  const halfOpen = current.opens > 0;
  if (!options.breakerOpenSignal && !halfOpen && consecutiveFailures < threshold) {
    return { breaker: { ...current, consecutiveFailures }, changed: true, opened: false };
  }
  const opens = current.opens + 1;
  const window = backoff(
    opens,
    { startMs: options.baseMs ?? DEFAULT_BREAKER_BASE_MS, capMs: options.maxBackoffMs, jitter: EQUAL_JITTER },
    options.random,
  );
  const next: BreakerFields = { ...current, consecutiveFailures, opens, openUntil: options.now + window };
  const reason =
    options.reason ?? (options.breakerOpenSignal ? 'breaker open' : `${consecutiveFailures} consecutive server errors`);
  next.reason = reason;
  return { breaker: next, changed: true, opened: true };
}

/**
 * Whether a classified failure feeds the scope's breaker: a `breaker open` answer, or a GitHub
 * 5xx for that scope (including the 500/503 of the metadata failure). Network errors and rate
 * limits are not about one scope and do not count.
 */
export function isBreakerFailure(classification: Classification): boolean {
  if (classification.class === FailureClass.breakerOpen) return true;
  return (
    classification.source === 'api' &&
    classification.status !== undefined &&
    classification.status >= 500 &&
    classification.status <= 599
  );
}
