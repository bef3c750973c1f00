import { afterEach, describe, expect, it } from 'vitest';
import { FAULTS_FAST, runFaults } from './scenarios/faults-scenario.ts';
import type { World } from './support/reliability-world.ts';

describe('faults, each on its own and then mixed (real sample runners, simulator, embedded store)', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('ends every job completed or failed with a reason: none lost, none doubled, no runner left behind', async () => {
    const result = await runFaults(FAULTS_FAST, (w) => {
      world = w;
    });

    expect(result.runs).toHaveLength(11);
    for (const run of result.runs) {
      expect({ fault: run.fault, lost: run.lost, doubled: run.doubled }, run.lostStories.join('\n')).toEqual({
        fault: run.fault,
        lost: [],
        doubled: [],
      });
      expect(run.completed + run.failed.length).toBe(run.jobs);
      for (const failure of run.failed) expect(failure.reason).not.toBe('');
    }
    expect(result.lingering).toEqual({ registrations: [], processes: [] });
    // The injectors really fired.
    expect(result.injected.storeThrottled).toBeGreaterThan(0);
    expect(result.injected.launchFailures).toBeGreaterThan(0);
    expect(result.injected.webhooksFailed).toBeGreaterThan(0);
  }, 170_000);
});
