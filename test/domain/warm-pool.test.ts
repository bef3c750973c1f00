import { describe, expect, it } from 'vitest';
import { emptyCapacity } from '../../functions/domain/pool-capacity.ts';
import { parseRunnerName } from '../../functions/domain/runner-name.ts';
import {
  claimOrder,
  inWindow,
  isWarmRunnerName,
  moveWarmSlot,
  planWarmPass,
  reserveWarmSlots,
  type WarmRunnerState,
  warmBoots,
  warmRunnerName,
  warmTarget,
} from '../../functions/domain/warm-pool.ts';

const MINUTE = 60_000;
const monday = (h: number, m = 0) => Date.UTC(2026, 0, 5, h, m);
const weekdays = { days: [1, 2, 3, 4, 5], fromMinute: 8 * 60, toMinute: 18 * 60, size: 4, timeZone: 'UTC' };
const runner = (name: string, more: Partial<WarmRunnerState> = {}): WarmRunnerState => ({
  name,
  pool: 'hot',
  state: 'ready',
  version: '2.330.0',
  createdAt: 0,
  ...more,
});

describe('warmTarget', () => {
  const settings = { size: 1, schedule: [weekdays], maxIdleMs: 30 * MINUTE };
  it('is the first matching window size inside it and the base size outside', () => {
    expect(warmTarget(settings, monday(8))).toBe(4);
    expect(warmTarget(settings, monday(17, 59))).toBe(4);
    expect(warmTarget(settings, monday(18))).toBe(1);
    expect(warmTarget(settings, Date.UTC(2026, 0, 4, 12))).toBe(1); // Sunday
    expect(warmTarget(undefined, monday(9))).toBe(0);
  });

  it('reads days and times in the window time zone', () => {
    const paris = { ...weekdays, timeZone: 'Europe/Paris' };
    expect(inWindow(paris, monday(7, 30))).toBe(true); // 08:30 in Paris (UTC+1 in January)
    expect(inWindow(paris, monday(17, 30))).toBe(false); // 18:30 in Paris
  });

  it('runs a window past midnight from the day it starts on', () => {
    const night = { days: [5], fromMinute: 22 * 60, toMinute: 6 * 60, size: 2, timeZone: 'UTC' };
    expect(inWindow(night, Date.UTC(2026, 0, 9, 23))).toBe(true); // Friday 23:00
    expect(inWindow(night, Date.UTC(2026, 0, 10, 5))).toBe(true); // Saturday 05:00
    expect(inWindow(night, Date.UTC(2026, 0, 10, 23))).toBe(false); // Saturday 23:00
  });
});

describe('warm runner names', () => {
  it('are never JIT names of the fleet and are told apart by prefix', () => {
    const name = warmRunnerName('jr', 'linux-x64', 'ab12cd34');
    expect(name).toBe('jr-warm-linux-x64-ab12cd34');
    expect(parseRunnerName('jr', name)).toBeUndefined();
    expect(isWarmRunnerName('jr', name)).toBe(true);
    expect(isWarmRunnerName('jr', 'jr-12-1')).toBe(false);
  });
});

describe('claimOrder', () => {
  it('takes ready runners before booting ones, oldest first, of the job pool and version only', () => {
    const runners = [
      runner('booting-old', { state: 'booting', createdAt: 1 }),
      runner('ready-new', { createdAt: 5 }),
      runner('ready-old', { createdAt: 2 }),
      runner('claimed', { state: 'claimed', createdAt: 0 }),
      runner('other-pool', { pool: 'cold', createdAt: 0 }),
      runner('other-version', { version: '2.331.0', createdAt: 0 }),
    ];
    expect(claimOrder(runners, 'hot', '2.330.0', 10, 30 * MINUTE).map((r) => r.name)).toEqual([
      'ready-old',
      'ready-new',
      'booting-old',
    ]);
  });

  it('skips a runner about to give up waiting (its own idle bound)', () => {
    expect(claimOrder([runner('old', { createdAt: 0 })], 'hot', '2.330.0', 29.9 * MINUTE, 30 * MINUTE)).toEqual([]);
  });
});

describe('planWarmPass', () => {
  const base = {
    live: new Set(['a', 'b', 'c']),
    served: () => ({ handed: false }),
    target: 2,
    now: 10 * MINUTE,
    maxIdleMs: 30 * MINUTE,
    bootTimeoutMs: 2 * MINUTE,
    handoffBoundMs: MINUTE,
    graceMs: 15_000,
  };

  it('recycles idle runners past maxIdle, stops never-ready boots and trims the surplus oldest first', () => {
    const plan = planWarmPass({
      ...base,
      now: 31 * MINUTE,
      live: new Set(['idle', 'boot', 'x', 'y', 'z']),
      runners: [
        runner('idle', { createdAt: 0 }),
        runner('boot', { state: 'booting', createdAt: 28 * MINUTE }),
        runner('x', { createdAt: 20 * MINUTE }),
        runner('y', { createdAt: 21 * MINUTE }),
        runner('z', { createdAt: 22 * MINUTE }),
      ],
    });
    expect(plan.stop).toEqual([
      { name: 'idle', reason: 'idle' },
      { name: 'boot', reason: 'never-ready' },
      { name: 'x', reason: 'surplus' },
    ]);
    expect(plan.close).toEqual([]);
  });

  it('closes records whose launch is gone (after the grace) and claimed ones whose launch ended', () => {
    const plan = planWarmPass({
      ...base,
      live: new Set(['young']),
      runners: [
        runner('dead', { createdAt: 0 }),
        runner('young', { createdAt: base.now - 1000 }),
        runner('young-unlisted', { createdAt: base.now - 1000 }),
        runner('served', { state: 'claimed', claimedAt: 0, jobId: 7 }),
      ],
      served: () => ({ runnerName: 'jr-7-1', handed: true }),
    });
    expect(plan.close).toEqual([
      { name: 'dead', reason: 'gone' },
      { name: 'served', reason: 'served' },
    ]);
    expect(plan.stop).toEqual([]);
  });

  it('stops a claimed runner still waiting after the hand-off bound, but not one that serves its job', () => {
    const plan = planWarmPass({
      ...base,
      live: new Set(['stuck', 'jr-8-1']),
      runners: [
        runner('stuck', { state: 'claimed', claimedAt: base.now - 2 * MINUTE, jobId: 7 }),
        runner('serving', { state: 'claimed', claimedAt: base.now - 2 * MINUTE, jobId: 8 }),
      ],
      served: (r) => (r.jobId === 8 ? { runnerName: 'jr-8-1', handed: true } : { handed: false }),
    });
    expect(plan.stop).toEqual([{ name: 'stuck', reason: 'no-handoff' }]);
    expect(plan.close).toEqual([]);
  });
});

describe('warmBoots', () => {
  it('boots up to the target within the room, and none while jobs wait', () => {
    expect(warmBoots({ target: 3, idle: 1, backlog: false })).toBe(2);
    expect(warmBoots({ target: 3, idle: 1, room: 1, backlog: false })).toBe(1);
    expect(warmBoots({ target: 3, idle: 4, backlog: false })).toBe(0);
    expect(warmBoots({ target: 3, idle: 0, room: 5, backlog: true })).toBe(0);
  });
});

describe('warm slots', () => {
  it('reserves slots up to maxRunners and none while a repository waits', () => {
    const state = { ...emptyCapacity('hot'), slots: { 'jr-1-1': { jobId: 1, since: 0 } } };
    const out = reserveWarmSlots(state, ['w1', 'w2', 'w3'], 3, 5);
    expect(out.reserved).toEqual(['w1', 'w2']);
    expect(Object.keys(out.next.slots)).toEqual(['jr-1-1', 'w1', 'w2']);
    const waiting = { ...state, turns: { 'octo/app': { turn: 1, jobId: 2 } } };
    expect(reserveWarmSlots(waiting, ['w1'], 3, 5).reserved).toEqual([]);
  });

  it("moves a claimed warm runner's slot to the job's runner without changing the count", () => {
    const state = { ...emptyCapacity('hot'), slots: { w1: { jobId: 0, since: 0 } } };
    const out = moveWarmSlot(state, 'w1', 'jr-9-1', 9, 7);
    expect(out).toMatchObject({ moved: true, changed: true });
    expect(out.next.slots).toEqual({ 'jr-9-1': { jobId: 9, since: 7 } });
    expect(moveWarmSlot(emptyCapacity('hot'), 'w1', 'jr-9-1', 9, 7)).toMatchObject({ moved: false, changed: false });
  });
});
