import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BreakerFields,
  closedBreaker,
  DEFAULT_BREAKER_MAX_BACKOFF_MS,
  isBreakerFailure,
  isOpen,
  openRemainingMs,
  recordFailure,
  recordSuccess,
} from '../../functions/domain/breaker-policy.ts';
import { classifyApiError, classifyLogLine } from '../../functions/domain/classify-failure.ts';

const T0 = Date.UTC(2026, 10, 23, 5, 40, 0);
const opts = (now: number, over: Partial<Parameters<typeof recordFailure>[1]> = {}) => ({
  now,
  breakerOpenSignal: false,
  threshold: 3,
  maxBackoffMs: DEFAULT_BREAKER_MAX_BACKOFF_MS,
  random: () => 0.999_999,
  ...over,
});

/** Applies `n` server-error failures at `now`. */
function fail(breaker: BreakerFields, n: number, now: number): BreakerFields {
  let b = breaker;
  for (let i = 0; i < n; i++) b = recordFailure(b, opts(now)).breaker;
  return b;
}

describe('breaker policy', () => {
  it('starts closed', () => {
    const b = closedBreaker('octo/hello');
    expect(b).toEqual({ scopeKey: 'octo/hello', consecutiveFailures: 0, opens: 0, openUntil: 0 });
    expect(isOpen(b, T0)).toBe(false);
    expect(isOpen(undefined, T0)).toBe(false);
  });

  it('counts 5xx failures below the threshold without opening', () => {
    const t = recordFailure(fail(closedBreaker('s'), 1, T0), opts(T0));
    expect(t).toMatchObject({ opened: false, changed: true });
    expect(t.breaker.consecutiveFailures).toBe(2);
    expect(isOpen(t.breaker, T0)).toBe(false);
  });

  it('opens at the threshold of consecutive 5xx', () => {
    const t = recordFailure(fail(closedBreaker('s'), 2, T0), opts(T0));
    expect(t.opened).toBe(true);
    expect(t.breaker.opens).toBe(1);
    expect(t.breaker.reason).toBe('3 consecutive server errors');
    expect(isOpen(t.breaker, T0)).toBe(true);
  });

  it('opens at once on a breaker open signal', () => {
    const t = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true }));
    expect(t.opened).toBe(true);
    expect(t.breaker.reason).toBe('breaker open');
    expect(isOpen(t.breaker, T0 + 1)).toBe(true);
  });

  it('keeps a given reason', () => {
    const t = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true, reason: 'GET … answered 503' }));
    expect(t.breaker.reason).toBe('GET … answered 503');
  });

  it('opens for a first window of a few seconds (1–2 s with the default 2 s base)', () => {
    const low = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true, random: () => 0 })).breaker;
    const high = recordFailure(
      closedBreaker('s'),
      opts(T0, { breakerOpenSignal: true, random: () => 0.999_999 }),
    ).breaker;
    expect(low.openUntil - T0).toBe(1_000);
    expect(high.openUntil - T0).toBe(2_000);
  });

  it('closes when the window has passed', () => {
    const b = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true })).breaker;
    expect(isOpen(b, b.openUntil - 1)).toBe(true);
    expect(isOpen(b, b.openUntil)).toBe(false);
    expect(openRemainingMs(b, b.openUntil - 250)).toBe(250);
    expect(openRemainingMs(b, b.openUntil + 5)).toBe(0);
  });

  it('ignores failures of calls already in flight while it is open', () => {
    const b = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true })).breaker;
    const t = recordFailure(b, opts(T0 + 10));
    expect(t).toEqual({ breaker: b, changed: false, opened: false });
  });

  it('re-opens on the first failure after the window (half-open) with a doubled window', () => {
    let b = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true })).breaker;
    const windows: number[] = [];
    let now = T0;
    windows.push(b.openUntil - now);
    for (let i = 0; i < 6; i++) {
      now = b.openUntil;
      const t = recordFailure(b, opts(now));
      expect(t.opened).toBe(true);
      b = t.breaker;
      windows.push(b.openUntil - now);
    }
    expect(windows).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(b.opens).toBe(7);
  });

  it('caps the window at maxBackoffMs', () => {
    let b: BreakerFields = { scopeKey: 's', consecutiveFailures: 3, opens: 40, openUntil: 0 };
    b = recordFailure(b, opts(T0, { maxBackoffMs: 5_000 })).breaker;
    expect(b.openUntil - T0).toBeLessThanOrEqual(5_000);
    expect(b.openUntil - T0).toBeGreaterThanOrEqual(2_500);
  });

  it('keeps every jittered window within [cap/2 or base/2, cap]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1_000, max: 120_000 }),
        (opens, r, cap) => {
          const b: BreakerFields = { scopeKey: 's', consecutiveFailures: 0, opens, openUntil: 0 };
          const next = recordFailure(
            b,
            opts(T0, { breakerOpenSignal: true, maxBackoffMs: cap, random: () => r }),
          ).breaker;
          const window = next.openUntil - T0;
          const ceiling = Math.min(cap, 2_000 * 2 ** opens);
          return window <= cap && window >= Math.floor(ceiling / 2) && window <= ceiling;
        },
      ),
    );
  });

  it('closes and forgets its history on success', () => {
    const open = recordFailure(fail(closedBreaker('s'), 2, T0), opts(T0)).breaker;
    const t = recordSuccess(open);
    expect(t).toEqual({ breaker: closedBreaker('s'), changed: true, opened: false });
    expect(isOpen(t.breaker, T0)).toBe(false);
  });

  it('reports no change for a success on a clean breaker (no store write when healthy)', () => {
    expect(recordSuccess(closedBreaker('s')).changed).toBe(false);
  });

  it('needs the full threshold again after a success', () => {
    let b = recordSuccess(fail(closedBreaker('s'), 2, T0)).breaker;
    b = fail(b, 2, T0);
    expect(isOpen(b, T0)).toBe(false);
  });

  it('accepts a stored item with version and updatedAt and returns only the fields', () => {
    const stored = { scopeKey: 's', consecutiveFailures: 0, opens: 0, openUntil: 0, version: 4, updatedAt: T0 };
    const t = recordFailure(stored, opts(T0));
    expect(t.breaker).not.toHaveProperty('version');
    expect(t.breaker).not.toHaveProperty('updatedAt');
  });

  it('treats a threshold below 1 as 1', () => {
    expect(recordFailure(closedBreaker('s'), opts(T0, { threshold: 0 })).opened).toBe(true);
  });
});

describe('isBreakerFailure', () => {
  const jit = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';
  it.each([
    ['a 500 from GitHub', classifyApiError({ status: 500, body: '', endpoint: jit, scopeKey: 's' }), true],
    [
      'the metadata 503 on a runner lookup',
      classifyApiError({
        status: 503,
        body: '',
        endpoint: 'GET /repos/{owner}/{repo}/actions/runners/{runner_id}',
        scopeKey: 's',
        runnerLaunched: true,
      }),
      true,
    ],
    [
      'a breaker open body',
      classifyApiError({ status: 400, body: 'breaker open', endpoint: jit, scopeKey: 's' }),
      true,
    ],
    ['a network error', classifyApiError({ status: 0, body: '', endpoint: jit, scopeKey: 's' }), false],
    ['a 429', classifyApiError({ status: 429, body: '', endpoint: jit, scopeKey: 's' }), false],
    ['a 403', classifyApiError({ status: 403, body: '', endpoint: jit, scopeKey: 's' }), false],
  ])('%s → %s', (_name, c, expected) => {
    expect(isBreakerFailure(c)).toBe(expected);
  });

  it('counts a breaker open runner log line', () => {
    const c = classifyLogLine(
      '2026-11-23 05:41:12Z: Runner connect error: Failed to get job message. Error message breaker open.',
    );
    expect(c && isBreakerFailure(c)).toBe(true);
  });

  it('does not count a metadata BadRequest log line (that is for the workaround, not the breaker)', () => {
    const c = classifyLogLine(
      '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message: Error: Bad Request.',
    );
    expect(c && isBreakerFailure(c)).toBe(false);
  });
});

describe('breaker half-open after a breaker open signal', () => {
  it('re-opens on one 5xx probe even below the threshold', () => {
    const b = recordFailure(closedBreaker('s'), opts(T0, { breakerOpenSignal: true })).breaker;
    const t = recordFailure(b, opts(b.openUntil));
    expect(t.opened).toBe(true);
    expect(t.breaker.opens).toBe(2);
  });
});
