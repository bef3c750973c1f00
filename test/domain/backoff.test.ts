import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoff, backoffCeiling } from '../../functions/domain/backoff.ts';

const opts = { baseMs: 2_000, capMs: 30_000 };

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
    expect(backoffCeiling(attempt, opts)).toBe(expected);
  });

  it.each([0, -3, Number.NaN, Number.POSITIVE_INFINITY])('treats attempt %s as the first attempt', (attempt) => {
    expect(backoffCeiling(attempt, opts)).toBe(2_000);
  });

  it('never goes negative for negative settings', () => {
    expect(backoffCeiling(3, { baseMs: -5, capMs: -1 })).toBe(0);
  });
});

describe('backoff', () => {
  it('waits half the window when random is 0', () => {
    expect(backoff(3, { ...opts, random: () => 0 })).toBe(4_000);
  });

  it('waits almost the whole window when random is close to 1', () => {
    expect(backoff(3, { ...opts, random: () => 0.999_999 })).toBe(8_000);
  });

  it('clamps a random source outside [0, 1)', () => {
    expect(backoff(2, { ...opts, random: () => -1 })).toBe(2_000);
    expect(backoff(2, { ...opts, random: () => 7 })).toBe(4_000);
    expect(backoff(2, { ...opts, random: () => Number.NaN })).toBe(2_000);
  });

  it('stays within [ceiling/2, ceiling] and under the cap for any attempt and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        (attempt, r, baseMs, capMs) => {
          const ceiling = backoffCeiling(attempt, { baseMs, capMs });
          const ms = backoff(attempt, { baseMs, capMs, random: () => r });
          return ms >= Math.floor(ceiling / 2) && ms <= ceiling && ms <= capMs;
        },
      ),
    );
  });

  it('grows with the attempt until the cap for a fixed draw', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((a) => backoff(a, { ...opts, random: () => 0.5 }));
    expect(waits).toEqual([1_500, 3_000, 6_000, 12_000, 22_500, 22_500]);
  });
});
