import { afterEach, describe, expect, it } from 'vitest';
import { MISSED_FAST, runMissedWebhooks } from './scenarios/missed-webhook-scenario.ts';
import type { World } from './support/reliability-world.ts';

describe('missed webhooks (fault switch in front of the server, real sample runners)', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(`completes all ${MISSED_FAST.jobs} jobs when 10 % of queued deliveries are answered 500, redelivering each once`, async () => {
    const result = await runMissedWebhooks(MISSED_FAST, (w) => {
      world = w;
    });

    expect(result.failedDeliveries).toBe(Math.floor(MISSED_FAST.jobs / MISSED_FAST.failEvery));
    // Each failed delivery is redelivered once; a redelivery that failed in turn (an answer slower than
    // 10 s on a busy machine) gets its own, up to 3 per GUID.
    expect(result.redeliveriesPerGuid.every((n) => n >= 1 && n <= 3)).toBe(true);
    expect(result.jobs.map((j) => j.status)).toEqual(Array(MISSED_FAST.jobs).fill('completed'));
    expect(result.lingering).toEqual({ registrations: [], processes: [] });
  }, 120_000);
});
