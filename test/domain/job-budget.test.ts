import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Budget,
  backoff,
  backoffCeiling,
  EQUAL_JITTER,
  failureAttempts,
  giveUpReason,
  type JobLimits,
  JobStep,
  spentBudget,
  theftsOf,
} from '../../functions/domain/job-budget.ts';

const LIMITS: JobLimits = { maxAttemptsPerJob: 3, maxHealsPerJob: 10, maxTheftsPerJob: 2 };

describe('theftsOf', () => {
  it('reads an absent theft count as 0 (jobs recorded before the field existed)', () => {
    expect(theftsOf({})).toBe(0);
    expect(theftsOf({ thefts: undefined })).toBe(0);
  });

  it('returns the recorded theft count', () => {
    expect(theftsOf({ thefts: 4 })).toBe(4);
  });
});

describe('failureAttempts', () => {
  it('is the attempt itself when no runner was stolen', () => {
    expect(failureAttempts({ attempt: 1 })).toBe(1);
    expect(failureAttempts({ attempt: 3, thefts: 0 })).toBe(3);
  });

  it('leaves out the attempts that replaced stolen runners', () => {
    expect(failureAttempts({ attempt: 4, thefts: 3 })).toBe(1);
    expect(failureAttempts({ attempt: 6, thefts: 2 })).toBe(4);
  });
});

describe('spentBudget: failure attempts', () => {
  it('allows a new runner after a failure while failure attempts remain', () => {
    expect(spentBudget({ attempt: 2, heals: 1 }, JobStep.newRunner, LIMITS)).toBeUndefined();
  });

  it('refuses a new runner after a failure once the failure attempts are spent', () => {
    expect(spentBudget({ attempt: 3, heals: 2 }, JobStep.newRunner, LIMITS)).toEqual({
      budget: Budget.attempts,
      used: 3,
      limit: 3,
    });
  });

  it('does not count attempts that replaced stolen runners', () => {
    expect(spentBudget({ attempt: 5, thefts: 3, heals: 1 }, JobStep.newRunner, LIMITS)).toBeUndefined();
    expect(spentBudget({ attempt: 5, thefts: 2, heals: 2 }, JobStep.newRunner, LIMITS)).toEqual({
      budget: Budget.attempts,
      used: 3,
      limit: 3,
    });
  });

  it('lets the current attempt be minted up to the limit, and refuses a job that is past it', () => {
    expect(spentBudget({ attempt: 3, heals: 0 }, JobStep.mint, LIMITS)).toBeUndefined();
    expect(spentBudget({ attempt: 4, heals: 0 }, JobStep.mint, LIMITS)).toEqual({
      budget: Budget.attempts,
      used: 3,
      limit: 3,
    });
  });

  it('bounds the next name after a leftover registration by the failure attempts only', () => {
    expect(spentBudget({ attempt: 2, heals: 10 }, JobStep.nextName, LIMITS)).toBeUndefined();
    expect(spentBudget({ attempt: 3, heals: 0 }, JobStep.nextName, LIMITS)?.budget).toBe(Budget.attempts);
  });

  it('checks the failure attempts before the heals', () => {
    expect(spentBudget({ attempt: 3, heals: 10 }, JobStep.newRunner, LIMITS)?.budget).toBe(Budget.attempts);
  });
});

describe('spentBudget: heals', () => {
  it('refuses a new runner once the failure-handling steps are spent, even with attempts left', () => {
    expect(spentBudget({ attempt: 1, heals: 10 }, JobStep.newRunner, LIMITS)).toEqual({
      budget: Budget.heals,
      used: 10,
      limit: 10,
    });
  });

  it('allows a retry while heals remain and refuses it once they are spent', () => {
    expect(spentBudget({ attempt: 1, heals: 9 }, JobStep.retry, LIMITS)).toBeUndefined();
    expect(spentBudget({ attempt: 1, heals: 10 }, JobStep.retry, LIMITS)?.budget).toBe(Budget.heals);
  });

  it('does not refuse a retry because of spent attempts: a retry mints no runner', () => {
    expect(spentBudget({ attempt: 3, heals: 0 }, JobStep.retry, LIMITS)).toBeUndefined();
  });

  it('honours the configured heal limit', () => {
    expect(spentBudget({ attempt: 1, heals: 2 }, JobStep.retry, { ...LIMITS, maxHealsPerJob: 2 })?.budget).toBe(
      Budget.heals,
    );
  });
});

describe('spentBudget: thefts', () => {
  it('allows a replacement of a stolen runner while thefts remain', () => {
    expect(spentBudget({ attempt: 2, thefts: 1, heals: 0 }, JobStep.replaceStolen, LIMITS)).toBeUndefined();
  });

  it('refuses a replacement once the thefts are spent', () => {
    expect(spentBudget({ attempt: 3, thefts: 2, heals: 0 }, JobStep.replaceStolen, LIMITS)).toEqual({
      budget: Budget.thefts,
      used: 2,
      limit: 2,
    });
  });

  it('does not refuse a replacement because of spent failure attempts or heals', () => {
    expect(spentBudget({ attempt: 3, heals: 10 }, JobStep.replaceStolen, LIMITS)).toBeUndefined();
  });

  it('refuses every replacement with a theft limit of 0', () => {
    expect(spentBudget({ attempt: 1, heals: 0 }, JobStep.replaceStolen, { ...LIMITS, maxTheftsPerJob: 0 })).toEqual({
      budget: Budget.thefts,
      used: 0,
      limit: 0,
    });
  });
});

describe('giveUpReason', () => {
  it('names the spent attempt budget, the attempts made and the limit', () => {
    expect(giveUpReason({ budget: Budget.attempts, used: 3, limit: 3 })).toBe(
      'attempt budget of 3 spent: gave up after 3 attempts (limit 3 per job)',
    );
  });

  it('says "attempt" for a single attempt', () => {
    expect(giveUpReason({ budget: Budget.attempts, used: 1, limit: 1 })).toContain('gave up after 1 attempt (limit 1');
  });

  it('names the spent failure-handling steps and the limit', () => {
    expect(giveUpReason({ budget: Budget.heals, used: 10, limit: 10 })).toBe(
      'failure-handling budget of 10 spent: gave up after 10 failure-handling steps (limit 10 per job)',
    );
  });

  it('names the theft budget as replacements of stolen runners', () => {
    expect(giveUpReason({ budget: Budget.thefts, used: 2, limit: 2 })).toBe(
      'the theft budget (2 replacements of stolen runners) is spent',
    );
  });
});

const schedule = { startMs: 2_000, capMs: 30_000, jitter: EQUAL_JITTER };

describe('backoffCeiling', () => {
  it.each([
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [4, 16_000],
    [5, 30_000],
    [6, 30_000],
    [1_000, 30_000],
  ])('attempt %i → %i ms', (attempt, expected) => {
    expect(backoffCeiling(attempt, schedule)).toBe(expected);
  });

  it.each([0, -3, Number.NaN, Number.POSITIVE_INFINITY])('treats attempt %s as the first attempt', (attempt) => {
    expect(backoffCeiling(attempt, schedule)).toBe(2_000);
  });

  it('never goes negative for negative settings', () => {
    expect(backoffCeiling(3, { startMs: -5, capMs: -1 })).toBe(0);
  });
});

describe('backoff', () => {
  it('starts at the start value for the first try', () => {
    expect(backoff(1, schedule, () => 0.999_999)).toBe(2_000);
  });

  it('waits half the window when random is 0', () => {
    expect(backoff(3, schedule, () => 0)).toBe(4_000);
  });

  it('waits almost the whole window when random is close to 1', () => {
    expect(backoff(3, schedule, () => 0.999_999)).toBe(8_000);
  });

  it('clamps a random source outside [0, 1)', () => {
    expect(backoff(2, schedule, () => -1)).toBe(2_000);
    expect(backoff(2, schedule, () => 7)).toBe(4_000);
    expect(backoff(2, schedule, () => Number.NaN)).toBe(2_000);
  });

  it('never waits longer than the cap', () => {
    expect(backoff(50, schedule, () => 0.999_999)).toBe(30_000);
  });

  it('draws from the whole window with full jitter and waits the window exactly with none', () => {
    expect(backoff(3, { ...schedule, jitter: 1 }, () => 0)).toBe(0);
    expect(backoff(3, { ...schedule, jitter: 0 }, () => 0)).toBe(8_000);
    expect(backoff(3, { ...schedule, jitter: 0 }, () => 0.9)).toBe(8_000);
  });

  it('clamps a jitter outside [0, 1]', () => {
    expect(backoff(3, { ...schedule, jitter: 3 }, () => 0)).toBe(0);
    expect(backoff(3, { ...schedule, jitter: -1 }, () => 0)).toBe(8_000);
  });

  it('stays within [window · (1 - jitter), window] and under the cap for any try, draw and jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r, startMs, capMs, jitter) => {
          const window = backoffCeiling(attempt, { startMs, capMs });
          const ms = backoff(attempt, { startMs, capMs, jitter }, () => r);
          return ms >= Math.floor(window * (1 - jitter)) && ms <= window && ms <= capMs;
        },
      ),
    );
  });

  it('grows with the try until the cap for a fixed draw', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((a) => backoff(a, schedule, () => 0.5));
    expect(waits).toEqual([1_500, 3_000, 6_000, 12_000, 22_500, 22_500]);
  });
});
