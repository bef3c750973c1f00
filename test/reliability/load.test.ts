import { afterEach, describe, expect, it } from 'vitest';
import { LOAD_FAST, runLoad } from './scenarios/load-scenario.ts';
import type { World } from './support/reliability-world.ts';

describe('load: distinct jobs plus duplicate deliveries through the local server', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(`launches each of ${LOAD_FAST.jobs} jobs exactly once despite ${LOAD_FAST.duplicates} duplicate deliveries`, async () => {
    const result = await runLoad(LOAD_FAST, (w) => {
      world = w;
    });

    expect(result.lost).toEqual([]);
    expect(result.doubled).toEqual([]);
    expect(result.mints).toBe(LOAD_FAST.jobs);
    expect(result.launches).toBe(LOAD_FAST.jobs);
    expect(result.duplicateAnswers).toEqual({ 202: LOAD_FAST.duplicates });
    // No delivery was answered 5xx. (Answers slower than GitHub's 10 s, possible when this one process
    // hosts the simulator, the server and the store on a busy machine, are counted in `timeouts` and
    // are harmless: the job is recorded and a redelivery is a duplicate.)
    expect(result.serverErrors).toBe(0);
  }, 120_000);
});
