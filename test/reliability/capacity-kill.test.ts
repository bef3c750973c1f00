import { afterEach, describe, expect, it } from 'vitest';
import { CAPACITY_FAST, runCapacity } from './scenarios/capacity-scenario.ts';

describe('pool capacity under load, duplicate deliveries and SIGKILLs of the npm-start server', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it(`keeps each pool within ${CAPACITY_FAST.maxRunners} runners, runs each of ${CAPACITY_FAST.jobs + 1} jobs once and lets a lone repository in within one turn per repository, across ${CAPACITY_FAST.kills} kill`, async () => {
    const result = await runCapacity(CAPACITY_FAST, (c) => {
      cleanup = c;
    });
    const report = [...result.failures, ...result.details].join('\n');

    // The runners' own record of their lives: never more than the cap alive in a pool, a killed server included.
    for (const pool of result.pools)
      expect(pool.mostAlive, `${pool.name}\n${report}`).toBeLessThanOrEqual(pool.maxRunners);
    expect(result.lost, report).toEqual([]);
    expect(result.notCompleted, report).toEqual([]);
    expect(result.notRunOnce, report).toEqual([]);
    expect(result.sharedRunners, report).toEqual([]);
    expect(result.doubled, report).toEqual([]);
    // The backlog was deep: many jobs found their pool full and waited (others were taken at GitHub by a
    // runner of their pool minted for another job before their own turn came). How many of each depends on
    // the machine's pace: 21 of 36 waited on an idle machine, 12 under the whole suite's load; a quarter
    // still proves the pools were full with a queue behind them (the cap is 3 per pool).
    expect(result.waited, `waited ${result.waited}`).toBeGreaterThanOrEqual(CAPACITY_FAST.jobs / 4);
    expect(result.fairness, report).toBeDefined();
    expect(result.fairness?.startsAhead ?? Number.POSITIVE_INFINITY, report).toBeLessThanOrEqual(
      result.fairness?.bound ?? 0,
    );
    expect(result.lingering, report).toEqual({
      registrations: [],
      processes: [],
      slots: { small: [], large: [] },
      turns: { small: [], large: [] },
    });
    expect(result.failures).toEqual([]);
  }, 170_000);
});
