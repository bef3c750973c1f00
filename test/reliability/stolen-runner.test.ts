import { afterEach, describe, expect, it } from 'vitest';
import { runStolen } from './scenarios/stolen-scenario.ts';
import type { World } from './support/reliability-world.ts';

describe('stolen runner (real sample runners against the simulator)', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it("completes both jobs when the first job's runner takes the second job, and leaves no third runner behind", async () => {
    const result = await runStolen((w) => {
      world = w;
    });

    expect(result.first.status).toBe('completed');
    expect(result.second.status).toBe('completed');
    // The first job's runner really ran the second job (the theft happened).
    expect(result.ranOn.second).toBe(`jr-${result.first.jobId}-1`);
    expect(result.first.history.some((h) => /stolen: runner jr-\d+-1 was taken by job/.test(h.note))).toBe(true);
    expect(result.lingering).toEqual({ registrations: [], processes: [] });
    // At most one runner beyond one per job was ever minted (the replacement or the spare), and it is gone.
    expect(result.mints.length).toBeLessThanOrEqual(3);
  }, 90_000);
});
