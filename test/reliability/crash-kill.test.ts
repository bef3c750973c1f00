import { afterEach, describe, expect, it } from 'vitest';
import { KILL_FAST, runKills } from './scenarios/kill-scenario.ts';

describe('crash safety: the local server killed with SIGKILL at random points', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it(`loses no job and launches nothing twice across ${KILL_FAST.kills} kills and restarts`, async () => {
    const result = await runKills(KILL_FAST, (c) => {
      cleanup = c;
    });

    expect(result.lost).toEqual([]);
    expect(result.doubled).toEqual([]);
    for (const job of result.jobs) {
      if (job.status === 'failed') expect(job.reason ?? '').not.toBe('');
    }
    expect(result.jobs.filter((j) => j.status === 'completed').length).toBe(result.jobs.length);
    expect(result.lingering).toEqual({ registrations: [], processes: [] });
  }, 170_000);
});
