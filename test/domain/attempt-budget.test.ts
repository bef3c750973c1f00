import { describe, expect, it } from 'vitest';
import { failureAttempts, theftsOf } from '../../functions/domain/attempt-budget.ts';

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
